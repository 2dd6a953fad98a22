package api

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

// get is getMany for one id.
func (c *rowCache) get(id int64) ([]byte, bool) {
	items := [1][]byte{}
	missing := c.getMany([]int64{id}, items[:], nil)
	return items[0], len(missing) == 0
}

func TestRowCacheBounded(t *testing.T) {
	if newRowCache(16<<20) != nil {
		t.Fatal("a 16 MiB budget (512 KiB per shard generation) should mean no cache")
	}
	const budget = 64 << 20
	c := newRowCache(budget)
	row := bytes.Repeat([]byte("x"), 600)
	for id := int64(1); id <= 400_000; id++ { // ~250 MB offered
		c.put(id, row)
		if id == 10 {
			if b, ok := c.get(10); !ok || !bytes.Equal(b, row) {
				t.Fatal("an entry just put is not there")
			}
		}
		if id%1000 == 0 {
			c.get(5) // kept in use: survives every rotation
		}
	}
	if n := c.bytes(); n > budget || n < budget/3 {
		t.Fatalf("the cache holds %d bytes for a %d budget", n, budget)
	}
	if _, ok := c.get(5); !ok {
		t.Error("an entry in constant use was dropped")
	}
	if _, ok := c.get(10); ok {
		t.Error("an old unused entry is still there after 250 MB went through a 64 MB cache")
	}
	if _, ok := c.get(399_999); !ok {
		t.Error("a recent entry was dropped")
	}
	huge := make([]byte, rowSlab+1)
	c.put(1<<40, huge)
	if _, ok := c.get(1 << 40); ok {
		t.Error("an entry larger than a slab was kept")
	}
	before := c.bytes()
	c.put(399_999, row) // again: no double count
	if c.bytes() != before {
		t.Errorf("putting a kept id again changed the size: %d -> %d", before, c.bytes())
	}
}

// entries counts the generation's entries.
func (g *rowGen) entries() int {
	n := 0
	for _, c := range g.chunks {
		for _, at := range c {
			if at != 0 {
				n++
			}
		}
	}
	return n
}

// searchPage is s's answer to the search target.
func searchPage(t *testing.T, s *Server, target string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handleLogs(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// countingStore counts the events read by id.
type countingStore struct {
	store.Store
	read atomic.Int64
}

func (c *countingStore) LogsByID(ctx context.Context, ids []int64) ([]store.LogRow, error) {
	c.read.Add(int64(len(ids)))
	return c.Store.LogsByID(ctx, ids)
}

// A search answered through the row cache (cold, warm, and with a cache too small
// to hold a page) is byte for byte the uncached answer, for hostile events too.
func TestLogsPageCached(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RowCache = -1 })
	if e.srv.rows != nil {
		t.Fatal("RowCache -1 should mean no row cache")
	}
	var recs []store.Record
	for i := range 300 {
		s := jsonCorpus[i%len(jsonCorpus)]
		recs = append(recs, mkEvent(i, func(ev *event.Event) {
			if i%2 == 0 {
				ev.Msg = s
				ev.Fields["user_agent"] = s
			}
		}))
	}
	recs[7].RawLine = "a stored \xff raw line <script>" // not canonical: stored as is
	e.ingest(recs)
	cachedSt, tinySt := &countingStore{Store: e.st}, &countingStore{Store: e.st}
	cached, err := New(Config{Store: cachedSt, StateDir: t.TempDir(), AdminPassword: testAdminPW, PasswordOut: e.out})
	if err != nil {
		t.Fatal(err)
	}
	if cached.rows == nil {
		t.Fatal("the default config has no row cache")
	}
	tiny, err := New(Config{Store: tinySt, StateDir: t.TempDir(), AdminPassword: testAdminPW, PasswordOut: e.out, RowCache: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tiny.rows.half = 8192 // one event per shard generation: every put retires one
	get := func(s *Server, target string) string { return searchPage(t, s, target) }
	targets := []string{"/api/logs", "/api/logs?limit=500", "/api/logs?limit=7", "/api/logs?q=service:ssh&limit=13",
		"/api/logs?q=attacker:10.0.0.2", "/api/logs?before_id=100&limit=50", "/api/logs?after_id=290",
		"/api/logs?q=" + strings.ReplaceAll("\"<script>\"", "\"", "%22"), "/api/logs?q=nothing-matches",
		"/api/logs?raw=1&limit=500", "/api/logs?q=service:ssh&raw=true&before_id=200"}
	var read [3][2]int64 // events read from the database per round, by the default and the tiny cache
	for round := range 3 {
		c0, t0 := cachedSt.read.Load(), tinySt.read.Load()
		for _, target := range targets {
			want := get(e.srv, target)
			for _, s := range []*Server{cached, tiny} {
				if got := get(s, target); got != want {
					t.Fatalf("round %d %s: the cached answer differs:\n got %.300s\nwant %.300s", round, target, got, want)
				}
			}
		}
		read[round] = [2]int64{cachedSt.read.Load() - c0, tinySt.read.Load() - t0}
		if round == 1 {
			var more []store.Record
			for i := 300; i < 320; i++ {
				more = append(more, mkEvent(i, nil))
			}
			e.ingest(more) // new events: in the next answers, read on first sight
		}
	}
	// The default cache read every event once, then only the 20 stored later; the
	// tiny one kept reading.
	if read[0][0] != 300 || read[1][0] != 0 || read[2][0] != 20 || read[2][1] <= 20 {
		t.Errorf("events read per round (default, tiny): %v", read)
	}
	for i := range tiny.rows.shards {
		if sh := &tiny.rows.shards[i]; sh.cur.entries()+sh.old.entries() > 2 {
			t.Errorf("a tiny cache shard holds %d+%d events", sh.cur.entries(), sh.old.entries())
		}
	}
	if got := get(cached, "/api/logs?limit=500"); !strings.Contains(got, fmt.Sprintf(`"event_id":"%s"`, recs[0].ID)) {
		t.Error("the oldest event is not in the full page")
	}
}

// serveWarm serves s on loopback until the test ends and returns its warm-up.
func serveWarm(t *testing.T, s *Server) RowWarm {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	w, err := s.RowCacheWarm(wctx)
	if err != nil {
		t.Fatalf("the warm-up did not end: %v", err)
	}
	return w
}

// Serve fills the row cache with the stored events, newest first: afterwards no
// search reads an event from the database, and the answers are the uncached ones.
// A cache too small for them all keeps the newest, stops at the first event that
// finds no room, and does not push out what a search put before.
func TestRowCacheWarm(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RowCache = -1 })
	var recs []store.Record
	for i := range 300 {
		recs = append(recs, mkEvent(i, func(ev *event.Event) {
			ev.Msg = jsonCorpus[i%len(jsonCorpus)] + strings.Repeat("x", 8000) // ~16 KB of JSON (msg and raw line)
		}))
	}
	e.ingest(recs)
	get := func(s *Server, target string) string { return searchPage(t, s, target) }
	targets := []string{"/api/logs?limit=500", "/api/logs?q=service:ssh&limit=13", "/api/logs?before_id=100&limit=50",
		"/api/logs?q=" + strings.ReplaceAll("\"<script>\"", "\"", "%22")}

	big := &countingStore{Store: e.st}
	s, err := New(Config{Store: big, StateDir: t.TempDir(), AdminPassword: testAdminPW, PasswordOut: e.out})
	if err != nil {
		t.Fatal(err)
	}
	if w := serveWarm(t, s); w.Events != 300 || w.Full || w.Bytes < 300*16_000 {
		t.Errorf("warm-up of a default cache: %+v, want all 300 events", w)
	}
	for _, target := range targets {
		if got, want := get(s, target), get(e.srv, target); got != want {
			t.Fatalf("%s: the warmed answer differs:\n got %.300s\nwant %.300s", target, got, want)
		}
	}
	if n := big.read.Load(); n != 0 {
		t.Errorf("searches after the warm-up read %d events from the database", n)
	}

	small := &countingStore{Store: e.st}
	s, err = New(Config{Store: small, StateDir: t.TempDir(), AdminPassword: testAdminPW, PasswordOut: e.out, RowCache: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.rows.half = rowSlab + 4096            // one slab per shard: ~16 of these events, ~260 in all
	get(s, "/api/logs?before_id=3&limit=2") // the two oldest, put by a search
	w := serveWarm(t, s)
	if !w.Full || w.Events < 100 || w.Events >= 300 {
		t.Errorf("warm-up of a small cache: %+v, want it to stop full", w)
	}
	if n := s.rows.bytes(); n > rowShards*(s.rows.half+rowSlab) {
		t.Errorf("the small cache holds %d bytes", n)
	}
	for _, id := range []int64{1, 2} {
		if _, ok := s.rows.get(id); !ok {
			t.Errorf("event %d, put by a search before the warm-up, was pushed out", id)
		}
	}
	small.read.Store(0)
	if got, want := get(s, "/api/logs?limit=100"), get(e.srv, "/api/logs?limit=100"); got != want {
		t.Fatal("the newest page differs after a partial warm-up")
	}
	if n := small.read.Load(); n != 0 {
		t.Errorf("the newest 100 events were not all kept: %d read", n)
	}
}

// Serve folds what was stored into the overview counters when it starts, before
// any dashboard asks: the first overview after rows piled up does not wait for it.
func TestServeFoldsCounters(t *testing.T) {
	e := newEnv(t, nil)
	e.ingest(mkEvents(20))
	serveWarm(t, e.srv)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, err := e.st.Cursor(context.Background(), store.CountersLogsCursor)
		if err != nil {
			t.Fatal(err)
		}
		if cur == "20" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview counters' cursor is %q after Serve started, want 20", cur)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
