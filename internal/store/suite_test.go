package store

// The repository test suite: runSuite runs every behaviour the Store promises
// against one engine. TestSQLiteSuite and TestMySQLSuite run it on both, so the two
// implementations are held to the same contract.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store/storetest"
)

func TestSQLiteSuite(t *testing.T) { runSuite(t, storetest.SQLiteDSN) }

func TestMySQLSuite(t *testing.T) { runSuite(t, storetest.MySQLDSN) }

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func rec(id string, i int) Record {
	e := event.Event{
		ID:           id,
		Time:         t0.Add(time.Duration(i) * time.Second),
		Decky:        fmt.Sprintf("decky-%d", i%3),
		Service:      []string{"ssh", "http", "ftp"}[i%3],
		Type:         []string{event.Auth, event.Request, event.Connect, event.Command}[i%4],
		AttackerIP:   fmt.Sprintf("10.0.0.%d", i%5),
		AttackerPort: 40000 + i,
		Fields:       map[string]string{"n": fmt.Sprint(i), "username": fmt.Sprintf("user%d", i%2)},
		Msg:          fmt.Sprintf("message number %d", i),
	}
	line, err := event.Format(e)
	if err != nil {
		panic(err)
	}
	return Record{Event: e, RawLine: string(line)}
}

func recs(prefix string, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = rec(fmt.Sprintf("%s-%04d", prefix, i), i)
	}
	return out
}

func open(t *testing.T, dsn string) Store {
	t.Helper()
	st, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ingest(t *testing.T, st Store, b Batch) IngestResult {
	t.Helper()
	res, err := st.Ingest(context.Background(), b)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return res
}

func count(t *testing.T, st Store, q LogQuery) int64 {
	t.Helper()
	n, err := st.CountLogs(context.Background(), q)
	if err != nil {
		t.Fatalf("CountLogs(%+v): %v", q, err)
	}
	return n
}

func logs(t *testing.T, st Store, q LogQuery) []LogRow {
	t.Helper()
	rows, err := st.Logs(context.Background(), q)
	if err != nil {
		t.Fatalf("Logs(%+v): %v", q, err)
	}
	return rows
}

// sameAsLogs checks that LogIDs(q) are the ids of Logs(q) and that LogsByID of
// them reads back the same rows.
func sameAsLogs(t *testing.T, st Store, q LogQuery) {
	t.Helper()
	rows := logs(t, st, q)
	ids, err := st.LogIDs(context.Background(), q)
	if err != nil {
		t.Fatalf("LogIDs(%+v): %v", q, err)
	}
	want := make([]int64, len(rows))
	for i, r := range rows {
		want[i] = r.ID
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("LogIDs(%+v) = %v, want the ids of Logs: %v", q, ids, want)
	}
	byID, err := st.LogsByID(context.Background(), ids)
	if err != nil {
		t.Fatalf("LogsByID: %v", err)
	}
	if len(byID) != len(rows) {
		t.Fatalf("LogsByID returned %d rows, want %d", len(byID), len(rows))
	}
	for i := range rows {
		if !reflect.DeepEqual(byID[i], rows[i]) {
			t.Fatalf("LogsByID row %d differs from Logs':\n%+v\n%+v", i, byID[i], rows[i])
		}
	}
}

// sameRecord compares a stored row with what was ingested, byte for byte.
func sameRecord(t *testing.T, got LogRow, want Record) {
	t.Helper()
	w := want
	w.Time = w.Time.Truncate(time.Microsecond).UTC()
	if len(w.Fields) == 0 {
		w.Fields = nil
	}
	if !reflect.DeepEqual(got.Record, w) {
		g, _ := json.Marshal(got.Record)
		ww, _ := json.Marshal(w)
		if len(g) > 400 {
			g = g[:400]
		}
		if len(ww) > 400 {
			ww = ww[:400]
		}
		t.Errorf("stored record differs:\n got %s\nwant %s", g, ww)
	}
}

func runSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()

	t.Run("MigrationsIdempotent", func(t *testing.T) {
		dsn := fresh(t)
		st := open(t, dsn)
		ingest(t, st, Batch{Records: recs("m", 3), CursorName: "ingester", Cursor: "c1"})
		st.Close()
		for i := 0; i < 2; i++ { // re-running the migrations is a no-op and keeps the data
			st2 := open(t, dsn)
			if n := count(t, st2, LogQuery{}); n != 3 {
				t.Fatalf("after reopening: %d rows, want 3", n)
			}
			if c, _ := st2.Cursor(ctx, "ingester"); c != "c1" {
				t.Fatalf("after reopening: cursor %q, want c1", c)
			}
			st2.Close()
		}
		// A crash after a migration's statements and before its version row (MySQL
		// commits DDL at once; a killed ingester or a lost connection) makes the
		// next Open run them again: every migration must accept its own result.
		st3 := open(t, dsn)
		if _, err := st3.(*sqlStore).w.ExecContext(ctx, `DELETE FROM schema_migrations`); err != nil {
			t.Fatal(err)
		}
		st3.Close()
		st4 := open(t, dsn)
		if n := count(t, st4, LogQuery{}); n != 3 {
			t.Fatalf("after re-running every migration: %d rows, want 3", n)
		}
		var versions, latest int
		if err := st4.(*sqlStore).w.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &latest); err != nil {
			t.Fatal(err)
		}
		if versions != len(migrations) || latest != SchemaVersion() {
			t.Fatalf("after re-running every migration: %d versions recorded, the latest %d; want %d and %d", versions, latest, len(migrations), SchemaVersion())
		}
	})

	// The ids Ingest reports are those of the stored rows, on the fast path (ids
	// worked out from the insert) and when it cannot be confirmed and the store
	// falls back to reading them back (forced on MySQL with a wrong increment).
	t.Run("IngestIDs", func(t *testing.T) {
		for _, step := range []int64{1, 2} {
			st := open(t, fresh(t))
			st.(*sqlStore).autoIncStep = step
			all := recs(fmt.Sprintf("ids%d", step), 2*defaultChunkRows+5)
			r1 := ingest(t, st, Batch{Records: all[:defaultChunkRows+3]})
			r2 := ingest(t, st, Batch{Records: all}) // the first part again: duplicates
			if len(r1.Inserted) != defaultChunkRows+3 || len(r2.Inserted) != len(all)-(defaultChunkRows+3) || r2.Duplicates != defaultChunkRows+3 {
				t.Fatalf("step %d: inserted %d then %d (%d duplicates)", step, len(r1.Inserted), len(r2.Inserted), r2.Duplicates)
			}
			rows := logs(t, st, LogQuery{Ascending: true, Limit: MaxLimit})
			want := append(append([]int64{}, r1.Inserted...), r2.Inserted...)
			if len(rows) != len(all) || len(want) != len(all) {
				t.Fatalf("step %d: %d rows, %d ids reported, want %d", step, len(rows), len(want), len(all))
			}
			for i, r := range rows {
				if r.ID != want[i] {
					t.Fatalf("step %d: row %d (%s) has id %d, Ingest reported %d", step, i, r.Event.ID, r.ID, want[i])
				}
				sameRecord(t, r, all[i])
			}
			st.Close()
		}
	})

	t.Run("IngestDedup", func(t *testing.T) {
		st := open(t, fresh(t))
		all := recs("d", 6)
		r1 := ingest(t, st, Batch{Records: all[:3]})
		if len(r1.Inserted) != 3 || r1.Duplicates != 0 {
			t.Fatalf("first batch: %+v", r1)
		}
		// all[2] again, all[3] twice within the batch, all[4] new.
		r2 := ingest(t, st, Batch{Records: []Record{all[2], all[3], all[3], all[4]}})
		if len(r2.Inserted) != 2 || r2.Duplicates != 2 {
			t.Fatalf("second batch: %+v, want 2 inserted and 2 duplicates", r2)
		}
		if want := []int64{0, r2.Inserted[0], 0, r2.Inserted[1]}; !slices.Equal(r2.IDs, want) {
			t.Fatalf("second batch: per-record ids %v, want %v", r2.IDs, want)
		}
		if !slices.Equal(r1.IDs, r1.Inserted) {
			t.Fatalf("first batch: per-record ids %v, want %v", r1.IDs, r1.Inserted)
		}
		if !(r1.Inserted[0] < r1.Inserted[1] && r1.Inserted[1] < r1.Inserted[2] && r1.Inserted[2] < r2.Inserted[0] && r2.Inserted[0] < r2.Inserted[1]) {
			t.Fatalf("ids are not increasing in batch order: %v then %v", r1.Inserted, r2.Inserted)
		}
		// Inserted ids belong to the right events.
		rows := logs(t, st, LogQuery{Ascending: true})
		if len(rows) != 5 {
			t.Fatalf("%d rows stored, want 5", len(rows))
		}
		wantIDs := append(append([]int64{}, r1.Inserted...), r2.Inserted...)
		wantEv := []Record{all[0], all[1], all[2], all[3], all[4]}
		for i, r := range rows {
			if r.ID != wantIDs[i] {
				t.Errorf("row %d has id %d, want %d", i, r.ID, wantIDs[i])
			}
			sameRecord(t, r, wantEv[i])
		}
		// A batch of only duplicates stores nothing.
		r3 := ingest(t, st, Batch{Records: all[:5]})
		if len(r3.Inserted) != 0 || r3.Duplicates != 5 {
			t.Fatalf("all-duplicate batch: %+v", r3)
		}
		// A large batch spanning several insert chunks, half duplicates.
		big := recs("big", 3*defaultChunkRows+17)
		ingest(t, st, Batch{Records: big[:len(big)/2]})
		rb := ingest(t, st, Batch{Records: big})
		if len(rb.Inserted) != len(big)-len(big)/2 || rb.Duplicates != len(big)/2 {
			t.Fatalf("big batch: %d inserted, %d duplicates; want %d and %d", len(rb.Inserted), rb.Duplicates, len(big)-len(big)/2, len(big)/2)
		}
		got := logs(t, st, LogQuery{AfterID: r2.Inserted[1], Ascending: true, Limit: MaxLimit})
		for i, r := range got {
			sameRecord(t, r, big[i])
		}
	})

	t.Run("Bounty", func(t *testing.T) {
		st := open(t, fresh(t))
		cred := func(user, key string) Bounty {
			return Bounty{Time: t0, Decky: "decky-1", Service: "ssh", AttackerIP: "10.0.0.9", Type: "credential",
				Payload: json.RawMessage(fmt.Sprintf(`{"username":%q,"password":"p\"]\n"}`, user)), DedupKey: key, EventID: "ev-" + user}
		}
		fp := Bounty{Time: t0.Add(time.Second), Decky: "decky-2", Service: "http", AttackerIP: "10.0.0.8", Type: "fingerprint",
			Payload: json.RawMessage(`{"ja3":"abc"}`), EventID: "ev-fp"} // derived dedup key
		r := ingest(t, st, Batch{Bounty: []Bounty{cred("root", "k1"), cred("root", "k1"), cred("admin", "k2"), fp}})
		if r.NewBounty != 3 {
			t.Fatalf("NewBounty = %d, want 3 (one in-batch duplicate)", r.NewBounty)
		}
		r = ingest(t, st, Batch{Bounty: []Bounty{cred("root", "k1"), fp, cred("guest", "k3")}})
		if r.NewBounty != 1 {
			t.Fatalf("NewBounty = %d, want 1 (two cross-batch duplicates)", r.NewBounty)
		}
		all, err := st.Bounty(ctx, BountyQuery{Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 4 {
			t.Fatalf("%d bounty rows, want 4", len(all))
		}
		if want := cred("root", "k1"); !reflect.DeepEqual(all[0].Bounty, want) {
			t.Errorf("bounty row 0 = %+v, want %+v", all[0].Bounty, want)
		}
		if all[2].DedupKey == "" || all[2].Type != "fingerprint" {
			t.Errorf("fingerprint bounty = %+v, want a derived dedup key", all[2])
		}
		for _, c := range []struct {
			q    BountyQuery
			want int
		}{
			{BountyQuery{Type: "credential"}, 3},
			{BountyQuery{Type: "fingerprint"}, 1},
			{BountyQuery{Decky: "decky-2"}, 1},
			{BountyQuery{Service: "ssh"}, 3},
			{BountyQuery{AttackerIP: "10.0.0.9"}, 3},
			{BountyQuery{EventID: "ev-admin"}, 1},
			{BountyQuery{AfterID: all[1].ID}, 2},
			{BountyQuery{BeforeID: all[1].ID}, 1},
			{BountyQuery{Limit: 2}, 2},
		} {
			got, err := st.Bounty(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.want {
				t.Errorf("Bounty(%+v) = %d rows, want %d", c.q, len(got), c.want)
			}
		}
		newest, _ := st.Bounty(ctx, BountyQuery{Limit: 1})
		if len(newest) != 1 || newest[0].ID != all[3].ID {
			t.Errorf("default order is not newest first: %+v", newest)
		}
	})

	t.Run("Cursor", func(t *testing.T) {
		st := open(t, fresh(t))
		if c, err := st.Cursor(ctx, "ingester"); err != nil || c != "" {
			t.Fatalf("unset cursor = %q, %v", c, err)
		}
		ingest(t, st, Batch{Records: recs("c", 2), CursorName: "ingester", Cursor: `{"seq":1,"offset":100}`})
		if c, _ := st.Cursor(ctx, "ingester"); c != `{"seq":1,"offset":100}` {
			t.Fatalf("cursor = %q", c)
		}
		ingest(t, st, Batch{CursorName: "ingester", Cursor: "second"}) // cursor-only batch
		if err := st.SetCursor(ctx, "collector", "x\x00\xff"); err != nil {
			t.Fatal(err)
		}
		if c, _ := st.Cursor(ctx, "ingester"); c != "second" {
			t.Fatalf("cursor = %q, want second", c)
		}
		if c, _ := st.Cursor(ctx, "collector"); c != "x\x00\xff" {
			t.Fatalf("binary cursor = %q", c)
		}
		if err := st.SetCursor(ctx, "", "v"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetCursor with no name: %v, want ErrInvalid", err)
		}
	})

	t.Run("BatchIsAtomic", func(t *testing.T) {
		st := open(t, fresh(t))
		ingest(t, st, Batch{Records: recs("a", 2), CursorName: "ingester", Cursor: "before"})
		boom := errors.New("injected failure")
		b := Batch{
			Records:    recs("b", 300),
			Bounty:     []Bounty{{Time: t0, Decky: "d", Service: "ssh", Type: "credential", Payload: json.RawMessage(`{}`), DedupKey: "kb"}},
			CursorName: "ingester", Cursor: "after",
		}
		for _, stage := range []string{"logs", "bounty", "cursor"} {
			st.(*sqlStore).failpoint = func(s string) error {
				if s == stage {
					return boom
				}
				return nil
			}
			if _, err := st.Ingest(ctx, b); !errors.Is(err, boom) {
				t.Fatalf("failing after %s: err = %v", stage, err)
			}
			if n := count(t, st, LogQuery{}); n != 2 {
				t.Fatalf("failing after %s left %d rows, want the 2 from before", stage, n)
			}
			if c, _ := st.Cursor(ctx, "ingester"); c != "before" {
				t.Fatalf("failing after %s moved the cursor to %q", stage, c)
			}
			if bo, _ := st.Bounty(ctx, BountyQuery{}); len(bo) != 0 {
				t.Fatalf("failing after %s left %d bounty rows", stage, len(bo))
			}
		}
		// A batch the database rejects part-way (a bounty payload the engine refuses
		// is caught before; here an invalid record) changes nothing either.
		st.(*sqlStore).failpoint = nil
		bad := b
		bad.Records = append(append([]Record{}, b.Records...), Record{Event: event.Event{ID: strings.Repeat("x", MaxEventIDLen+1), Time: t0}})
		if _, err := st.Ingest(ctx, bad); !errors.Is(err, ErrInvalid) || IsRetryable(err) {
			t.Fatalf("over-long event_id: err = %v, want a non-retryable ErrInvalid", err)
		}
		if n := count(t, st, LogQuery{}); n != 2 {
			t.Fatalf("rejected batch left %d rows", n)
		}
		// The same batch then commits whole.
		r := ingest(t, st, b)
		if len(r.Inserted) != 300 || r.NewBounty != 1 {
			t.Fatalf("retried batch: %d inserted, %d bounty", len(r.Inserted), r.NewBounty)
		}
		if c, _ := st.Cursor(ctx, "ingester"); c != "after" {
			t.Fatalf("cursor = %q, want after", c)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		st := open(t, fresh(t))
		all := recs("f", 60)
		all[7].Fields["path"] = "/admin/login.php?x=1"
		all[7].Msg = "GET /admin/login.php 100%_done"
		all[8].Fields["weird key.\"$[0]"] = "v"
		all[9].Fields["user_agent"] = `Mozilla "quoted" \ back`
		all[11].RawLine = "<134>1 2026-01-01T00:00:11Z relayhost-77 ssh - auth [relay@55555 user=\"x\"]" // not canonical: stored
		ingest(t, st, Batch{Records: all})
		match := func(pred func(r Record) bool) int64 {
			n := int64(0)
			for _, r := range all {
				if pred(r) {
					n++
				}
			}
			return n
		}
		cases := []struct {
			name string
			q    LogQuery
			pred func(r Record) bool
		}{
			{"all", LogQuery{}, func(Record) bool { return true }},
			{"decky", LogQuery{Decky: "decky-1"}, func(r Record) bool { return r.Decky == "decky-1" }},
			{"decky is exact", LogQuery{Decky: "DECKY-1"}, func(r Record) bool { return false }},
			{"decky no prefix match", LogQuery{Decky: "decky-"}, func(r Record) bool { return false }},
			{"service", LogQuery{Service: "http"}, func(r Record) bool { return r.Service == "http" }},
			{"event", LogQuery{EventType: event.Auth}, func(r Record) bool { return r.Type == event.Auth }},
			{"attacker", LogQuery{AttackerIP: "10.0.0.3"}, func(r Record) bool { return r.AttackerIP == "10.0.0.3" }},
			{"field", LogQuery{Fields: map[string]string{"username": "user1"}}, func(r Record) bool { return r.Fields["username"] == "user1" }},
			{"field is exact", LogQuery{Fields: map[string]string{"username": "USER1"}}, func(Record) bool { return false }},
			{"field trailing space", LogQuery{Fields: map[string]string{"username": "user1 "}}, func(Record) bool { return false }},
			{"two fields", LogQuery{Fields: map[string]string{"username": "user0", "n": "10"}}, func(r Record) bool { return r.ID == "f-0010" }},
			{"field quoted value", LogQuery{Fields: map[string]string{"user_agent": `Mozilla "quoted" \ back`}}, func(r Record) bool { return r.ID == "f-0009" }},
			{"field weird key", LogQuery{Fields: map[string]string{"weird key.\"$[0]": "v"}}, func(r Record) bool { return r.ID == "f-0008" }},
			{"field missing", LogQuery{Fields: map[string]string{"nope": "1"}}, func(Record) bool { return false }},
			{"text in msg", LogQuery{Text: []string{"number 1"}}, func(r Record) bool { return strings.Contains(r.Msg, "number 1") }},
			{"text is case-sensitive", LogQuery{Text: []string{"NUMBER"}}, func(Record) bool { return false }},
			{"text wildcard chars are literal", LogQuery{Text: []string{"100%_done"}}, func(r Record) bool { return r.ID == "f-0007" }},
			{"text percent alone", LogQuery{Text: []string{"%"}}, func(r Record) bool { return r.ID == "f-0007" }},
			{"text underscore", LogQuery{Text: []string{"0%_"}}, func(r Record) bool { return r.ID == "f-0007" }},
			{"text in field", LogQuery{Text: []string{"login.php?x=1"}}, func(r Record) bool { return r.ID == "f-0007" }},
			{"text with quote in field", LogQuery{Text: []string{`"quoted" \ b`}}, func(r Record) bool { return r.ID == "f-0009" }},
			{"text in a header value", LogQuery{Text: []string{"decky-2"}}, func(r Record) bool { return r.Decky == "decky-2" }},
			{"text in a stored raw line", LogQuery{Text: []string{"relayhost-77"}}, func(r Record) bool { return r.ID == "f-0011" }},
			{"text in event id", LogQuery{Text: []string{"f-0042"}}, func(r Record) bool { return r.ID == "f-0042" }},
			{"two terms", LogQuery{Text: []string{"message", "number 2"}}, func(r Record) bool { return strings.Contains(r.Msg, "number 2") }},
			{"since", LogQuery{Since: t0.Add(50 * time.Second)}, func(r Record) bool { return !r.Time.Before(t0.Add(50 * time.Second)) }},
			{"until", LogQuery{Until: t0.Add(10 * time.Second)}, func(r Record) bool { return r.Time.Before(t0.Add(10 * time.Second)) }},
			{"since and until", LogQuery{Since: t0.Add(5 * time.Second), Until: t0.Add(7 * time.Second)}, func(r Record) bool {
				return !r.Time.Before(t0.Add(5*time.Second)) && r.Time.Before(t0.Add(7*time.Second))
			}},
			{"combined", LogQuery{Decky: "decky-0", Service: "ssh", EventType: event.Auth, AttackerIP: "10.0.0.0", Fields: map[string]string{"username": "user0"}, Text: []string{"message"}},
				func(r Record) bool {
					return r.Decky == "decky-0" && r.Service == "ssh" && r.Type == event.Auth && r.AttackerIP == "10.0.0.0" && r.Fields["username"] == "user0"
				}},
		}
		for _, c := range cases {
			want := match(c.pred)
			c.q.Limit = MaxLimit
			if got := count(t, st, c.q); got != want {
				t.Errorf("%s: CountLogs = %d, want %d", c.name, got, want)
			}
			rows := logs(t, st, c.q)
			if int64(len(rows)) != want {
				t.Errorf("%s: Logs returned %d rows, want %d", c.name, len(rows), want)
			}
			for _, r := range rows {
				if !c.pred(r.Record) {
					t.Errorf("%s: row %s should not match", c.name, r.Event.ID)
				}
			}
			for _, asc := range []bool{false, true} {
				q := c.q
				q.Ascending, q.Limit = asc, 7
				sameAsLogs(t, st, q)
			}
		}
		if _, err := st.Logs(ctx, LogQuery{Text: []string{strings.Repeat("a", MaxTermLen+1)}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("over-long term: %v, want ErrInvalid", err)
		}
	})

	// Identifier filters match exactly the bytes stored, whatever they are: on
	// SQLite through logs_dims' tokens (migration 7), where a value must neither
	// match another that differs in case, punctuation or length, nor the same bytes
	// in another column.
	t.Run("IdentifierFilters", func(t *testing.T) {
		st := open(t, fresh(t))
		values := []string{"Decky-1", "decky-1", "decky-10", "decky", "a b", `x"y`, "ünï", "\xff\xfe", "a\x00b", "a", "ssh", "10.0.0.1", "10.0.0.10", "::1", "-", "d64", "AND", "NEAR(x)"}
		var all []Record
		for i := range 4 * len(values) {
			r := rec(fmt.Sprintf("id-%03d", i), i)
			v := values[i%len(values)]
			switch i / len(values) {
			case 0:
				r.Decky = v
			case 1:
				r.Service = v
			case 2:
				r.Type = v
			case 3:
				r.AttackerIP = v
			}
			if i%7 == 0 {
				r.AttackerIP = ""
			}
			all = append(all, r)
		}
		// Each event's bounty carries its identifiers, its type the event type's.
		var bounty []Bounty
		for _, r := range all {
			bounty = append(bounty, Bounty{Time: r.Time, Decky: r.Decky, Service: r.Service, AttackerIP: r.AttackerIP, Type: r.Type,
				Payload: json.RawMessage(`{}`), DedupKey: r.ID, EventID: r.ID})
		}
		ingest(t, st, Batch{Records: all, Bounty: bounty})
		for _, v := range append(values, "", "A", "decky-", "Decky-1 ", "ff") {
			for dim := range 4 {
				bq := [4]BountyQuery{{Decky: v}, {Service: v}, {Type: v}, {AttackerIP: v}}[dim]
				bq.Limit, bq.Ascending = MaxLimit, true
				var wantB []string
				for _, b := range bounty {
					if [4]string{b.Decky, b.Service, b.Type, b.AttackerIP}[dim] == v || v == "" {
						wantB = append(wantB, b.EventID)
					}
				}
				rows, err := st.Bounty(ctx, bq)
				if err != nil {
					t.Fatal(err)
				}
				var gotB []string
				for _, r := range rows {
					gotB = append(gotB, r.EventID)
				}
				if !slices.Equal(gotB, wantB) {
					t.Errorf("%+q in bounty column %d: Bounty = %v, want %v", v, dim, gotB, wantB)
				}
				q := [4]LogQuery{{Decky: v}, {Service: v}, {EventType: v}, {AttackerIP: v}}[dim]
				var want []string
				for _, r := range all {
					if [4]string{r.Decky, r.Service, r.Type, r.AttackerIP}[dim] == v || v == "" {
						want = append(want, r.ID)
					}
				}
				q.Limit, q.Ascending = MaxLimit, true
				var got []string
				for _, r := range logs(t, st, q) {
					got = append(got, r.Event.ID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%+q in column %d: Logs = %v, want %v", v, dim, got, want)
				}
				if n := count(t, st, q); n != int64(len(want)) {
					t.Errorf("%+q in column %d: CountLogs = %d, want %d", v, dim, n, len(want))
				}
				buckets, err := st.Histogram(ctx, q, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				for _, b := range buckets {
					n += b.Count
				}
				if n != int64(len(want)) {
					t.Errorf("%+q in column %d: the histogram counts %d, want %d", v, dim, n, len(want))
				}
				q.Limit = 3
				sameAsLogs(t, st, q)
			}
		}
		// Two identifiers together, and with the other filters.
		q := LogQuery{Decky: "decky-1", AttackerIP: "10.0.0.0", Limit: MaxLimit}
		var want []string
		for _, r := range all {
			if r.Decky == q.Decky && r.AttackerIP == q.AttackerIP {
				want = append([]string{r.ID}, want...)
			}
		}
		var got []string
		for _, r := range logs(t, st, q) {
			got = append(got, r.Event.ID)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("decky and attacker: Logs = %v, want %v (not none)", got, want)
		}
		q.BeforeID = logs(t, st, q)[0].ID
		q.Fields = map[string]string{"username": all[0].Fields["username"]}
		sameAsLogs(t, st, q)
		// A type and an attacker (an attacker's credentials), newest first, a page
		// at a time.
		pairs := map[[2]string]int{}
		top := [2]string{}
		for _, b := range bounty {
			p := [2]string{b.Type, b.AttackerIP}
			if pairs[p]++; p[1] != "" && (pairs[p] > pairs[top] || pairs[p] == pairs[top] && p[0]+p[1] < top[0]+top[1]) {
				top = p
			}
		}
		var wantB []string
		for _, b := range bounty {
			if b.Type == top[0] && b.AttackerIP == top[1] {
				wantB = append([]string{b.EventID}, wantB...)
			}
		}
		var gotB []string
		for bq := (BountyQuery{Type: top[0], AttackerIP: top[1], Limit: 1}); ; {
			rows, err := st.Bounty(ctx, bq)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			for _, r := range rows {
				gotB = append(gotB, r.EventID)
			}
			bq.BeforeID = rows[len(rows)-1].ID
		}
		if len(wantB) < 2 || !slices.Equal(gotB, wantB) {
			t.Errorf("type and attacker, by pages: Bounty = %v, want %v (2 or more)", gotB, wantB)
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		st := open(t, fresh(t))
		res := ingest(t, st, Batch{Records: recs("p", 25)})
		ids := res.Inserted
		page := logs(t, st, LogQuery{Limit: 10})
		if len(page) != 10 || page[0].ID != ids[24] || page[9].ID != ids[15] {
			t.Fatalf("first page (newest first) wrong: %d rows", len(page))
		}
		page2 := logs(t, st, LogQuery{Limit: 10, BeforeID: page[9].ID})
		if len(page2) != 10 || page2[0].ID != ids[14] {
			t.Fatalf("second page wrong")
		}
		asc := logs(t, st, LogQuery{Limit: 5, AfterID: ids[19], Ascending: true})
		if len(asc) != 5 || asc[0].ID != ids[20] || asc[4].ID != ids[24] {
			t.Fatalf("follow page wrong")
		}
		if got := logs(t, st, LogQuery{AfterID: ids[24]}); len(got) != 0 {
			t.Fatalf("nothing after the newest, got %d", len(got))
		}
		if got := logs(t, st, LogQuery{AfterID: ids[2], BeforeID: ids[6]}); len(got) != 3 {
			t.Fatalf("window: %d rows, want 3", len(got))
		}
		if got := count(t, st, LogQuery{AfterID: ids[2], Limit: 1}); got != 22 {
			t.Fatalf("count ignores Limit: got %d, want 22", got)
		}
		if got := logs(t, st, LogQuery{}); len(got) != 25 {
			t.Fatalf("default limit: %d", len(got))
		}
		many := recs("q", DefaultLimit+5)
		ingest(t, st, Batch{Records: many})
		if got := logs(t, st, LogQuery{}); len(got) != DefaultLimit {
			t.Fatalf("default limit gave %d rows, want %d", len(got), DefaultLimit)
		}
		for _, q := range []LogQuery{{}, {Limit: 10, BeforeID: ids[20]}, {Limit: 5, AfterID: ids[19], Ascending: true},
			{AfterID: ids[2], BeforeID: ids[6]}, {AfterID: 1 << 40}, {Limit: MaxLimit}} {
			sameAsLogs(t, st, q)
		}
	})

	t.Run("LogsByID", func(t *testing.T) {
		st := open(t, fresh(t))
		all := recs("b", 1300) // more than one statement's worth of ids (byIDChunk)
		ids := ingest(t, st, Batch{Records: all}).IDs
		// Any order, repeats and ids never stored.
		ask := []int64{ids[5], 1 << 50, ids[1299], ids[5], 0, -3}
		for i := len(ids) - 1; i >= 0; i -= 2 {
			ask = append(ask, ids[i])
		}
		got, err := st.LogsByID(ctx, ask)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, id := range ask {
			if id > 0 && id < 1<<50 {
				want = append(want, id)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("LogsByID returned %d rows, want %d", len(got), len(want))
		}
		at := make(map[int64]int, len(ids))
		for i, id := range ids {
			at[id] = i
		}
		for i, r := range got {
			if r.ID != want[i] {
				t.Fatalf("row %d has id %d, want %d (the order asked)", i, r.ID, want[i])
			}
			sameRecord(t, r, all[at[r.ID]])
		}
		// Every second id of a run: read as one range, the others skipped.
		var every2 []int64
		for i := 300; i > 100; i -= 2 {
			every2 = append(every2, ids[i])
		}
		got, err = st.LogsByID(ctx, every2)
		if err != nil || len(got) != len(every2) {
			t.Fatalf("every second id: %d rows, %v", len(got), err)
		}
		for i, r := range got {
			if r.ID != every2[i] {
				t.Fatalf("every second id: row %d has id %d, want %d", i, r.ID, every2[i])
			}
		}
		if got, err := st.LogsByID(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("LogsByID(nil) = %d rows, %v", len(got), err)
		}
	})

	t.Run("HostileCorpus", func(t *testing.T) {
		st := open(t, fresh(t))
		mib := strings.Repeat("A]\"\\\n\x1b[31m", (1<<20)/10+1)
		binary := string(bytes.Repeat([]byte{0xff, 0x00, 0xc3, 0x28, 0x80}, (512<<10)/5))
		hostile := []string{
			`]`, `"`, `\`, `\]`, `"]`, "line1\nline2\r\n", "\x1b[2J\x1b[31mred\x1b[0m", "\xff\xfe\xfd",
			"ok\xc3(", "\x00nul\x00", "\u2028\u2029", "tab\tend", "<script>&amp;</script>", BinaryMarker,
			BinaryMarker + "AAAA", "\uFFFD", "💀 emoji", "'; DROP TABLE logs; --", "%_%", "$.a[0]", "",
			strings.Repeat("x", 70000), mib, binary,
		}
		var all []Record
		for i, v := range hostile {
			e := event.Event{
				ID: fmt.Sprintf("h-%02d", i), Time: t0.Add(time.Duration(i) * time.Microsecond),
				Decky: "decky-h", Service: "http", Type: event.Request, AttackerIP: "192.0.2.1", AttackerPort: 1,
				Fields: map[string]string{"v": v, "k" + fmt.Sprint(i): "x"},
				Msg:    v,
			}
			line, err := event.Format(e)
			if err != nil {
				t.Fatalf("format hostile %d: %v", i, err)
			}
			all = append(all, Record{Event: e, RawLine: string(line)})
		}
		// A 1 MiB binary value (too big for one wire line once escaped, but the
		// store takes it) and keys that are not text or look like JSON paths.
		binMiB := string(bytes.Repeat([]byte{0x80, 0xff, 0x00, 0x1b, 'x'}, (1<<20)/5+1))
		all = append(all, Record{Event: event.Event{ID: "h-binmib", Time: t0, Decky: "d", Service: "s", Type: "t",
			Fields: map[string]string{"v": binMiB}, Msg: binMiB}, RawLine: binMiB})
		all = append(all, Record{Event: event.Event{ID: "h-keys", Time: t0, Decky: "d", Service: "s", Type: "t",
			Fields: map[string]string{"\xff\x00key": "a", BinaryMarker: "b", `a"b`: "c", "a.b": "d", "$": "e", "": "f", "ctl\x01\t": "g", `back\slash`: "h", "\u2028": "i"}}, RawLine: "raw"})
		ingest(t, st, Batch{Records: all})
		rows := logs(t, st, LogQuery{Ascending: true, Limit: MaxLimit})
		if len(rows) != len(all) {
			t.Fatalf("%d rows stored, want %d", len(rows), len(all))
		}
		for i, r := range rows {
			sameRecord(t, r, all[i])
		}
		for i, v := range hostile {
			if v == "" {
				continue
			}
			n := count(t, st, LogQuery{Fields: map[string]string{"v": v}})
			if n != 1 {
				t.Errorf("field filter on hostile value %d found %d rows, want 1", i, n)
			}
			if len(v) <= MaxTermLen {
				if n := count(t, st, LogQuery{Text: []string{v}}); n < 1 {
					t.Errorf("free text on hostile value %d (%q) found nothing", i, v)
				}
			}
		}
		if n := count(t, st, LogQuery{Fields: map[string]string{"v": binMiB}}); n != 1 {
			t.Errorf("field filter on the 1 MiB binary value found %d rows, want 1", n)
		}
		for k, v := range all[len(all)-1].Fields {
			if n := count(t, st, LogQuery{Fields: map[string]string{k: v}}); n != 1 {
				t.Errorf("field filter on key %q found %d rows, want 1", k, n)
			}
		}
		// The parsed raw line still reproduces the event.
		for i, r := range rows[:len(hostile)] {
			e, err := event.Parse([]byte(r.RawLine))
			if err != nil {
				t.Fatalf("stored raw line %d does not parse: %v", i, err)
			}
			if e.Fields["v"] != hostile[i] || e.Msg != hostile[i] {
				t.Errorf("raw line %d does not round-trip", i)
			}
		}
	})

	// Records encoded beforehand (Batch.Encoded, as the ingester's reader does) are
	// stored exactly as those Ingest encodes itself; Encode refuses what Ingest does.
	t.Run("Encoded", func(t *testing.T) {
		st := open(t, fresh(t))
		all := recs("enc", 20)
		all[3].RawLine = "a line a relay rewrote"
		all[5].Fields["v"] = "\xff\x00\x1b[31m"
		all[5].Msg = "\xc3("
		var en Encoder
		enc := make([]Encoded, len(all))
		for i := range all {
			var err error
			if enc[i], err = en.Encode(&all[i]); err != nil {
				t.Fatalf("Encode %d: %v", i, err)
			}
		}
		ingest(t, st, Batch{Records: all[:10], Encoded: enc[:10]})
		ingest(t, st, Batch{Records: all[10:], Encoded: enc[:3]}) // not one per record: ignored
		rows := logs(t, st, LogQuery{Ascending: true, Limit: MaxLimit})
		if len(rows) != len(all) {
			t.Fatalf("%d rows stored, want %d", len(rows), len(all))
		}
		for i, r := range rows {
			sameRecord(t, r, all[i])
		}
		big := rec("enc-big", 0)
		big.Msg = strings.Repeat("m", MaxRecordBytes)
		for i, r := range []Record{{Event: event.Event{Time: t0}}, {Event: event.Event{ID: "x", Time: t0, AttackerPort: 70000}}, big} {
			if _, err := en.Encode(&r); !errors.Is(err, ErrInvalid) {
				t.Errorf("Encode of bad record %d: %v, want ErrInvalid", i, err)
			}
		}
	})

	t.Run("TimePrecision", func(t *testing.T) {
		st := open(t, fresh(t))
		times := []time.Time{
			time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC),
			time.Date(2026, 1, 1, 0, 0, 0, 2000, time.UTC),
			time.Date(2026, 1, 1, 0, 0, 0, 2999, time.UTC), // sub-µs digits are dropped
			time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
			time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.FixedZone("x", 3600)),
		}
		var b []Record
		for i, tm := range times {
			r := rec(fmt.Sprintf("t-%d", i), i)
			r.Time = tm
			b = append(b, r)
		}
		ingest(t, st, Batch{Records: b})
		rows := logs(t, st, LogQuery{Ascending: true})
		for i, r := range rows {
			want := times[i].Truncate(time.Microsecond).UTC()
			if times[i].Year() < 1970 {
				want = time.UnixMicro(times[i].UnixMicro()).UTC()
			}
			if !r.Time.Equal(want) || r.Time.Location() != time.UTC {
				t.Errorf("time %d: stored %s, want %s", i, r.Time.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
		}
		at := times[1]
		if n := count(t, st, LogQuery{Since: at, Until: at.Add(time.Microsecond)}); n != 2 {
			t.Errorf("one-µs window holds %d events, want 2 (…002000 and …002999)", n)
		}
		if n := count(t, st, LogQuery{Since: times[0], Until: at}); n != 1 {
			t.Errorf("Until is exclusive: %d events, want 1", n)
		}
	})

	t.Run("ConcurrentReadersWhileWriting", func(t *testing.T) {
		st := open(t, fresh(t))
		const batches, per = 40, 50
		var done atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				last := int64(0)
				for !done.Load() {
					n, err := st.CountLogs(ctx, LogQuery{})
					if err != nil {
						errs <- fmt.Errorf("reader: %w", err)
						return
					}
					if n < last || n%per != 0 {
						errs <- fmt.Errorf("reader saw %d rows after %d: a batch was visible partly or went backwards", n, last)
						return
					}
					last = n
					if _, err := st.Logs(ctx, LogQuery{Service: "ssh", Limit: 20}); err != nil {
						errs <- fmt.Errorf("reader: %w", err)
						return
					}
				}
			}()
		}
		for i := 0; i < batches; i++ {
			ingest(t, st, Batch{Records: recs(fmt.Sprintf("w%d", i), per), CursorName: "ingester", Cursor: fmt.Sprint(i)})
		}
		done.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, st, LogQuery{}); n != batches*per {
			t.Fatalf("%d rows, want %d", n, batches*per)
		}
	})

	t.Run("InvalidInput", func(t *testing.T) {
		st := open(t, fresh(t))
		bad := []Batch{
			{Records: []Record{{Event: event.Event{Time: t0}}}},
			{Records: []Record{{Event: event.Event{ID: "x"}}}},
			{Records: []Record{{Event: event.Event{ID: "x", Time: t0, AttackerIP: strings.Repeat("1", MaxIPLen+1)}}}},
			{Records: []Record{{Event: event.Event{ID: "x", Time: t0, AttackerPort: 70000}}}},
			{Records: []Record{{Event: event.Event{ID: "x", Time: t0, Decky: strings.Repeat("d", MaxNameLen+1)}}}},
			{Bounty: []Bounty{{Time: t0, Type: "credential", Payload: json.RawMessage(`{not json`)}}},
			{Bounty: []Bounty{{Time: t0, Type: "credential", Payload: json.RawMessage("{\"a\":\"\xff\"}")}}},
			{Bounty: []Bounty{{Time: t0, Payload: json.RawMessage(`{}`)}}},
			{CursorName: strings.Repeat("c", MaxCursorName+1)},
		}
		for i, b := range bad {
			if _, err := st.Ingest(ctx, b); !errors.Is(err, ErrInvalid) || IsRetryable(err) {
				t.Errorf("bad batch %d: err = %v, want a non-retryable ErrInvalid", i, err)
			}
		}
		if n := count(t, st, LogQuery{}); n != 0 {
			t.Fatalf("invalid batches stored %d rows", n)
		}
	})
}
