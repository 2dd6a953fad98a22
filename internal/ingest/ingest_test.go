package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"decnet/internal/bus"
	"decnet/internal/event"
	"decnet/internal/spool"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

// mkRec builds spool record i, formatted through the real codec.
func mkRec(t testing.TB, i int, fields map[string]string) *spool.Record {
	t.Helper()
	if fields == nil {
		fields = map[string]string{"username": "root", "password": fmt.Sprintf("pw%d", i%7)}
	}
	e := event.Event{ID: fmt.Sprintf("evt-%08d", i), Time: time.Unix(1700000000, int64(i)*1000).UTC(), Decky: "decky-01",
		Service: "ssh", Type: "auth", AttackerIP: fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1), AttackerPort: 40000 + i%20000, Fields: fields}
	line, err := event.Format(e)
	if err != nil {
		t.Fatal(err)
	}
	return &spool.Record{Event: e, RawLine: string(line)}
}

type env struct {
	t    *testing.T
	dir  string // spool
	dsn  string
	st   store.Store
	w    *spool.Writer
	bus  *bus.Bus
	in   *Ingester
	stop context.CancelFunc
	done chan error
}

func newEnv(t *testing.T, segSize int64) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, dir: filepath.Join(base, "spool"), dsn: "sqlite://" + filepath.Join(base, "decnet.db") + "?busy_timeout=200"}
	st, err := store.Open(context.Background(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	e.w, err = spool.OpenWriter(e.dir, segSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.w.Close() })
	return e
}

func (e *env) write(recs ...*spool.Record) {
	e.t.Helper()
	for _, r := range recs {
		if _, err := e.w.Append(r); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.w.Sync(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) writeRange(from, to int) {
	e.t.Helper()
	var recs []*spool.Record
	for i := from; i < to; i++ {
		recs = append(recs, mkRec(e.t, i, nil))
	}
	e.write(recs...)
}

func (e *env) start(mod func(*Config)) {
	e.t.Helper()
	cfg := Config{Store: e.st, SpoolDir: e.dir, Bus: e.bus, BatchSize: 100, FlushInterval: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	e.in = New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.in.Run(ctx) }()
	e.t.Cleanup(func() { e.halt() })
}

func (e *env) halt() {
	if e.stop == nil {
		return
	}
	e.stop()
	if err := <-e.done; err != nil {
		e.t.Errorf("Run: %v", err)
	}
	e.stop = nil
}

// waitFor polls cond until it holds (the test's own deadline bounds it).
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; stats %+v", what, e.in.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) count() int64 {
	e.t.Helper()
	n, err := e.st.CountLogs(context.Background(), store.LogQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) cursor() string {
	c, err := e.st.Cursor(context.Background(), CursorName)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestIngestRotateResumeAndPrune(t *testing.T) {
	e := newEnv(t, 8<<10) // ~25 records per segment: many rotations
	const n = 3000
	e.writeRange(0, n)
	e.start(nil)
	e.waitFor("all rows", func() bool { return e.in.Stats().Inserted == n })
	e.halt()
	if got := e.count(); got != n {
		t.Fatalf("stored %d rows, want %d", got, n)
	}
	st := e.in.Stats()
	seqs, _ := spool.Segments(e.dir)
	last := seqs[len(seqs)-1]
	fi, _ := os.Stat(filepath.Join(e.dir, spool.SegmentName(last)))
	if want := (spool.Cursor{Seq: last, Offset: fi.Size()}).String(); e.cursor() != want || st.Cursor != want {
		t.Fatalf("stored cursor %q (stats %q), want the end of the spool %q", e.cursor(), st.Cursor, want)
	}
	// Pruning kept the cursor's segment and one more, nothing else.
	if len(seqs) != 2 || st.Pruned == 0 {
		t.Fatalf("after pruning %d segments remain (%v), pruned %d", len(seqs), seqs, st.Pruned)
	}
	// Credentials became bounty: 7 passwords x distinct attackers, deduplicated.
	bs, err := e.st.Bounty(context.Background(), store.BountyQuery{Type: "credential", Limit: 10000})
	if err != nil || len(bs) == 0 || int(st.Bounty) != len(bs) {
		t.Fatalf("bounty: %d rows, stats %d, err %v", len(bs), st.Bounty, err)
	}

	// Restart: only the new records are read, nothing twice.
	e.writeRange(n, n+150)
	e.start(nil)
	e.waitFor("new rows", func() bool { return e.in.Stats().Inserted == 150 })
	e.halt()
	if got, st := e.count(), e.in.Stats(); got != n+150 || st.Duplicates != 0 || st.Read != 150 {
		t.Fatalf("after restart: %d rows, stats %+v", got, st)
	}
}

func TestBatchBySizeThenFlushOnStop(t *testing.T) {
	e := newEnv(t, 0)
	e.writeRange(0, 250)
	e.start(func(c *Config) { c.BatchSize = 100; c.FlushInterval = time.Hour })
	e.waitFor("two full batches", func() bool { return e.in.Stats().Inserted == 200 })
	// The last 50 wait for the (hour-long) interval: not committed yet.
	time.Sleep(100 * time.Millisecond)
	if got := e.count(); got != 200 {
		t.Fatalf("%d rows stored before the interval, want the 2 full batches (200)", got)
	}
	e.halt() // a clean stop commits what was read
	if got := e.count(); got != 250 {
		t.Fatalf("after stop %d rows, want 250", got)
	}
}

func TestBatchByInterval(t *testing.T) {
	e := newEnv(t, 0)
	e.start(func(c *Config) { c.BatchSize = 1000; c.FlushInterval = 30 * time.Millisecond })
	e.write(mkRec(t, 1, nil), mkRec(t, 2, nil), mkRec(t, 3, nil))
	e.waitFor("a partial batch after the interval", func() bool { return e.in.Stats().Inserted == 3 })
	if st := e.in.Stats(); st.Batches != 1 {
		t.Errorf("3 records took %d transactions, want 1", st.Batches)
	}
}

func TestBusGetsStoredRowsWithIDs(t *testing.T) {
	e := newEnv(t, 0)
	e.bus = bus.New()
	sub := e.bus.Subscribe(nil, 10000)
	recs := []*spool.Record{mkRec(t, 1, nil), mkRec(t, 2, nil), mkRec(t, 1, nil), mkRec(t, 3, nil)} // evt 1 twice
	e.write(recs...)
	e.start(nil)
	e.waitFor("3 rows", func() bool { return e.in.Stats().Inserted == 3 })
	rows, err := e.st.Logs(context.Background(), store.LogQuery{Ascending: true})
	if err != nil || len(rows) != 3 {
		t.Fatalf("stored rows %d, %v", len(rows), err)
	}
	for i := 0; i < 3; i++ {
		select {
		case got := <-sub.C:
			if got.ID != rows[i].ID || got.Event.ID != rows[i].Event.ID || got.RawLine != rows[i].RawLine {
				t.Errorf("bus row %d: id %d %s, stored %d %s", i, got.ID, got.Event.ID, rows[i].ID, rows[i].Event.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("bus delivered %d rows", i)
		}
	}
	if st := e.in.Stats(); st.Duplicates != 1 {
		t.Errorf("duplicates %d, want 1", st.Duplicates)
	}
	select {
	case extra := <-sub.C:
		t.Errorf("bus delivered an extra row %+v", extra)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestBatchesReusedIntact stores many small batches, whose arrays the reader
// reuses once the committer is done with them, and finds every record stored and
// published with its own values, and each one's credential stored.
func TestBatchesReusedIntact(t *testing.T) {
	const n = 2000
	e := newEnv(t, 0)
	e.bus = bus.New()
	sub := e.bus.Subscribe(nil, n)
	recs := make([]*spool.Record, n)
	for i := range recs {
		recs[i] = mkRec(t, i, map[string]string{"username": fmt.Sprintf("user%d", i), "password": fmt.Sprintf("pw%d", i%97), "n": strconv.Itoa(i)})
	}
	e.write(recs...)
	e.start(func(c *Config) { c.BatchSize = 37 })
	e.waitFor("every record", func() bool { return e.in.Stats().Inserted == n })
	same := func(what string, i int, got store.Record) {
		t.Helper()
		if want := recs[i]; got.Event.ID != want.ID || got.RawLine != want.RawLine || !reflect.DeepEqual(got.Fields, want.Fields) {
			t.Fatalf("%s %d: %s %v, want %s %v", what, i, got.Event.ID, got.Fields, want.ID, want.Fields)
		}
	}
	rows, err := e.st.Logs(context.Background(), store.LogQuery{Ascending: true, Limit: n})
	if err != nil || len(rows) != n {
		t.Fatalf("stored rows %d, %v", len(rows), err)
	}
	for i, r := range rows {
		same("stored row", i, r.Record)
		select {
		case got := <-sub.C:
			same("bus row", i, got.Record)
		case <-time.After(10 * time.Second):
			t.Fatalf("bus delivered %d rows", i)
		}
	}
	bs, err := e.st.Bounty(context.Background(), store.BountyQuery{Type: "credential", Limit: n + 1})
	if err != nil || len(bs) != n || e.in.Stats().Bounty != n {
		t.Fatalf("%d credentials stored (%v), stats %+v; want %d", len(bs), err, e.in.Stats(), n)
	}
	users := map[string]bool{}
	for _, b := range bs {
		var p struct{ Username string }
		if err := json.Unmarshal(b.Payload, &p); err != nil {
			t.Fatal(err)
		}
		users[p.Username] = true
	}
	if len(users) != n {
		t.Fatalf("%d distinct usernames among %d credentials", len(users), n)
	}
}

func TestCorruptRejectedAndLegacy(t *testing.T) {
	e := newEnv(t, 0)
	e.write(mkRec(t, 1, nil))
	e.w.Close()
	// A corrupt line, a record without event_id (legacy), a record the store refuses
	// (no timestamp), then a good one.
	f, err := os.OpenFile(filepath.Join(e.dir, spool.SegmentName(1)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	legacy := mkRec(t, 2, map[string]string{"username": "a", "password": "b"})
	legacy.ID = ""
	legacy.RawLine = strings.Replace(legacy.RawLine, "decnet@55555", "relay@55555", 1)
	notime := mkRec(t, 3, nil)
	notime.Time = time.Time{}
	var lines []string
	for _, r := range []*spool.Record{legacy, notime, mkRec(t, 4, nil)} {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	f.WriteString("{this is not json\n" + strings.Join(lines, "\n") + "\n")
	f.Close()

	e.start(nil)
	e.waitFor("everything read", func() bool { st := e.in.Stats(); return st.Inserted == 3 && st.Rejected == 1 })
	e.halt()
	st := e.in.Stats()
	if st.Corrupt != 1 || st.DerivedIDs != 1 {
		t.Fatalf("stats %+v", st)
	}
	rows, _ := e.st.Logs(context.Background(), store.LogQuery{Ascending: true})
	wantID := DerivedID(legacy)
	if len(rows) != 3 || rows[1].Event.ID != wantID || !strings.HasPrefix(wantID, "raw-") || len(wantID) != 36 {
		t.Fatalf("legacy row id %q, want %q", rows[1].Event.ID, wantID)
	}
	rej, err := os.ReadFile(filepath.Join(filepath.Dir(e.dir), RejectFileName))
	if err != nil || !strings.Contains(string(rej), "evt-00000003") || !strings.Contains(string(rej), "timestamp") {
		t.Fatalf("rejected file: %q, %v", rej, err)
	}
	// Re-reading the whole spool (cursor reset) stores nothing twice: the legacy
	// record's derived id is the same again.
	if err := e.st.SetCursor(context.Background(), CursorName, ""); err != nil {
		t.Fatal(err)
	}
	e.start(nil)
	e.waitFor("re-read", func() bool { return e.in.Stats().Duplicates == 3 })
	e.halt()
	if got := e.count(); got != 3 {
		t.Fatalf("re-reading stored %d rows, want still 3", got)
	}
}

func TestInvalidUTF8RestoredFromRawLine(t *testing.T) {
	e := newEnv(t, 0)
	bad := "pass\xff\xfeword\x1b[31m]\"\n"
	r := mkRec(t, 1, map[string]string{"password": bad, "ok": "plain"})
	r.Msg = "msg\xc3"
	line, _ := event.Format(r.Event)
	r.RawLine = string(line)
	// Plain fields (read as FieldsJSON), invalid bytes in the msg only.
	r2 := mkRec(t, 2, map[string]string{"username": "root"})
	r2.Msg = "only\xffhere"
	line, _ = event.Format(r2.Event)
	r2.RawLine = string(line)
	e.write(r, r2) // the spool's JSON turns the invalid bytes into U+FFFD
	e.start(nil)
	e.waitFor("rows", func() bool { return e.count() == 2 })
	rows, _ := e.st.Logs(context.Background(), store.LogQuery{Ascending: true})
	if rows[0].Fields["password"] != bad || rows[0].Msg != "msg\xc3" || rows[0].Fields["ok"] != "plain" {
		t.Fatalf("stored password %q msg %q, want %q %q", rows[0].Fields["password"], rows[0].Msg, bad, "msg\xc3")
	}
	if rows[1].Msg != r2.Msg || rows[1].Fields["username"] != "root" {
		t.Fatalf("stored msg %q fields %v, want %q", rows[1].Msg, rows[1].Fields, r2.Msg)
	}
	if e.in.Stats().Repaired != 2 {
		t.Errorf("repaired %d, want 2", e.in.Stats().Repaired)
	}
}

func TestRestoreNeverUndoesCollectorChanges(t *testing.T) {
	tests := []struct {
		name        string
		spooled     string // value in the spool record
		raw         string // value in the raw line
		want        string
		wantChanged bool
	}{
		{"lossy bytes restored", "a\uFFFDb", "a\xffb", "a\xffb", true},
		{"two bytes, two runes", "a\uFFFD\uFFFDb", "a\xff\xfeb", "a\xff\xfeb", true},
		{"real U+FFFD kept", "a\uFFFDb", "a\uFFFDb", "a\uFFFDb", false},
		{"different value kept", "x\uFFFD", "y\xff", "x\uFFFD", false},
	}
	for _, tc := range tests {
		// The spooled fields with and without their text (spool.Record.FieldsJSON).
		for _, withJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", tc.name, withJSON), func(t *testing.T) {
				e := event.Event{ID: "x", Time: time.Unix(1, 0).UTC(), Decky: "d", Service: "s", Type: "t", Fields: map[string]string{"k": tc.raw}}
				line, _ := event.Format(e)
				r := store.Record{Event: e, RawLine: string(line)}
				r.Fields = map[string]string{"k": tc.spooled, "wire_hostname": "other"}
				fieldsJSON := ""
				if withJSON {
					b, _ := json.Marshal(r.Fields)
					fieldsJSON = string(b)
				}
				changed := restoreFromRaw(&r, fieldsJSON)
				if changed != tc.wantChanged || r.Fields["k"] != tc.want || r.Fields["wire_hostname"] != "other" {
					t.Fatalf("changed %v, value %q, fields %v", changed, r.Fields["k"], r.Fields)
				}
			})
		}
	}
}

func TestSpoolResetIsReadAgain(t *testing.T) {
	e := newEnv(t, 0)
	e.writeRange(0, 10)
	e.start(nil)
	e.waitFor("10", func() bool { return e.count() == 10 })
	// The spool is wiped (operator, disk swap) and restarts at segment 1 with new and old events.
	e.w.Close()
	if err := os.RemoveAll(e.dir); err != nil {
		t.Fatal(err)
	}
	w, err := spool.OpenWriter(e.dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.w = w
	e.write(mkRec(t, 5, nil), mkRec(t, 100, nil))
	e.waitFor("the new event after the reset", func() bool { return e.in.Stats().Inserted == 11 })
	if st := e.in.Stats(); st.Resets == 0 || st.Duplicates != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLockedDatabaseRetriesWithoutLoss holds an exclusive lock on the SQLite file
// from another connection while the ingester commits: commits fail with "database is
// locked", are retried with the same batch, and everything is stored once.
func TestLockedDatabaseRetriesWithoutLoss(t *testing.T) {
	e := newEnv(t, 4<<10)
	path := strings.TrimSuffix(strings.TrimPrefix(e.dsn, "sqlite://"), "?busy_timeout=200")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	e.start(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 500; i++ {
			e.write(mkRec(t, i, nil))
		}
	}()
	e.waitFor("failed commits", func() bool { return e.in.Stats().Retries >= 2 })
	time.Sleep(500 * time.Millisecond)
	if n := e.in.Stats().Inserted; n != 0 {
		t.Fatalf("%d rows inserted while the database was locked", n)
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
	conn.Close()
	wg.Wait()
	e.waitFor("all rows after the lock", func() bool { return e.in.Stats().Inserted == 500 })
	e.halt()
	if got := e.count(); got != 500 || e.in.Stats().Duplicates != 0 {
		t.Fatalf("%d rows, stats %+v", got, e.in.Stats())
	}
	if !strings.Contains(e.in.Stats().LastError, "locked") {
		t.Errorf("LastError %q does not say the database was locked", e.in.Stats().LastError)
	}
}

func TestMySQLIngest(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnv(t, 8<<10)
	e.st = st
	e.writeRange(0, 1000)
	e.start(nil)
	e.waitFor("all rows", func() bool { return e.in.Stats().Inserted == 1000 })
	e.halt()
	if got := e.count(); got != 1000 {
		t.Fatalf("%d rows", got)
	}
}

func TestDerivedIDDeterministic(t *testing.T) {
	a := &spool.Record{RawLine: "<134>1 2024-01-01T00:00:00.000000Z d s - auth [relay@55555 src_ip=\"1.2.3.4\"]"}
	b := &spool.Record{RawLine: a.RawLine}
	c := &spool.Record{RawLine: a.RawLine + " "}
	if DerivedID(a) != DerivedID(b) || DerivedID(a) == DerivedID(c) {
		t.Fatal("DerivedID is not a function of the raw line")
	}
	noRaw := &spool.Record{Event: event.Event{Decky: "d", Time: time.Unix(5, 0).UTC()}}
	if DerivedID(noRaw) != DerivedID(&spool.Record{Event: noRaw.Event}) || DerivedID(noRaw) == DerivedID(a) {
		t.Fatal("DerivedID without a raw line")
	}
}

func TestPruneHolds(t *testing.T) {
	e := newEnv(t, 4<<10)
	hold := filepath.Join(t.TempDir(), "syslog-cursor")
	missing := filepath.Join(t.TempDir(), "never-written")
	if err := os.WriteFile(hold, []byte("3:120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeRange(0, 600)
	e.start(func(c *Config) { c.PruneHolds = []string{hold, missing} })
	e.waitFor("all rows", func() bool { return e.in.Stats().Inserted == 600 })
	e.halt()
	seqs, _ := spool.Segments(e.dir)
	if seqs[0] != 3 || len(seqs) < 10 {
		t.Fatalf("with a reader at segment 3, segments %v remain", seqs)
	}
	// The reader moves on: the next prune follows it.
	os.WriteFile(hold, []byte("9:0"), 0o600)
	e.writeRange(600, 700)
	e.start(func(c *Config) { c.PruneHolds = []string{hold} })
	e.waitFor("more rows", func() bool { return e.in.Stats().Inserted == 100 })
	e.halt()
	if seqs, _ = spool.Segments(e.dir); seqs[0] != 9 {
		t.Fatalf("after the reader moved to segment 9, segments %v remain", seqs)
	}
}

// TestTwoSpoolsOneStore: the collector's and the sniffer's spools are ingested into
// one store by two ingesters, each with its own cursor, both resuming after a stop.
func TestTwoSpoolsOneStore(t *testing.T) {
	e := newEnv(t, 8<<10)
	other := filepath.Join(filepath.Dir(e.dir), "spool-sniffer")
	w2, err := spool.OpenWriter(other, 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	for i := 5000; i < 5300; i++ {
		if _, err := w2.Append(mkRec(t, i, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Sync(); err != nil {
		t.Fatal(err)
	}
	e.writeRange(0, 300)
	e.start(nil)
	second := New(Config{Store: e.st, SpoolDir: other, CursorName: "ingester:spool-sniffer", BatchSize: 100,
		FlushInterval: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	e.waitFor("both spools stored", func() bool { return e.count() == 600 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c1, _ := e.st.Cursor(context.Background(), CursorName)
	c2, _ := e.st.Cursor(context.Background(), "ingester:spool-sniffer")
	if c1 == "" || c2 == "" || c1 == c2 && c1 == "0:0" {
		t.Fatalf("cursors %q and %q", c1, c2)
	}
	if want := filepath.Join(filepath.Dir(e.dir), "ingest-rejected-spool-sniffer.jsonl"); second.cfg.RejectPath != want {
		t.Fatalf("reject path %s, want %s", second.cfg.RejectPath, want)
	}
}
