package prober

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/spool"
)

func appendEvents(t *testing.T, dir string, evs ...event.Event) {
	t.Helper()
	w, err := spool.OpenWriter(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, e := range evs {
		line, err := event.Format(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
}

func ev(ip, svc string, at time.Time) event.Event {
	return event.Event{ID: "id-" + ip + svc, Time: at, Decky: "decky-01", Service: svc, Type: event.Connect, AttackerIP: ip, Fields: map[string]string{}}
}

// collect runs the source until it has sent n addresses (or 5 s pass), then stops it.
func collect(t *testing.T, src SpoolSource, n int) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan netip.Addr)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	var got []string
	timeout := time.After(5 * time.Second)
loop:
	for len(got) < n {
		select {
		case ip := <-out:
			got = append(got, ip.String())
		case <-timeout:
			break loop
		}
	}
	// Nothing more must come.
	select {
	case ip := <-out:
		got = append(got, ip.String())
	case <-time.After(150 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSpoolSource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	cursor := filepath.Join(t.TempDir(), "prober-cursor")
	now := time.Now().UTC()
	src := SpoolSource{Dir: dir, CursorPath: cursor, MaxAge: time.Hour, Poll: 20 * time.Millisecond}

	// The spool does not exist yet: the source waits for it.
	if got := collect(t, src, 0); len(got) != 0 {
		t.Fatalf("empty: %v", got)
	}
	appendEvents(t, dir,
		ev("10.0.0.5", "ssh", now),
		ev("10.0.0.5", "ssh", now),                    // a repeat in a row: sent once
		ev("10.0.0.6", "prober", now),                 // our own events: never
		ev("10.0.0.7", "http", now.Add(-2*time.Hour)), // stale
		ev("::ffff:10.0.0.8", "ftp", now),
		ev("not-an-ip", "ftp", now),
		ev("", "ftp", now),
	)
	if got := collect(t, src, 2); len(got) != 2 || got[0] != "10.0.0.5" || got[1] != "10.0.0.8" {
		t.Fatalf("first run: %v", got)
	}
	c, err := LoadCursor(cursor)
	if err != nil || c == (spool.Cursor{}) {
		t.Fatalf("cursor %v %v", c, err)
	}
	// A restart resumes after what was handed over.
	appendEvents(t, dir, ev("10.0.0.9", "smb", now))
	if got := collect(t, src, 1); len(got) != 1 || got[0] != "10.0.0.9" {
		t.Fatalf("after restart: %v", got)
	}
	// A corrupt cursor file is an error that names it.
	if err := os.WriteFile(cursor, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background(), make(chan netip.Addr)); err == nil {
		t.Fatal("corrupt cursor accepted")
	}
}

func TestSpoolSink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool-prober")
	s, err := OpenSpoolSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEvent(netip.MustParseAddr("::ffff:10.1.2.3"), map[string]string{"fp_kind": KindJARM, "jarm": jarmExample, "dst_port": "443"},
		time.Date(2026, 11, 26, 1, 2, 3, 456789123, time.FixedZone("x", 3600)))
	if err := s.Emit(e); err != nil {
		t.Fatal(err)
	}
	// A second writer on the same directory is refused while the sink holds it.
	if _, err := OpenSpoolSink(dir); err == nil {
		t.Error("second writer on one spool directory")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := spool.OpenReader(dir, spool.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	back, err := event.Parse([]byte(rec.RawLine))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Service != "prober" || rec.Decky != "prober" || rec.Type != "fingerprint" || rec.AttackerIP != "10.1.2.3" ||
		rec.Fields["jarm"] != jarmExample || back.ID != rec.ID || !back.Time.Equal(rec.Time) ||
		rec.Time.Location() != time.UTC || rec.Time.Nanosecond()%1000 != 0 {
		t.Fatalf("record %+v, parsed raw line %+v", rec, back)
	}
}

// jarmExample is a well-formed JARM (the go-default reference server's).
const jarmExample = "40d40d40d00040d00043d43d00043d3bef2bf79cd6719851e8198c1e8f9a14"
