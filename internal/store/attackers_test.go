package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"decnet/internal/store/storetest"
)

func TestSQLiteAttackers(t *testing.T) { runAttackerSuite(t, storetest.SQLiteDSN) }

func TestMySQLAttackers(t *testing.T) { runAttackerSuite(t, storetest.MySQLDSN) }

func attacker(i int, deckies ...string) Attacker {
	first := t0.Add(time.Duration(i) * time.Minute)
	a := Attacker{
		UUID:          fmt.Sprintf("00000000-0000-7000-8000-%012d", i),
		IP:            fmt.Sprintf("10.1.0.%d", i),
		FirstSeen:     first,
		LastSeen:      first.Add(time.Duration(10*i+1) * time.Second),
		EventCount:    int64(100 - i),
		Deckies:       deckies,
		Services:      []string{"ssh"},
		IsTraversal:   len(deckies) >= 2,
		AnalysisState: json.RawMessage(fmt.Sprintf(`{"v":1,"n":%d}`, i)),
	}
	for j, d := range deckies {
		if j > 0 {
			a.TraversalPath += " -> "
		}
		a.TraversalPath += d
	}
	return a
}

func runAttackerSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()

	t.Run("SaveAndRead", func(t *testing.T) {
		st := open(t, fresh(t))
		hostile := "echo \"]\\\n\x1b[31m💀 'x'; DROP TABLE attackers; --"
		a := attacker(1, "decky-01", "decky-02", "décky-ü")
		a.Services = []string{"ssh", "http"}
		a.Fingerprints = []AttackerFingerprint{{Kind: "hassh", Value: "abc", Service: "ssh", Decky: "decky-01", FirstSeen: t0, LastSeen: t0.Add(time.Second), Count: 3}}
		a.Commands = []AttackerCommand{{Time: t0, Decky: "decky-01", Service: "ssh", Command: hostile, Username: "root"}}
		a.CommandCount = 7
		a.CredentialCount = 2
		a.Credentials = []AttackerCredential{{Time: t0, Decky: "decky-01", Service: "ssh", Username: "root", Secret: `p"]\n`, SecretKind: "plaintext", Outcome: "failure"}}
		b := Behavior{AttackerUUID: a.UUID, OSGuess: "Linux", OSConfidence: 0.8, BehaviorClass: "lateral_mover",
			ToolGuesses: []ToolGuess{{Tool: "hydra", Confidence: 0.9, Evidence: []string{"client_version SSH-2.0-libssh_0.10.6"}}},
			Timing:      TimingStats{Events: 10, Intervals: 9, MeanS: 1.5, MedianS: 1, StdevS: 0.5, CV: 0.33, Bursts: 2, LongestBurst: 4},
			Phases:      []Phase{{Name: "recon", First: t0, Last: t0.Add(time.Minute), Events: 5}},
			Evidence:    []string{"3 deckies touched"}}
		if err := st.SaveAnalysis(ctx, AnalysisBatch{Attackers: []Attacker{a}, Behaviors: []Behavior{b}, CursorName: "analysis", Cursor: "42"}); err != nil {
			t.Fatal(err)
		}
		if c, _ := st.Cursor(ctx, "analysis"); c != "42" {
			t.Fatalf("cursor = %q, want 42", c)
		}
		for _, key := range []string{a.IP, a.UUID} {
			got, err := st.Attacker(ctx, key)
			if err != nil || got == nil {
				t.Fatalf("Attacker(%q) = %v, %v", key, got, err)
			}
			want := a
			want.BehaviorClass, want.OSGuess = "lateral_mover", "Linux"
			want.UpdatedAt = got.UpdatedAt
			want.FirstSeen, want.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
			if !reflect.DeepEqual(*got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("Attacker(%q):\n got %s\nwant %s", key, g, w)
			}
		}
		if got, err := st.Attacker(ctx, "10.9.9.9"); got != nil || err != nil {
			t.Fatalf("unknown attacker = %v, %v; want nil, nil", got, err)
		}
		gb, err := st.Behavior(ctx, a.UUID)
		if err != nil || gb == nil {
			t.Fatalf("Behavior = %v, %v", gb, err)
		}
		b.UpdatedAt = gb.UpdatedAt
		if !reflect.DeepEqual(*gb, b) {
			t.Fatalf("Behavior:\n got %+v\nwant %+v", *gb, b)
		}
		if gb, err := st.Behavior(ctx, "nope"); gb != nil || err != nil {
			t.Fatalf("unknown behavior = %v, %v", gb, err)
		}
		list, err := st.Attackers(ctx, AttackerQuery{})
		if err != nil || len(list) != 1 || list[0].AnalysisState != nil || list[0].Commands[0].Command != hostile {
			t.Fatalf("Attackers = %+v, %v", list, err)
		}
	})

	t.Run("UpsertKeepsUUID", func(t *testing.T) {
		st := open(t, fresh(t))
		a := attacker(2, "decky-01")
		if err := st.SaveAnalysis(ctx, AnalysisBatch{Attackers: []Attacker{a}}); err != nil {
			t.Fatal(err)
		}
		a.EventCount = 500
		a.Deckies = append(a.Deckies, "decky-09")
		a.IsTraversal, a.TraversalPath = true, "decky-01 -> decky-09"
		a.LastSeen = a.LastSeen.Add(time.Hour)
		if err := st.SaveAnalysis(ctx, AnalysisBatch{Attackers: []Attacker{a}}); err != nil {
			t.Fatal(err)
		}
		got, _ := st.Attacker(ctx, a.IP)
		if got.EventCount != 500 || got.TraversalPath != "decky-01 -> decky-09" || !got.LastSeen.Equal(a.LastSeen) {
			t.Fatalf("after update: %+v", got)
		}
		if l, _ := st.Attackers(ctx, AttackerQuery{Decky: "decky-09"}); len(l) != 1 {
			t.Fatalf("decky filter after update: %d rows", len(l))
		}
		// Another UUID for the same IP is refused, and the whole batch with it.
		other := attacker(3)
		bad := a
		bad.UUID = "ffffffff-0000-7000-8000-000000000000"
		err := st.SaveAnalysis(ctx, AnalysisBatch{Attackers: []Attacker{other, bad}, CursorName: "analysis", Cursor: "x"})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("uuid mismatch: err = %v, want ErrInvalid", err)
		}
		if got, _ := st.Attacker(ctx, other.IP); got != nil {
			t.Fatalf("a refused batch stored attacker %s", other.IP)
		}
		if c, _ := st.Cursor(ctx, "analysis"); c != "" {
			t.Fatalf("a refused batch moved the cursor to %q", c)
		}
	})

	t.Run("Atomic", func(t *testing.T) {
		st := open(t, fresh(t))
		boom := errors.New("injected failure")
		a := attacker(4, "decky-01")
		batch := AnalysisBatch{Attackers: []Attacker{a}, Behaviors: []Behavior{{AttackerUUID: a.UUID, BehaviorClass: "scanner"}}, CursorName: "analysis", Cursor: "9"}
		for _, stage := range []string{"attackers", "behavior", "analysis-cursor"} {
			st.(*sqlStore).failpoint = func(s string) error {
				if s == stage {
					return boom
				}
				return nil
			}
			if err := st.SaveAnalysis(ctx, batch); !errors.Is(err, boom) {
				t.Fatalf("failing after %s: %v", stage, err)
			}
			if got, _ := st.Attacker(ctx, a.IP); got != nil {
				t.Fatalf("failing after %s left the attacker", stage)
			}
			if b, _ := st.Behavior(ctx, a.UUID); b != nil {
				t.Fatalf("failing after %s left the behavior", stage)
			}
			if c, _ := st.Cursor(ctx, "analysis"); c != "" {
				t.Fatalf("failing after %s moved the cursor", stage)
			}
			if l, _ := st.Attackers(ctx, AttackerQuery{Decky: "decky-01"}); len(l) != 0 {
				t.Fatalf("failing after %s left decky tags", stage)
			}
		}
		st.(*sqlStore).failpoint = nil
		if err := st.SaveAnalysis(ctx, batch); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("QueryFiltersAndSort", func(t *testing.T) {
		st := open(t, fresh(t))
		var as []Attacker
		var bs []Behavior
		for i := 1; i <= 6; i++ {
			deckies := []string{"decky-01"}
			for j := 2; j <= i%4+1; j++ {
				deckies = append(deckies, fmt.Sprintf("decky-%02d", j))
			}
			a := attacker(i, deckies...)
			if i%2 == 0 {
				a.Services = []string{"http", "ssh"}
			}
			as = append(as, a)
			class := "scanner"
			if i%3 == 0 {
				class = "brute_forcer"
			}
			if i != 6 { // attacker 6 has no profile yet
				bs = append(bs, Behavior{AttackerUUID: a.UUID, BehaviorClass: class})
			}
		}
		if err := st.SaveAnalysis(ctx, AnalysisBatch{Attackers: as, Behaviors: bs}); err != nil {
			t.Fatal(err)
		}
		ips := func(l []Attacker) []string {
			var out []string
			for _, a := range l {
				out = append(out, a.IP)
			}
			return out
		}
		cases := []struct {
			q    AttackerQuery
			want []string
		}{
			{AttackerQuery{}, []string{"10.1.0.6", "10.1.0.5", "10.1.0.4", "10.1.0.3", "10.1.0.2", "10.1.0.1"}},
			{AttackerQuery{Ascending: true, Limit: 2}, []string{"10.1.0.1", "10.1.0.2"}},
			{AttackerQuery{Limit: 2, Offset: 2}, []string{"10.1.0.4", "10.1.0.3"}},
			{AttackerQuery{Sort: SortEvents, Limit: 1}, []string{"10.1.0.1"}},
			{AttackerQuery{Sort: SortFirstSeen, Ascending: true, Limit: 1}, []string{"10.1.0.1"}},
			{AttackerQuery{Sort: SortDeckies, Limit: 2}, []string{"10.1.0.3", "10.1.0.6"}},
			{AttackerQuery{IP: "10.1.0.3"}, []string{"10.1.0.3"}},
			{AttackerQuery{Decky: "decky-03"}, []string{"10.1.0.6", "10.1.0.3", "10.1.0.2"}},
			{AttackerQuery{Decky: "DECKY-03"}, nil},
			{AttackerQuery{Service: "http"}, []string{"10.1.0.6", "10.1.0.4", "10.1.0.2"}},
			{AttackerQuery{TraversalOnly: true}, []string{"10.1.0.6", "10.1.0.5", "10.1.0.3", "10.1.0.2", "10.1.0.1"}},
			{AttackerQuery{BehaviorClass: "brute_forcer"}, []string{"10.1.0.3"}},
			{AttackerQuery{BehaviorClass: "scanner", Service: "http"}, []string{"10.1.0.4", "10.1.0.2"}},
			{AttackerQuery{Since: as[4].LastSeen}, []string{"10.1.0.6", "10.1.0.5"}},
		}
		for _, c := range cases {
			got, err := st.Attackers(ctx, c.q)
			if err != nil {
				t.Fatalf("Attackers(%+v): %v", c.q, err)
			}
			if !reflect.DeepEqual(ips(got), c.want) {
				t.Errorf("Attackers(%+v) = %v, want %v", c.q, ips(got), c.want)
			}
			n, err := st.CountAttackers(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if c.q.Limit == 0 && c.q.Offset == 0 && n != int64(len(c.want)) {
				t.Errorf("CountAttackers(%+v) = %d, want %d", c.q, n, len(c.want))
			}
		}
		if l, _ := st.Attackers(ctx, AttackerQuery{IP: "10.1.0.6"}); len(l) != 1 || l[0].BehaviorClass != "" {
			t.Errorf("an attacker without a profile: %+v", l)
		}
		if _, err := st.Attackers(ctx, AttackerQuery{Sort: "ip; DROP TABLE attackers"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown sort: %v, want ErrInvalid", err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		st := open(t, fresh(t))
		mk := func(f func(a *Attacker)) AnalysisBatch {
			a := attacker(5, "decky-01")
			f(&a)
			return AnalysisBatch{Attackers: []Attacker{a}}
		}
		bad := []AnalysisBatch{
			mk(func(a *Attacker) { a.IP = "" }),
			mk(func(a *Attacker) { a.UUID = "" }),
			mk(func(a *Attacker) { a.FirstSeen = time.Time{} }),
			mk(func(a *Attacker) { a.TraversalPath = "bad \xff" }),
			mk(func(a *Attacker) { a.Deckies = []string{"ok", "\xfe"} }),
			mk(func(a *Attacker) { a.Deckies = []string{""} }),
			mk(func(a *Attacker) { a.AnalysisState = json.RawMessage(`{nope`) }),
			{Behaviors: []Behavior{{AttackerUUID: ""}}},
			{Behaviors: []Behavior{{AttackerUUID: "x", BehaviorClass: "\xff"}}},
		}
		for i, b := range bad {
			if err := st.SaveAnalysis(ctx, b); !errors.Is(err, ErrInvalid) || IsRetryable(err) {
				t.Errorf("bad batch %d: %v, want a non-retryable ErrInvalid", i, err)
			}
		}
		if n, _ := st.CountAttackers(ctx, AttackerQuery{}); n != 0 {
			t.Fatalf("invalid batches stored %d attackers", n)
		}
	})
}

// A database created by a binary that knew only migration 1 is upgraded in place.
func TestAttackersMigrationFromV1(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	st := open(t, dsn)
	ingest(t, st, Batch{Records: recs("v1", 3), CursorName: "ingester", Cursor: "c"})
	w := st.(*sqlStore).w
	for _, q := range []string{"DROP TABLE attackers", "DROP TABLE attacker_behavior", "DROP TABLE attacker_tags", "DELETE FROM schema_migrations WHERE version >= 2"} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st2 := open(t, dsn)
	if n := count(t, st2, LogQuery{}); n != 3 {
		t.Fatalf("after the upgrade: %d events, want 3", n)
	}
	if err := st2.SaveAnalysis(context.Background(), AnalysisBatch{Attackers: []Attacker{attacker(1, "d")}}); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
}
