package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/store/storetest"
)

func TestSQLiteStats(t *testing.T) { runStatsSuite(t, storetest.SQLiteDSN) }

func TestMySQLStats(t *testing.T) { runStatsSuite(t, storetest.MySQLDSN) }

func cred(i int, ip, user, pass string) Bounty {
	p, _ := json.Marshal(map[string]string{"username": user, "password": pass, "service": "ssh"})
	return Bounty{Time: t0.Add(time.Duration(i) * time.Second), Decky: "decky-0", Service: "ssh", AttackerIP: ip,
		Type: "credential", Payload: p, DedupKey: fmt.Sprintf("cred-%d", i), EventID: fmt.Sprintf("e-%04d", i)}
}

func runStatsSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()
	st := open(t, fresh(t))
	// 30 events: services ssh/http/ftp by i%3, deckies decky-0..2 by i%3, attackers 10.0.0.0-4 by i%5.
	b := Batch{Records: recs("s", 30)}
	hostile := `<script>alert(1)</script>"'`
	b.Bounty = []Bounty{
		cred(0, "10.0.0.1", "root", "toor"), cred(1, "10.0.0.2", "root", "toor"), cred(2, "10.0.0.3", "root", "123456"),
		cred(3, "10.0.0.1", "admin", "admin"), cred(4, "10.0.0.1", hostile, "x\u001b[31m"),
		cred(5, "10.0.0.2", "root ", "toor"), cred(6, "10.0.0.2", "root\x00x", "toor"),
		{Time: t0, Decky: "decky-1", Service: "http", AttackerIP: "10.0.0.4", Type: "fingerprint", Payload: json.RawMessage(`{"kind":"ja3","value":"abc"}`), DedupKey: "fp-1"},
	}
	ingest(t, st, b)
	s, err := st.Stats(ctx, StatsQuery{Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 30 || s.Credentials != 7 || s.Fingerprints != 1 || s.Artifacts != 0 || s.Attackers != 0 {
		t.Errorf("totals = %+v", s)
	}
	if want := []Count{{"ftp", 10}, {"http", 10}, {"ssh", 10}}; !reflect.DeepEqual(s.ByService, want) {
		t.Errorf("ByService = %v, want %v", s.ByService, want)
	}
	if len(s.ByDecky) != 3 || len(s.ByEventType) != 3 {
		t.Errorf("ByDecky = %v, ByEventType = %v (Top 3)", s.ByDecky, s.ByEventType)
	}
	if want := []Count{{"10.0.0.0", 6}, {"10.0.0.1", 6}, {"10.0.0.2", 6}}; !reflect.DeepEqual(s.TopSources, want) {
		t.Errorf("TopSources = %v, want %v", s.TopSources, want)
	}
	if want := []Count{{"root", 3}, {hostile, 1}, {"admin", 1}}; !reflect.DeepEqual(s.TopUsernames, want) {
		// ties break by username, byte order: '<' (0x3c) sorts before 'a'
		t.Errorf("TopUsernames = %+v, want %+v", s.TopUsernames, want)
	}
	if len(s.TopCredentials) != 3 || s.TopCredentials[0] != (CredentialCount{"root", "toor", 2}) {
		t.Errorf("TopCredentials = %+v", s.TopCredentials)
	}
	// Usernames are compared byte for byte on both engines: "root " is not "root"
	// (MariaDB's PAD SPACE text comparison would merge them), and "root\x00x"
	// sorts before "root ".
	s, err = st.Stats(ctx, StatsQuery{Top: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Count{{"root", 3}, {hostile, 1}, {"admin", 1}, {"root\x00x", 1}, {"root ", 1}}; !reflect.DeepEqual(s.TopUsernames, want) {
		t.Errorf("TopUsernames = %+q, want %+q", fmt.Sprint(s.TopUsernames), fmt.Sprint(want))
	}
	if len(s.TopCredentials) != 6 || s.TopCredentials[4] != (CredentialCount{"root\x00x", "toor", 1}) || s.TopCredentials[5] != (CredentialCount{"root ", "toor", 1}) {
		t.Errorf("TopCredentials = %+q", fmt.Sprint(s.TopCredentials))
	}
	s, err = st.Stats(ctx, StatsQuery{Since: t0.Add(20 * time.Second)})
	if err != nil || s.Events != 10 || s.Credentials != 0 {
		t.Errorf("Stats since t0+20s = %+v, %v; want 10 events, no credentials", s, err)
	}

	h, err := st.Histogram(ctx, LogQuery{}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, bk := range h {
		total += bk.Count
		if bk.Start.UnixMicro()%(10*time.Second).Microseconds() != 0 {
			t.Errorf("bucket %d starts at %v, not aligned to 10s", i, bk.Start)
		}
		if i > 0 && !bk.Start.After(h[i-1].Start) {
			t.Errorf("buckets out of order at %d", i)
		}
	}
	if total != 30 || len(h) < 3 || len(h) > 4 {
		t.Errorf("Histogram(10s) = %+v; want 30 events in 3-4 buckets", h)
	}
	h, err = st.Histogram(ctx, LogQuery{Service: "ssh", Since: t0, Until: t0.Add(time.Hour)}, time.Hour)
	if err != nil || len(h) > 2 || (len(h) > 0 && h[0].Count+func() int64 {
		if len(h) == 2 {
			return h[1].Count
		}
		return 0
	}() != 10) {
		t.Errorf("Histogram(service:ssh, 1h) = %+v, %v; want 10 events", h, err)
	}
	if _, err := st.Histogram(ctx, LogQuery{Since: t0, Until: t0.Add(365 * 24 * time.Hour)}, time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("a year at 1s buckets = %v; want ErrInvalid", err)
	}
	if _, err := st.Histogram(ctx, LogQuery{}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("interval 0 = %v; want ErrInvalid", err)
	}
}

func TestSQLiteCounters(t *testing.T) { runCountersSuite(t, storetest.SQLiteDSN) }

func TestMySQLCounters(t *testing.T) { runCountersSuite(t, storetest.MySQLDSN) }

// runCountersSuite checks Stats over everything (the counters plus the rows after
// their cursors) against the GROUP BY queries over the rows (Stats from a time
// before every row): after two stores ingested overlapping events and bounty while
// both folded, with duplicates within and across batches and hostile, long and
// near-identical usernames; after a final fold; and with many rows after it.
func runCountersSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()
	dsn := fresh(t)
	a, b := open(t, dsn), open(t, dsn)
	a.(*sqlStore).foldSettle, b.(*sqlStore).foldSettle = 0, 0 // MySQL: fold up to the newest id
	defer func(n int64) { foldRows = n }(foldRows)
	foldRows = 7 // many fold steps
	long := strings.Repeat("ü\"]\\", 20000)
	users := []string{"root", "admin", "", long, `<svg onload=alert(1)>`, "root\x00nul", "root ", "guest"}
	batch := func(w, j int) Batch {
		var bt Batch
		for i := 0; i < 40; i++ {
			n := (w*7 + j*13 + i) % 90 // the two writers' events overlap
			bt.Records = append(bt.Records, rec(fmt.Sprintf("cnt-%03d", n), n))
			bc := cred(n%25, fmt.Sprintf("10.0.1.%d", n%4), users[n%len(users)], fmt.Sprintf("pw%d", n%5))
			bc.DedupKey = fmt.Sprintf("cnt-cred-%d", n%25)
			bt.Bounty = append(bt.Bounty, bc)
		}
		bt.Bounty = append(bt.Bounty, Bounty{Time: t0, Decky: "decky-1", Service: "http", AttackerIP: "10.0.0.4", Type: "fingerprint",
			Payload: json.RawMessage(fmt.Sprintf(`{"kind":"ja3","value":"v%d"}`, j%3))})
		return bt
	}
	retry := func(what string, fn func() error) error {
		for try := 1; ; try++ {
			err := fn()
			if err == nil || !IsRetryable(err) || try == 100 {
				if err != nil {
					return fmt.Errorf("%s, try %d: %w", what, try, err)
				}
				return nil
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	done := make(chan struct{})
	for w, st := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 12; j++ {
				bt := batch(w, j)
				if err := retry(fmt.Sprintf("writer %d batch %d", w, j), func() error { _, err := st.Ingest(ctx, bt); return err }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()
	folds := 0
	go func() { // fold from both stores while they write, and a few times after
		defer close(done)
		for i := 0; ; i++ {
			st := []Store{a, b}[i%2]
			if err := retry("fold", func() error { return st.FoldCounters(ctx) }); err != nil {
				errs <- err
				return
			}
			folds++
			select {
			case <-writing:
				if i >= 4 {
					return
				}
			default:
			}
		}
	}()
	<-writing
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	same := func(when string, events int64) {
		t.Helper()
		kept, err := a.Stats(ctx, StatsQuery{Top: 1000})
		if err != nil {
			t.Fatal(err)
		}
		counted, err := a.Stats(ctx, StatsQuery{Top: 1000, Since: t0.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if kept.Events != events || kept.Credentials != 25 || kept.Fingerprints != 3 {
			t.Errorf("%s: totals %d events, %d credentials, %d fingerprints; want %d, 25, 3", when, kept.Events, kept.Credentials, kept.Fingerprints, events)
		}
		kv, cv := reflect.ValueOf(*kept), reflect.ValueOf(*counted)
		for i := range kv.NumField() {
			if !reflect.DeepEqual(kv.Field(i).Interface(), cv.Field(i).Interface()) {
				k, c := kv.Field(i), cv.Field(i)
				at := 0
				if k.Kind() == reflect.Slice {
					for at < min(k.Len(), c.Len()) && reflect.DeepEqual(k.Index(at).Interface(), c.Index(at).Interface()) {
						at++
					}
					k, c = k.Slice(at, k.Len()), c.Slice(at, c.Len())
				}
				kj, _ := json.Marshal(k.Interface())
				cj, _ := json.Marshal(c.Interface())
				t.Errorf("%s: %s over everything differs from the rows' from entry %d:\ncounters %.300q\n    rows %.300q", when, kv.Type().Field(i).Name, at, kj, cj)
			}
		}
	}
	same(fmt.Sprintf("after concurrent ingest and %d folds", folds), 90)

	if err := a.FoldCounters(ctx); err != nil {
		t.Fatal(err)
	}
	var maxID int64
	if err := a.(*sqlStore).r.QueryRowContext(ctx, "SELECT MAX(id) FROM logs").Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if c, err := a.Cursor(ctx, CountersLogsCursor); err != nil || c != strconv.FormatInt(maxID, 10) {
		t.Fatalf("after a fold the counters' logs cursor is %q (%v), want the newest id %d", c, err, maxID)
	}
	same("after a final fold", 90)

	// 300 new events from 300 sources after the cursors: more values of one
	// dimension than are looked up one by one.
	more := recs("cnt-more", 300)
	for i := range more {
		more[i].AttackerIP = fmt.Sprintf("10.2.%d.%d", i/200, i%200)
	}
	ingest(t, a, Batch{Records: more})
	same("with 300 events after the cursors", 390)

	// MySQL folds only ids a minute old (a transaction may still commit a smaller
	// one); the newer rows are counted when Stats reads.
	if a.(*sqlStore).dialect == dialectMySQL {
		a.(*sqlStore).foldSettle = time.Hour
		before, _ := a.Cursor(ctx, CountersLogsCursor)
		if err := a.FoldCounters(ctx); err != nil {
			t.Fatal(err)
		}
		if after, _ := a.Cursor(ctx, CountersLogsCursor); after != before {
			t.Errorf("MySQL folded ids younger than foldSettle: cursor %s → %s", before, after)
		}
		same("after a MySQL fold that waits for ids to settle", 390)
	}
}
