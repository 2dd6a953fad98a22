package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"decnet/internal/event"
	"decnet/internal/query"
	"decnet/internal/spool"
	"decnet/internal/store"
)

// pipe is a test deployment: a state dir with a spool and the default SQLite DB.
type pipe struct {
	t     *testing.T
	state string
	w     *spool.Writer
}

func newPipe(t *testing.T) *pipe {
	t.Helper()
	p := &pipe{t: t, state: t.TempDir()}
	w, err := spool.OpenWriter(filepath.Join(p.state, "spool"), 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	p.w = w
	t.Cleanup(func() { w.Close() })
	return p
}

func (p *pipe) write(evs ...event.Event) {
	p.t.Helper()
	for _, e := range evs {
		line, err := event.Format(e)
		if err != nil {
			p.t.Fatal(err)
		}
		if _, err := p.w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := p.w.Sync(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pipe) count() int64 {
	p.t.Helper()
	st, err := store.Open(context.Background(), store.DefaultDSN(p.state))
	if err != nil {
		p.t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountLogs(context.Background(), store.LogQuery{})
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// ingest runs `decnet ingest` in process until the database holds want events.
func (p *pipe) ingest(want int64) {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string, 1)
	go func() {
		var out, errb bytes.Buffer
		code := Run(ctx, []string{"ingest", "--state-dir", p.state, "--flush-interval", "10ms"}, &out, &errb)
		done <- fmt.Sprintf("exit %d: %s", code, errb.String())
	}()
	deadline := time.Now().Add(60 * time.Second)
	for p.count() < want {
		select {
		case res := <-done:
			p.t.Fatalf("ingest stopped early: %s", res)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			p.t.Fatalf("ingest stored %d of %d events: %s", p.count(), want, <-done)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if res := <-done; !strings.HasPrefix(res, "exit 0") {
		p.t.Fatalf("ingest: %s", res)
	}
}

func (p *pipe) logs(args ...string) string {
	p.t.Helper()
	code, out, errs := run(p.t, append([]string{"logs", "--state-dir", p.state}, args...)...)
	if code != ExitOK {
		p.t.Fatalf("logs %v: exit %d: %s", args, code, errs)
	}
	return out
}

func hostileEvent(i int, fields map[string]string, msg string) event.Event {
	return event.Event{ID: fmt.Sprintf("hostile-%03d", i), Time: time.Date(2026, 3, 14, 15, 9, 26, i*1000, time.UTC),
		Decky: "decky-01", Service: "ssh", Type: "auth", AttackerIP: "10.47.0.66", AttackerPort: 50000 + i, Fields: fields, Msg: msg}
}

var hostileValues = []string{
	`quote " and \" and \\"`,
	`bracket ] and \] and ]]`,
	"new\nline\r\nand\ttab",
	"ansi \x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J",
	"invalid \xff\xfe\xc3 utf8 \x80",
	"c1 \u009b31m and raw \x9b",
	"bidi \u202egnp.exe \u2066x\u2069",
	"nul \x00 del \x7f bell \x07 backspace \x08",
	"emoji ok: 🔥 Grüße",
	"\\x1b literal escape text",
	"",
	strings.Repeat("A\x1b", 1<<19), // 1 MiB with ESC every other byte
}

// TestHostileCorpusThroughSpoolDBAndLogs sends hostile values through the spool, the
// ingester and the database, and checks that `decnet logs --json` returns every byte
// while the text output never prints a control character.
func TestHostileCorpusThroughSpoolDBAndLogs(t *testing.T) {
	p := newPipe(t)
	var evs []event.Event
	for i, v := range hostileValues {
		if len(v) > 1000 { // one 1 MiB value per event: escaping can grow it 4x on the line
			evs = append(evs, hostileEvent(i, map[string]string{"password": v}, "big"))
			continue
		}
		evs = append(evs, hostileEvent(i, map[string]string{"password": v, "username": "u" + v[:min(len(v), 40)], "secret_b64": base64.StdEncoding.EncodeToString([]byte(v))}, v))
	}
	p.write(evs...)
	p.ingest(int64(len(evs)))

	// --json: every value byte for byte.
	out := p.logs("--json", "--limit", "1000")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(evs) {
		t.Fatalf("--json printed %d lines for %d events", len(lines), len(evs))
	}
	for i, line := range lines {
		var j logJSON
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		want := evs[i] // oldest first
		fields := map[string]string{}
		for k, v := range j.Fields {
			fields[k] = v
		}
		for k, v := range j.FieldsB64 {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			fields[k] = string(b)
		}
		msg := j.Msg
		if j.MsgB64 != "" {
			b, _ := base64.StdEncoding.DecodeString(j.MsgB64)
			msg = string(b)
		}
		wantLine, _ := event.Format(want)
		if j.EventID != want.ID || msg != want.Msg || j.RawLine != string(wantLine) || j.AttackerPort != want.AttackerPort || !j.Timestamp.Equal(want.Time) {
			t.Errorf("event %d: id %q msg ok %v raw ok %v", i, j.EventID, msg == want.Msg, j.RawLine == string(wantLine))
		}
		for k, v := range want.Fields {
			if fields[k] != v {
				t.Errorf("event %d field %s: got %d bytes %q…, want %d bytes", i, k, len(fields[k]), fields[k][:min(40, len(fields[k]))], len(v))
			}
		}
	}

	// Text output, cut and --full: nothing a terminal would interpret.
	for _, args := range [][]string{{"--limit", "1000"}, {"--limit", "1000", "--full"}} {
		text := p.logs(args...)
		checkTerminalSafe(t, text)
		if n := strings.Count(text, "\n"); n != len(evs) {
			t.Errorf("logs %v printed %d lines for %d events", args, n, len(evs))
		}
	}
	full := p.logs("--full", "--limit", "1")
	if !strings.Contains(full, strings.Repeat(`A\x1b`, 1000)) || len(full) < 5<<19 {
		t.Errorf("--full did not print the 1 MiB value whole (%d bytes)", len(full))
	}
	cut := p.logs("--limit", "1")
	if len(cut) > 8<<10 || !strings.Contains(cut, "…(+") {
		t.Errorf("the default output did not cut the 1 MiB value (%d bytes)", len(cut))
	}

	// Credentials became bounty with the exact secret.
	st, err := store.Open(context.Background(), store.DefaultDSN(p.state))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs, err := st.Bounty(context.Background(), store.BountyQuery{Type: "credential", Limit: 100})
	if err != nil || len(bs) != len(evs) {
		t.Fatalf("credential bounty: %d rows, %v", len(bs), err)
	}
}

// checkTerminalSafe fails if s holds a byte or rune a terminal could act on.
func checkTerminalSafe(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatal("text output is not valid UTF-8")
	}
	for i, r := range s {
		bad := (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
			r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
		if bad {
			t.Fatalf("text output holds %U at byte %d: …%q…", r, i, s[max(0, i-20):min(len(s), i+20)])
		}
	}
}

func TestLogsQueriesAndFollow(t *testing.T) {
	p := newPipe(t)
	mk := func(i int, service, typ, ip string, f map[string]string) event.Event {
		return event.Event{ID: fmt.Sprintf("q-%03d", i), Time: time.Now().UTC().Add(time.Duration(i-100) * time.Second), Decky: "decky-02",
			Service: service, Type: typ, AttackerIP: ip, Fields: f}
	}
	p.write(
		mk(1, "ssh", "auth", "10.0.0.1", map[string]string{"username": "root", "password": "hunter2"}),
		mk(2, "http", "request", "10.0.0.2", map[string]string{"user_agent": "curl 8.5 (x86)", "path": "/admin"}),
		mk(3, "ssh", "connect", "10.0.0.2", nil),
	)
	p.ingest(3)
	ids := func(out string) string {
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var j logJSON
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Fatalf("not JSON: %q", l)
			}
			got = append(got, j.EventID)
		}
		return strings.Join(got, ",")
	}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "q-001,q-002,q-003"},
		{[]string{"service:ssh"}, "q-001,q-003"},
		{[]string{"attacker:10.0.0.2", "event:connect"}, "q-003"},
		{[]string{"password:hunter2"}, "q-001"},
		{[]string{"user_agent:curl 8.5 (x86)"}, "q-002"}, // the shell removed the quotes
		{[]string{`user_agent:"curl 8.5 (x86)"`}, "q-002"},
		{[]string{"8.5 (x86)"}, "q-002"},
		{[]string{"admin"}, "q-002"},
		{[]string{"--limit", "2"}, "q-002,q-003"},
		{[]string{"--since", "2099-01-01"}, ""},
		{[]string{"--until", "2000-01-01"}, ""},
		{[]string{"--since", "1h"}, "q-001,q-002,q-003"},
	}
	for _, tc := range tests {
		if got := ids(p.logs(append([]string{"--json"}, tc.args...)...)); got != tc.want {
			t.Errorf("logs %q = %s, want %s", tc.args, got, tc.want)
		}
	}
	// Text form of one line.
	out := p.logs("user_agent:curl 8.5 (x86)")
	if !strings.Contains(out, `user_agent="curl 8.5 (x86)"`) || !strings.Contains(out, "decky-02  http  request  10.0.0.2") {
		t.Errorf("text line: %q", out)
	}
	// Bad input is a usage error.
	if code, _, _ := run(t, "logs", "--state-dir", p.state, `"unterminated`); code != ExitUsage {
		t.Errorf("bad query: exit %d", code)
	}
	if code, _, _ := run(t, "logs", "--state-dir", p.state, "--limit", "0"); code != ExitUsage {
		t.Errorf("--limit 0: exit %d", code)
	}

	// --follow prints what is stored after it started, once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"logs", "--state-dir", p.state, "--json", "--follow", "service:ssh"}, &buf, &bytes.Buffer{})
	}()
	p.write(mk(4, "http", "request", "10.0.0.3", nil), mk(5, "ssh", "auth", "10.0.0.3", map[string]string{"password": "x"}))
	p.ingest(5)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), "q-005") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * logsPoll) // nothing more arrives, nothing is printed twice
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("logs --follow exit %d", code)
	}
	if got := ids(buf.String()); got != "q-001,q-003,q-005" {
		t.Errorf("--follow printed %s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsQueryText(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"service:ssh", "event:auth"}, "service:ssh event:auth"},
		{[]string{"user_agent:curl 8"}, `user_agent:"curl 8"`},
		{[]string{"free text"}, `"free text"`},
		{[]string{`service:ssh "free text"`}, `service:ssh "free text"`},
		{[]string{"a b\\"}, `"a b\x5c"`},
		{[]string{`say "hi" now`}, `say "hi" now`},
	}
	for _, tc := range tests {
		if got := logsQueryText(tc.args); got != tc.want {
			t.Errorf("logsQueryText(%q) = %q, want %q", tc.args, got, tc.want)
		}
		if _, err := query.Parse(logsQueryText(tc.args)); err != nil && tc.want != `say "hi" now` {
			t.Errorf("%q does not parse: %v", logsQueryText(tc.args), err)
		}
	}
}
