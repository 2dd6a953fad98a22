package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/sniffer"
	"decnet/internal/spool"
)

// TestIngestWaitsForDatabase: `decnet ingest` started while its database does not
// answer (nothing listens on the port) keeps waiting and says so, instead of exiting;
// stopping it then is a clean exit.
func TestIngestWaitsForDatabase(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now: connection refused
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"ingest", "--state-dir", t.TempDir(),
			"--db", fmt.Sprintf("mysql://u:p@tcp(127.0.0.1:%d)/db", port)}, &bytes.Buffer{}, &errb)
	}()
	select {
	case code := <-done:
		t.Fatalf("ingest exited %d while the database was unreachable: %s", code, errb.String())
	case <-time.After(1500 * time.Millisecond):
	}
	if !strings.Contains(errb.String(), "the database is unreachable; retrying") {
		t.Fatalf("ingest did not say it is waiting for the database:\n%s", errb.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("ingest stopped while waiting exited %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ingest did not stop within 10 s of being cancelled while waiting for the database")
	}
}

// TestIngestBadDSNFailsFast: a DSN that no wait can fix is an error at once.
func TestIngestBadDSNFailsFast(t *testing.T) {
	for _, dsn := range []string{"postgres://x/y", "mysql://u:p@tcp(127.0.0.1:1)/"} {
		start := time.Now()
		code, _, errs := run(t, "ingest", "--state-dir", t.TempDir(), "--db", dsn)
		if code == ExitOK || time.Since(start) > 5*time.Second {
			t.Errorf("ingest --db %s: exit %d after %s, want a quick failure: %s", dsn, code, time.Since(start), errs)
		}
		if !strings.Contains(errs, "database") {
			t.Errorf("ingest --db %s: the error does not mention the database: %s", dsn, errs)
		}
	}
}

// TestIngestStoresEverySpool: `decnet ingest` stores the collector's spool and, by
// default, the sniffer's and the prober's spools in the state directory, each under
// its own cursor.
func TestIngestStoresEverySpool(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, sp := range []string{"spool", sniffer.SpoolDirName, ProberSpoolDir} {
		w, err := spool.OpenWriter(filepath.Join(dir, sp), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			e := event.Event{ID: fmt.Sprintf("%s-%d", sp, i), Time: time.Now().UTC(), Decky: "d1", Service: "sniffer",
				Type: "fingerprint", AttackerIP: "192.0.2.9", Fields: map[string]string{"fp_kind": "tcp_syn"}}
			line, _ := event.Format(e)
			if _, err := w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		w.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"ingest", "--state-dir", dir}, &bytes.Buffer{}, &errb) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, _ := run(t, "logs", "--state-dir", dir, "--json", "--limit", "100")
		if code == ExitOK && strings.Count(out, `"event_id"`) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored events: %s\ningest: %s", out, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("ingest exited %d: %s", code, errb.String())
	}
	for _, want := range []string{"spool stopped", sniffer.SpoolDirName + " stopped", ProberSpoolDir + " stopped"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("ingest's summary lacks %q:\n%s", want, errb.String())
		}
	}
}

// TestIngestGOGC: --gogc sets the process's garbage collector target (and says
// so), and a value outside 10-10000 is a usage error.
func TestIngestGOGC(t *testing.T) {
	if code, _, errs := run(t, "ingest", "--state-dir", t.TempDir(), "--gogc", "5"); code != ExitUsage || !strings.Contains(errs, "--gogc 5") {
		t.Fatalf("ingest --gogc 5: exit %d, %s; want a usage error naming --gogc", code, errs)
	}
	prev := debug.SetGCPercent(100)
	debug.SetGCPercent(prev)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	dir := t.TempDir()
	go func() {
		done <- Run(ctx, []string{"ingest", "--state-dir", dir, "--gogc", "250"}, &bytes.Buffer{}, &errb)
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errb.String(), "GOGC=250"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ingest --gogc 250 did not say so: %s", errb.String())
		}
	}
	if got := debug.SetGCPercent(prev); got != 250 {
		t.Errorf("GOGC is %d under ingest --gogc 250", got)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("ingest exited %d: %s", code, errb.String())
	}
}
