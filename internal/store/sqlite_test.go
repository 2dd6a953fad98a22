package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSQLiteDSN(t *testing.T) {
	abs, _ := filepath.Abs("rel/x.db")
	cases := []struct {
		in      string
		path    string
		busy    time.Duration
		sync    string
		wantErr string
	}{
		{in: "/a/b.db", path: "/a/b.db", busy: defaultBusyTimeout, sync: "NORMAL"},
		{in: "rel/x.db", path: abs, busy: defaultBusyTimeout, sync: "NORMAL"},
		{in: "/a/b.db?busy_timeout=250&synchronous=full", path: "/a/b.db", busy: 250 * time.Millisecond, sync: "FULL"},
		{in: "/a/b.db?busy_timeout=x", wantErr: "busy_timeout"},
		{in: "/a/b.db?synchronous=OFF", wantErr: "synchronous"},
		{in: "/a/b.db?_pragma=writable_schema(1)", wantErr: "unknown SQLite DSN option"},
		{in: "?busy_timeout=1", wantErr: "no file path"},
	}
	for _, c := range cases {
		p, o, err := parseSQLiteDSN(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseSQLiteDSN(%q) err = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || p != c.path || o.busyTimeout != c.busy || o.synchronous != c.sync {
			t.Errorf("parseSQLiteDSN(%q) = %q %+v %v", c.in, p, o, err)
		}
	}
}

func TestOpenDSNForms(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, dsn := range []string{
		DefaultDSN(filepath.Join(dir, "state")),
		"sqlite://" + filepath.Join(dir, "a.db"),
		filepath.Join(dir, "plain.db"),
		"sqlite:" + filepath.Join(dir, "b.db") + "?synchronous=FULL",
	} {
		st, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		st.Close()
	}
	if DefaultDSN("/var/lib/decnet") != "sqlite:/var/lib/decnet/decnet.db" {
		t.Errorf("DefaultDSN = %q", DefaultDSN("/var/lib/decnet"))
	}
	fi, err := os.Stat(filepath.Join(dir, "state", "decnet.db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode = %v, %v; want 0600 (it holds credentials)", fi.Mode().Perm(), err)
	}
	for _, bad := range []string{"", "postgres://x/y", "mysql://not a dsn", "mysql://u:p@tcp(127.0.0.1:1)/"} {
		if _, err := Open(ctx, bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestSQLiteJournalMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	st := open(t, "sqlite://"+path)
	var mode, sync string
	s := st.(*sqlStore)
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "1" {
		t.Errorf("synchronous = %q, %v; want 1 (NORMAL)", sync, err)
	}
	var page int
	if err := s.w.QueryRow("PRAGMA page_size").Scan(&page); err != nil || page != sqlitePageSize {
		t.Errorf("page_size = %d, %v; want %d", page, err, sqlitePageSize)
	}
	st.Close()
	// An existing database keeps the page size it was made with.
	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA page_size = 4096; CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st = open(t, "sqlite://"+old)
	if err := st.(*sqlStore).w.QueryRow("PRAGMA page_size").Scan(&page); err != nil || page != 4096 {
		t.Errorf("an existing database's page_size = %d, %v; want 4096 (kept)", page, err)
	}
}

func TestSQLiteNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.db")
	st := open(t, "sqlite://"+path)
	if _, err := st.(*sqlStore).w.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err := Open(context.Background(), "sqlite://"+path)
	if err == nil || !strings.Contains(err.Error(), "newer than this decnet knows") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// A second connection holds the write lock: Ingest waits busy_timeout, then fails with
// a clear retryable error and stores nothing; once the lock is released the same
// batch goes through, and a lock released within busy_timeout is simply waited out.
func TestSQLiteLockedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	st := open(t, "sqlite://"+path+"?busy_timeout=300")
	other, err := sql.Open("sqlite", path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := func() {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
	}
	unlock := func() {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
	b := Batch{Records: recs("lk", 10), CursorName: "ingester", Cursor: "10"}

	lock()
	start := time.Now()
	_, err = st.Ingest(ctx, b)
	waited := time.Since(start)
	if err == nil {
		t.Fatal("Ingest succeeded while another connection held the write lock")
	}
	if !IsRetryable(err) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Fatalf("locked database: err = %v, want a retryable 'database is locked' error", err)
	}
	if waited < 250*time.Millisecond {
		t.Errorf("Ingest gave up after %v, before busy_timeout (300ms)", waited)
	}
	t.Logf("locked database error: %v", err)
	// Readers are not blocked by the writer's lock (WAL).
	if n := count(t, st, LogQuery{}); n != 0 {
		t.Fatalf("%d rows after the failed batch", n)
	}
	unlock()
	if r := ingest(t, st, b); len(r.Inserted) != 10 {
		t.Fatalf("after the lock was released: %+v", r)
	}

	// A lock held for less than busy_timeout is waited out.
	lock()
	go func() {
		time.Sleep(100 * time.Millisecond)
		conn.ExecContext(ctx, "ROLLBACK")
	}()
	r, err := st.Ingest(ctx, Batch{Records: recs("lk2", 5), CursorName: "ingester", Cursor: "15"})
	if err != nil || len(r.Inserted) != 5 {
		t.Fatalf("Ingest did not wait out a short lock: %+v, %v", r, err)
	}
	if c, _ := st.Cursor(ctx, "ingester"); c != "15" {
		t.Fatalf("cursor = %q", c)
	}
	if n := count(t, st, LogQuery{}); n != 15 {
		t.Fatalf("%d rows, want 15", n)
	}
}

func TestIsRetryable(t *testing.T) {
	if IsRetryable(nil) || IsRetryable(errors.New("x")) || IsRetryable(invalidf("bad")) {
		t.Error("non-transient errors reported retryable")
	}
	if !IsRetryable(sql.ErrConnDone) {
		t.Error("ErrConnDone not retryable")
	}
}

// TestSQLiteBackgroundCheckpoint: committed batches are copied from the WAL into the
// database file by the background checkpointer, well before the writer's own
// automatic checkpoint (ckptBackstopPages) would run, and Close leaves no WAL behind.
func TestSQLiteBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "decnet.db")
	st, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size(path)
	rs := benchRecords("ckpt", 6000) // a few MiB: far below the backstop's 64 MiB
	for lo := 0; lo < len(rs); lo += 1000 {
		if _, err := st.Ingest(ctx, Batch{Records: rs[lo : lo+1000], CursorName: "t", Cursor: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if wal := size(path + "-wal"); wal == 0 || wal > int64(ckptBackstopPages)*4096 {
		t.Fatalf("the WAL is %d bytes after the batches", wal)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(path) < before+2<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (WAL %d): no background checkpoint ran", size(path), size(path+"-wal"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the WAL is still there after Close: %v", err)
	}
	st2, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if n, err := st2.CountLogs(ctx, LogQuery{}); err != nil || n != int64(len(rs)) {
		t.Fatalf("after reopening: %d events, %v; want %d", n, err, len(rs))
	}
}

// The canonical raw line of an event is not stored (raw_line = ”), yet reads back
// byte for byte; a line that differs is stored as it came.
func TestSQLiteCanonicalRawLineNotStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	st := open(t, "sqlite://"+path)
	all := recs("c", 10)
	all[3].RawLine = "<134>1 - relay line as a relay rewrote it"
	ingest(t, st, Batch{Records: all})
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var empty, kept int
	if err := db.QueryRow("SELECT COUNT(*) FROM logs WHERE raw_line = ''").Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM logs WHERE raw_line = ?", all[3].RawLine).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if empty != 9 || kept != 1 {
		t.Fatalf("raw_line column: %d empty, %d kept as sent; want 9 and 1", empty, kept)
	}
	rows := logs(t, st, LogQuery{Ascending: true})
	for i, r := range rows {
		if r.RawLine != all[i].RawLine {
			t.Errorf("row %d raw line %q, want %q", i, r.RawLine, all[i].RawLine)
		}
	}
}

// Migration 4 cuts 256-bit bounty keys to the 128 bits new keys have, so a credential
// stored before the upgrade is still the same row when it is seen again.
func TestSQLiteMigration4CutsBountyKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m4.db")
	st := open(t, "sqlite://"+path)
	payload := json.RawMessage(`{"username":"root","password":"x"}`)
	long := strings.Repeat("ab", 32)
	ingest(t, st, Batch{Bounty: []Bounty{{Time: t0, Decky: "d", Service: "ssh", Type: "credential", Payload: payload, DedupKey: long}}})
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM schema_migrations WHERE version >= 4"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st = open(t, "sqlite://"+path) // applies migrations 4 and 5 again
	r := ingest(t, st, Batch{Bounty: []Bounty{{Time: t0, Decky: "d", Service: "ssh", Type: "credential", Payload: payload, DedupKey: long[:32]}}})
	if r.NewBounty != 0 {
		t.Fatalf("the same credential under its cut key was stored again (%d new)", r.NewBounty)
	}
	rows, err := st.Bounty(context.Background(), BountyQuery{})
	if err != nil || len(rows) != 1 || rows[0].DedupKey != long[:32] {
		t.Fatalf("bounty after migration 4: %+v, %v", rows, err)
	}
}

// TestSQLiteTimeRangePlan: a time range with few rows is read through the timestamp
// index, an empty one answers without a second query, a dense one is left to the
// backwards walk — and all three return exactly the rows the filter selects.
func TestSQLiteTimeRangePlan(t *testing.T) {
	ctx := context.Background()
	st := open(t, "sqlite://"+filepath.Join(t.TempDir(), "plan.db"))
	const n = timeProbeRows + 904
	ingest(t, st, Batch{Records: recs("plan", n)})
	s := st.(*sqlStore)
	for _, c := range []struct {
		name         string
		q            LogQuery
		byIDs, empty bool // read through the range's id list; known empty
		want, newest int  // rows selected, index of the newest
	}{
		{"few rows", LogQuery{Since: t0.Add(100 * time.Second), Until: t0.Add(110 * time.Second)}, true, false, 10, 109},
		{"few rows and a service", LogQuery{Service: "ftp", Since: t0.Add(100 * time.Second), Until: t0.Add(110 * time.Second)}, true, false, 3, 107},
		{"until only", LogQuery{Until: t0.Add(5 * time.Second)}, true, false, 5, 4},
		{"nothing in range", LogQuery{Since: t0.Add(time.Duration(n) * time.Second)}, false, true, 0, 0},
		{"dense", LogQuery{Since: t0}, false, false, n, n - 1},
	} {
		cond, condArgs, empty, err := s.timeRange(ctx, c.q)
		if err != nil || (cond != "") != c.byIDs || empty != c.empty {
			t.Errorf("%s: timeRange = %q, %v, %v; want an id list %v, empty %v", c.name, cond, empty, err, c.byIDs, c.empty)
		}
		if c.byIDs {
			// The ids come from the index alone and are walked in order: no row is
			// read to sort.
			p := queryPlan(t, s, "SELECT id FROM logs WHERE "+cond+" ORDER BY id DESC LIMIT 100", condArgs...)
			if !strings.Contains(p, "COVERING INDEX logs_timestamp") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s: plan %q; want the ids from the covering timestamp index, no sort", c.name, p)
			}
		}
		if got := count(t, st, c.q); got != int64(c.want) {
			t.Errorf("%s: CountLogs = %d, want %d", c.name, got, c.want)
		}
		c.q.Limit = MaxLimit
		rows := logs(t, st, c.q)
		if len(rows) != c.want {
			t.Fatalf("%s: Logs returned %d rows, want %d", c.name, len(rows), c.want)
		}
		for i, r := range rows {
			if i > 0 && r.ID >= rows[i-1].ID {
				t.Fatalf("%s: rows not newest first: id %d after %d", c.name, r.ID, rows[i-1].ID)
			}
		}
		if c.want > 0 && rows[0].Event.ID != fmt.Sprintf("plan-%04d", c.newest) {
			t.Errorf("%s: newest row is %s, want plan-%04d", c.name, rows[0].Event.ID, c.newest)
		}
	}
}

// DataVersion is unchanged while nothing is committed and changes with every commit,
// by this store or another connection pool on the same file (another process).
func TestSQLiteDataVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	st := open(t, "sqlite://"+path)
	v0, ok := st.DataVersion(ctx)
	if !ok {
		t.Fatal("DataVersion is not known on SQLite")
	}
	if _, err := st.Logs(ctx, LogQuery{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.DataVersion(ctx); v != v0 {
		t.Errorf("DataVersion changed without a commit: %v -> %v", v0, v)
	}
	ingest(t, st, Batch{Records: recs("dv", 3)})
	v1, _ := st.DataVersion(ctx)
	if v1 == v0 {
		t.Errorf("DataVersion did not change after Ingest")
	}
	other := open(t, "sqlite://"+path)
	ingest(t, other, Batch{Records: recs("dv-other", 2)})
	time.Sleep(VersionPoll) // another process's commit shows within VersionPoll
	if v, _ := st.DataVersion(ctx); v == v1 {
		t.Errorf("DataVersion did not change after another connection's commit")
	}
	// A replaced connection never repeats an old value.
	s := st.(*sqlStore)
	s.ver.mu.Lock()
	s.ver.closeLocked()
	s.ver.mu.Unlock()
	v2, ok := st.DataVersion(ctx)
	v2.local = v0.local // compare the connection's part alone
	if !ok || v2 == v1 || v2 == v0 {
		t.Errorf("after reconnecting DataVersion = %v, %v (before: %v, %v)", v2, ok, v0, v1)
	}
}

// Every attackers list order, ties broken by IP, is read from an index in order:
// no sort of the matching rows (migration 5).
func TestSQLiteAttackerSortPlan(t *testing.T) {
	st := open(t, "sqlite://"+filepath.Join(t.TempDir(), "sort.db"))
	s := st.(*sqlStore)
	for _, sort := range []string{SortLastSeen, SortFirstSeen, SortEvents, SortDeckies} {
		for _, dir := range []string{" DESC", " ASC"} {
			col := map[string]string{SortLastSeen: "a.last_seen", SortFirstSeen: "a.first_seen", SortEvents: "a.event_count", SortDeckies: "a.decky_count"}[sort]
			p := queryPlan(t, s, "SELECT "+attackerListColumns+
				" FROM attackers a LEFT JOIN attacker_behavior b ON b.attacker_uuid = a.uuid ORDER BY "+col+dir+", a.ip"+dir+" LIMIT 100")
			if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "USING INDEX attackers_") {
				t.Errorf("sort %s%s: plan %q; want an index walk without a sort", sort, dir, p)
			}
		}
	}
}

// Migrations 7 and 8 give an existing database's rows their identifier tokens and
// drop the indexes they replace (applied again, they add nothing twice); searches
// on identifiers then walk the tokens in id order, in both directions and from a
// page boundary, without sorting the matches.
// The logs_dims text Ingest binds (appendDimsTokens) is what the migration's SQL
// expression (dimsTokens) makes of the same values, for any bytes.
func TestDimsTokensAsSQL(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "hex.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	values := []string{"", "decky-01", "ssh", "auth", "198.51.100.7", "A\x00b", "\xff\xfe", "ü", "x\"]\n\x1b[31m", "2001:db8::1", strings.Repeat("Z", 300)}
	for i, v := range values {
		w := values[(i+3)%len(values)]
		var want string
		if err := db.QueryRow("SELECT "+dimsTokens+" FROM (SELECT CAST(? AS TEXT) AS decky, CAST(? AS TEXT) AS service, CAST(? AS TEXT) AS event_type, CAST(? AS TEXT) AS attacker_ip)",
			v, w, v+w, w+v).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := string(appendDimsTokens(nil, v, w, v+w, w+v)); got != want {
			t.Errorf("%q, %q: Go %q, SQL %q", v, w, got, want)
		}
		if err := db.QueryRow("SELECT "+bountyTokens+" FROM (SELECT CAST(? AS TEXT) AS bounty_type, CAST(? AS TEXT) AS decky, CAST(? AS TEXT) AS service, CAST(? AS TEXT) AS attacker_ip)",
			w+v, v, w, v+w).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := string(appendBountyTokens(nil, w+v, v, w, v+w)); got != want {
			t.Errorf("bounty %q, %q: Go %q, SQL %q", v, w, got, want)
		}
	}
}

func TestSQLiteIdentifierTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m7.db")
	st := open(t, "sqlite://"+path)
	all := recs("m7", 300)
	bountyOf := func(rs []Record) []Bounty {
		var out []Bounty
		for _, r := range rs {
			out = append(out, Bounty{Time: r.Time, Decky: r.Decky, Service: r.Service, AttackerIP: r.AttackerIP, Type: r.Type,
				Payload: json.RawMessage(`{}`), DedupKey: r.ID, EventID: r.ID})
		}
		return out
	}
	ingest(t, st, Batch{Records: all, Bounty: bountyOf(all)})
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{ // the schema as migration 6 left it
		"DROP TABLE logs_dims",
		"DROP TABLE bounty_dims",
		"CREATE INDEX bounty_type ON bounty(bounty_type, id)",
		"CREATE INDEX bounty_attacker ON bounty(attacker_ip, id)",
		"CREATE INDEX bounty_decky ON bounty(decky, id)",
		"CREATE INDEX logs_attacker ON logs(attacker_ip, id)",
		"CREATE INDEX logs_decky ON logs(decky, id)",
		"CREATE INDEX logs_service ON logs(service, id)",
		"CREATE INDEX logs_event_type ON logs(event_type, id)",
		"DELETE FROM schema_migrations WHERE version >= 7",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	want := 0
	for _, r := range all {
		if r.Decky == "decky-1" && r.Service == "http" {
			want++
		}
	}
	q := LogQuery{Decky: "decky-1", Service: "http", Limit: MaxLimit}
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	for range 2 {
		logged.Reset()
		st = open(t, "sqlite://"+path) // applies migrations 7 and 8
		if !strings.Contains(logged.String(), "upgrading the database schema") || !strings.Contains(logged.String(), "from=6 to=") {
			t.Errorf("opening a version-6 database logged %q; want the upgrade announced", logged.String())
		}
		if n := count(t, st, q); n != int64(want) || want == 0 {
			t.Fatalf("after migration 7: CountLogs(decky-1, http) = %d, want %d", n, want)
		}
		if b, err := st.Bounty(ctx, BountyQuery{Decky: "decky-1", Service: "http", Limit: MaxLimit}); err != nil || len(b) != want {
			t.Fatalf("after migration 8: Bounty(decky-1, http) = %d rows, %v; want %d", len(b), err, want)
		}
		s := st.(*sqlStore)
		var idx int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN
			('logs_attacker', 'logs_decky', 'logs_service', 'logs_event_type', 'bounty_type', 'bounty_attacker', 'bounty_decky')`).Scan(&idx); err != nil || idx != 0 {
			t.Fatalf("identifier indexes left after migrations 7 and 8: %d, %v", idx, err)
		}
		if _, err := s.w.Exec("DELETE FROM schema_migrations WHERE version >= 7"); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	open(t, "sqlite://"+path).Close() // migrates once more
	logged.Reset()
	st = open(t, "sqlite://"+path)
	if logged.Len() != 0 {
		t.Errorf("opening an up-to-date database logged %q", logged.String())
	}
	later := recs("later", 30) // rows stored after the migrations
	ingest(t, st, Batch{Records: later, Bounty: bountyOf(later)})
	s := st.(*sqlStore)
	for _, c := range []LogQuery{
		{AttackerIP: "10.0.0.3"},
		{AttackerIP: "10.0.0.3", Ascending: true},
		{Decky: "decky-2", EventType: "auth", BeforeID: 200},
		{Service: "ssh", AfterID: 100, Ascending: true},
		{Decky: "decky-0", Fields: map[string]string{"username": "user1"}},
		{Decky: "decky-0", Since: t0.Add(10 * time.Second), Until: t0.Add(20 * time.Second)},
	} {
		sel, args, _, err := s.logsSelect(ctx, c, "id")
		if err != nil {
			t.Fatal(err)
		}
		if p := queryPlan(t, s, sel, args...); !strings.Contains(p, "SCAN logs_dims VIRTUAL TABLE") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%+v: plan %q; want the tokens walked in order, no sort", c, p)
		}
		c.Limit = 5
		sameAsLogs(t, st, c)
	}
	if n := count(t, st, LogQuery{Decky: "decky-1"}); n != 110 {
		t.Errorf("CountLogs(decky-1) = %d, want 110 (100 migrated, 10 stored since)", n)
	}
	every, err := st.Bounty(ctx, BountyQuery{Limit: MaxLimit})
	if err != nil || len(every) != 330 {
		t.Fatalf("all bounty: %d rows, %v; want 330", len(every), err)
	}
	for _, c := range []BountyQuery{
		{Type: "auth", AttackerIP: "10.0.0.3"},
		{Type: "auth", AttackerIP: "10.0.0.3", BeforeID: 250},
		{Decky: "decky-2", Service: "ftp", Ascending: true, AfterID: 10},
	} {
		sel, args := s.bountySelect(c)
		if p := queryPlan(t, s, sel, args...); !strings.Contains(p, "SCAN bounty_dims VIRTUAL TABLE") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%+v: plan %q; want the tokens walked in order, no sort", c, p)
		}
		c.Limit = MaxLimit
		got, err := st.Bounty(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var want, have []int64
		for _, r := range every {
			if (c.Type == "" || r.Type == c.Type) && (c.AttackerIP == "" || r.AttackerIP == c.AttackerIP) && (c.Decky == "" || r.Decky == c.Decky) &&
				(c.Service == "" || r.Service == c.Service) && (c.BeforeID == 0 || r.ID < c.BeforeID) && r.ID > c.AfterID {
				want = append(want, r.ID)
			}
		}
		for _, r := range got {
			have = append(have, r.ID)
		}
		if c.Ascending {
			slices.Reverse(want)
		}
		if len(want) == 0 || !slices.Equal(have, want) {
			t.Errorf("%+v: bounty ids %v, want %v (not none)", c, have, want)
		}
	}
}

// A commit does not merge the token tables' segments (automerge=0); the merger
// does, in the background, and searches see the same rows throughout.
func TestSQLiteTokenMerging(t *testing.T) {
	st := open(t, "sqlite://"+filepath.Join(t.TempDir(), "merge.db"))
	s := st.(*sqlStore)
	s.merge.stop() // merging stopped: each commit's segment stays
	segments := func(table string) int {
		var n int
		if err := s.w.QueryRow("SELECT count(DISTINCT segid) FROM " + table + "_idx").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const commits = 12 // under FTS5's crisismerge (16 segments on a level)
	var all []Record
	for i := range commits {
		rs := recs(fmt.Sprintf("c%02d", i), 5)
		var b []Bounty
		for _, r := range rs {
			b = append(b, Bounty{Time: r.Time, Decky: r.Decky, Type: "fingerprint", Payload: json.RawMessage(`{}`), DedupKey: r.ID})
		}
		ingest(t, st, Batch{Records: rs, Bounty: b})
		all = append(all, rs...)
	}
	for _, table := range tokenTables {
		var automerge int
		if err := s.w.QueryRow("SELECT v FROM " + table + "_config WHERE k = 'automerge'").Scan(&automerge); err != nil || automerge != 0 {
			t.Fatalf("%s: automerge = %d, %v; want 0 (no merging within writes)", table, automerge, err)
		}
		if n := segments(table); n != commits {
			t.Fatalf("%s has %d segments after %d commits without the merger; want %d", table, n, commits, commits)
		}
	}
	want := count(t, st, LogQuery{Decky: "decky-1"})
	s.merge = startMerger(s.sw)
	s.merge.kick()
	deadline := time.Now().Add(10 * time.Second)
	for segments("logs_dims") >= commits/2 || segments("bounty_dims") >= commits/2 {
		if time.Now().After(deadline) {
			t.Fatalf("segments after the merger ran: logs_dims %d, bounty_dims %d; want fewer than %d", segments("logs_dims"), segments("bounty_dims"), commits/2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := count(t, st, LogQuery{Decky: "decky-1"}); got != want || want != 2*commits {
		t.Errorf("CountLogs(decky-1) = %d after merging, %d before; want %d", got, want, 2*commits)
	}
	if b, err := st.Bounty(context.Background(), BountyQuery{Decky: "decky-2", Limit: MaxLimit}); err != nil || len(b) != commits {
		t.Errorf("Bounty(decky-2) after merging: %d rows, %v; want %d", len(b), err, commits)
	}
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of query on the reader pool, its steps
// joined by "; ".
func queryPlan(t *testing.T, s *sqlStore, query string, args ...any) string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// The SQLite ingest connection (sqlitewriter.go): a context that ends mid-batch
// rolls the batch back and leaves the connection usable; a database locked by
// another connection is a retryable error; a closed store refuses batches.
func TestSQLiteIngestConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ingest.db")
	st := open(t, "sqlite://"+path+"?busy_timeout=200")
	s := st.(*sqlStore)
	batch := func(prefix string) Batch {
		rs := recs(prefix, 600) // more than one chunk
		return Batch{Records: rs, CursorName: "ingester", Cursor: prefix,
			Bounty: []Bounty{{Time: rs[0].Time, Decky: rs[0].Decky, Type: "fingerprint", Payload: json.RawMessage(`{"k":"v"}`), DedupKey: prefix}}}
	}

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.failpoint = func(stage string) error {
			if stage == "logs" {
				cancel() // the bounty insert that follows is interrupted
			}
			return nil
		}
		_, err := st.Ingest(ctx, batch("a"))
		s.failpoint = nil
		if !errors.Is(err, context.Canceled) || IsRetryable(err) {
			t.Fatalf("Ingest with its context canceled mid-batch: %v; want context.Canceled, not retryable", err)
		}
		if n := count(t, st, LogQuery{}); n != 0 {
			t.Fatalf("%d events stored by a canceled batch", n)
		}
		res := ingest(t, st, batch("a"))
		if len(res.Inserted) != 600 || res.NewBounty != 1 {
			t.Fatalf("the same batch afterwards: %d events, %d bounty stored; want 600, 1", len(res.Inserted), res.NewBounty)
		}
		if c, err := st.Cursor(context.Background(), "ingester"); err != nil || c != "a" {
			t.Fatalf("cursor %q, %v; want a", c, err)
		}
	})

	t.Run("locked", func(t *testing.T) {
		other, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		conn, err := other.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		_, err = st.Ingest(context.Background(), batch("b"))
		if !IsRetryable(err) || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("Ingest while another connection holds the write lock: %v; want a retryable \"locked\" error", err)
		}
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		if res := ingest(t, st, batch("b")); len(res.Inserted) != 600 {
			t.Fatalf("after the lock: %d events stored, want 600", len(res.Inserted))
		}
	})

	t.Run("closed", func(t *testing.T) {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Ingest(context.Background(), batch("c")); err == nil {
			t.Fatal("Ingest on a closed store succeeded")
		}
	})
}

// TestSQLiteStaticBinds: the ingest connection binds its rows' texts from its
// arena (zombiezen still has the fields it reads), and every value comes back
// exactly after batches that grow the arena past one buffer (values of 700 KiB)
// and reuse it (small batches between), with empty texts among them; a batch like
// one before needs no more buffers; past maxArena the buffers are freed.
func TestSQLiteStaticBinds(t *testing.T) {
	if !staticBinds {
		t.Fatal("zombiezen.com/go/sqlite no longer has Stmt.stmt, Stmt.conn and Conn.tls: the ingest connection binds with BindText (see sqlitebind.go)")
	}
	st := open(t, "sqlite://"+filepath.Join(t.TempDir(), "binds.db"))
	var all []Record
	var payloads []string
	a := &st.(*sqlStore).sw.arena
	var sizes []int // the arena's after each batch
	for b, n := range []int{600, 3, 600, 3, 600} {
		if b == 4 {
			a.size = maxArena + 1 // as if shapes had piled buffers up: freed at the next begin
		}
		rs := recs(fmt.Sprintf("b%d", b), n)
		var bounty []Bounty
		for i := range rs {
			r := &rs[i]
			if n == 3 {
				r.Fields = map[string]string{"big": strings.Repeat(string(rune('a'+i)), 700<<10), "empty": ""}
				r.Msg, r.AttackerIP = "", ""
			}
			p := fmt.Sprintf(`{"n":%q}`, r.ID+strings.Repeat("x", len(r.Fields["big"])/2))
			bounty = append(bounty, Bounty{Time: r.Time, Decky: r.Decky, Service: r.Service, AttackerIP: r.AttackerIP, Type: "fingerprint",
				Payload: json.RawMessage(p), DedupKey: r.ID, EventID: r.ID})
			payloads = append(payloads, p)
		}
		all = append(all, rs...)
		if res := ingest(t, st, Batch{Records: rs, Bounty: bounty}); len(res.Inserted) != n || res.NewBounty != n {
			t.Fatalf("batch %d: %d events, %d bounty stored; want %d", b, len(res.Inserted), res.NewBounty, n)
		}
		sizes = append(sizes, a.size)
	}
	if sizes[3] != sizes[1] {
		t.Errorf("the arena grew from %d to %d bytes for a batch like one before: its buffers are not reused", sizes[1], sizes[3])
	}
	if sizes[4] > sizes[0] {
		t.Errorf("the arena holds %d bytes after a small batch once over its bound, want at most %d", sizes[4], sizes[0])
	}
	got := logs(t, st, LogQuery{Ascending: true, Limit: len(all) + 1})
	if len(got) != len(all) {
		t.Fatalf("%d events stored, want %d", len(got), len(all))
	}
	for i, g := range got {
		w := all[i]
		if g.Event.ID != w.ID || g.Decky != w.Decky || g.AttackerIP != w.AttackerIP || g.Msg != w.Msg || g.RawLine != w.RawLine || !reflect.DeepEqual(g.Fields, w.Fields) {
			t.Fatalf("event %d came back as %.200v, want %.200v", i, g.Record, w)
		}
	}
	bs, err := st.Bounty(context.Background(), BountyQuery{Ascending: true, Limit: len(all) + 1})
	if err != nil || len(bs) != len(payloads) {
		t.Fatalf("%d bounty stored (%v), want %d", len(bs), err, len(payloads))
	}
	for i, b := range bs {
		if string(b.Payload) != payloads[i] || b.DedupKey != all[i].ID {
			t.Fatalf("bounty %d came back as %.200s (%s), want %.200s", i, b.Payload, b.DedupKey, payloads[i])
		}
	}
}
