package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
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
