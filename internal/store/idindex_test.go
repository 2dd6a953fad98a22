package store

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store/storetest"
)

// idxRecs makes n events with dimension values from small sets, so that searches
// combining them find some, many or none.
func idxRecs(r *rand.Rand, prefix string, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		e := event.Event{ID: fmt.Sprintf("%s-%06d", prefix, i), Time: t0.Add(time.Duration(i) * time.Millisecond),
			Decky: fmt.Sprintf("decky-%d", r.Intn(4)), Service: []string{"ssh", "http", "ftp"}[r.Intn(3)],
			Type: []string{event.Auth, event.Connect, event.Command, "x"}[r.Intn(4)], AttackerIP: fmt.Sprintf("10.0.0.%d", r.Intn(20))}
		out[i] = Record{Event: e}
	}
	return out
}

// waitLists waits until st's lists are built.
func waitLists(t *testing.T, st *sqlStore) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st.idx.lookup(context.Background(), LogQuery{}) // starts the build
		st.idx.mu.RLock()
		state := st.idx.state
		st.idx.mu.RUnlock()
		if state == idxReady {
			return
		}
		if state == idxOff || time.Now().After(deadline) {
			t.Fatalf("the id lists are not ready (state %d)", state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idxSame checks that LogIDs from the lists equals SQLite's answer for many
// searches; fromLists says whether the lists must have answered.
func idxSame(t *testing.T, r *rand.Rand, st *sqlStore, maxID int64, fromLists bool) {
	t.Helper()
	ctx := context.Background()
	pick := func(vals ...string) string { return vals[r.Intn(len(vals))] }
	for range 400 {
		q := LogQuery{
			Decky:      pick("", "", "decky-1", "decky-3", "decky-9"),
			Service:    pick("", "", "ssh", "ftp"),
			EventType:  pick("", "", event.Auth, "x"),
			AttackerIP: pick("", "", "10.0.0.7", "10.0.0.19", "10.0.0.99"),
			Limit:      []int{0, 1, 7, 100, MaxLimit}[r.Intn(5)],
			Ascending:  r.Intn(3) == 0,
		}
		if r.Intn(2) == 0 {
			q.BeforeID = r.Int63n(maxID + 10)
		}
		if r.Intn(3) == 0 {
			q.AfterID = r.Int63n(maxID + 10)
		}
		want, err := st.logIDsSQL(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := st.idx.lookup(ctx, q)
		if ok != fromLists {
			t.Fatalf("%+v: answered from the lists: %v, want %v", q, ok, fromLists)
		}
		if ok && !slices.Equal(got, want) {
			t.Fatalf("%+v:\nlists  %v\nSQLite %v", q, got, want)
		}
		if all, err := st.LogIDs(ctx, q); err != nil || !slices.Equal(all, want) {
			t.Fatalf("%+v: LogIDs %v (%v), want %v", q, all, err, want)
		}
	}
	// Searches the lists do not hold are SQLite's.
	if _, ok := st.idx.lookup(ctx, LogQuery{Service: "ssh", Text: []string{"x"}}); ok {
		t.Fatal("a free-text search was answered from the lists")
	}
}

func TestIDIndexMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewSource(7))
	dsn := storetest.SQLiteDSN(t)
	a := open(t, dsn).(*sqlStore)
	var last int64
	for b := range 3 {
		ids := ingest(t, a, Batch{Records: idxRecs(r, fmt.Sprintf("a%d", b), 700)}).IDs
		last = ids[len(ids)-1]
	}
	if _, ok := a.idx.lookup(ctx, LogQuery{}); ok {
		t.Fatal("the lists answered before they were built")
	}
	waitLists(t, a)
	idxSame(t, r, a, last, true)

	// Rows this store commits, and rows another connection commits (seen within
	// VersionPoll), are in the next answers.
	ids := ingest(t, a, Batch{Records: idxRecs(r, "a-more", 50)}).IDs
	last = ids[len(ids)-1]
	idxSame(t, r, a, last, true)
	b := open(t, dsn).(*sqlStore)
	ids = ingest(t, b, Batch{Records: idxRecs(r, "b", 60)}).IDs
	last = ids[len(ids)-1]
	time.Sleep(2 * VersionPoll)
	idxSame(t, r, a, last, true)

	// A backlog larger than a lookup reads: SQLite answers while the rest is read
	// in the background, then the lists again.
	a.idx.chunk = 100
	ids = ingest(t, b, Batch{Records: idxRecs(r, "b-bulk", 450)}).IDs
	last = ids[len(ids)-1]
	time.Sleep(2 * VersionPoll)
	if got, ok := a.idx.lookup(ctx, LogQuery{AttackerIP: "10.0.0.7"}); ok {
		t.Fatalf("the lists answered (%d ids) before reading a backlog of 450 rows", len(got))
	}
	waitLists(t, a)
	idxSame(t, r, a, last, true)

	// Past the bound the lists are dropped and SQLite answers everything.
	a.idx.max = a.idx.bytes + 10*8*5 // 10 more events of known values
	ingest(t, a, Batch{Records: idxRecs(r, "a-over", 20)})
	a.idx.lookup(ctx, LogQuery{})
	if a.idx.state != idxOff || a.idx.all != nil {
		t.Fatalf("state %d with %d ids past the bound", a.idx.state, len(a.idx.all))
	}
	idxSame(t, r, a, last+20, false)
}

// MySQL has no lists: its LogIDs is the database's.
func TestIDIndexSQLiteOnly(t *testing.T) {
	if st := open(t, storetest.MySQLDSN(t)).(*sqlStore); st.idx != nil {
		t.Fatal("a MySQL store has id lists")
	}
}

// Searches running while events are stored see every event committed before they
// started (a search never misses a commit it followed) and nothing else.
func TestIDIndexConcurrent(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewSource(9))
	st := open(t, storetest.SQLiteDSN(t)).(*sqlStore)
	ingest(t, st, Batch{Records: idxRecs(r, "c0", 500)})
	waitLists(t, st)
	done := make(chan struct{})
	errs := make(chan error, 4)
	var committed atomic.Int64 // the newest id whose commit has returned
	for g := range 4 {
		go func() {
			q := LogQuery{AttackerIP: fmt.Sprintf("10.0.0.%d", g), Limit: MaxLimit, Ascending: true}
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				before := committed.Load()
				ids, err := st.LogIDs(ctx, q)
				if err != nil {
					errs <- err
					return
				}
				want, err := st.logIDsSQL(ctx, LogQuery{AttackerIP: q.AttackerIP, Limit: MaxLimit, Ascending: true, BeforeID: before + 1})
				if err != nil {
					errs <- err
					return
				}
				if len(ids) < len(want) || !slices.Equal(ids[:len(want)], want) {
					errs <- fmt.Errorf("a search missed events committed before it: %d ids, %d committed", len(ids), len(want))
					return
				}
			}
		}()
	}
	for b := range 30 {
		ids := ingest(t, st, Batch{Records: idxRecs(r, fmt.Sprintf("c%d", b+1), 40)}).IDs
		committed.Store(ids[len(ids)-1])
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Each distinct value counts toward the bound, not only each event: a honeypot on
// the internet sees new addresses all the time.
func TestIDIndexCountsValues(t *testing.T) {
	st := open(t, storetest.SQLiteDSN(t)).(*sqlStore)
	recs := idxRecs(rand.New(rand.NewSource(3)), "v", 200)
	for i := range recs {
		recs[i].AttackerIP = fmt.Sprintf("198.51.%d.%d", i/250, i%250)
	}
	ingest(t, st, Batch{Records: recs})
	waitLists(t, st)
	if min := int64(200*40 + 200*valueCost); st.idx.bytes < min {
		t.Fatalf("200 events from 200 addresses count %d bytes, want at least %d", st.idx.bytes, min)
	}
}
