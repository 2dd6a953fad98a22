package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

// At most readSlots read computations run at once; the others wait their turn and
// are all answered.
func TestReadGateBoundsConcurrency(t *testing.T) {
	s := &Server{gate: make(chan struct{}, readSlots), st: openStore(t, storetest.SQLiteDSN(t))}
	var running, peak atomic.Int32
	h := s.coalesced(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		w.Write([]byte(r.URL.RawQuery))
	})
	var wg sync.WaitGroup
	for i := 0; i < 5*readSlots; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := "n=" + strconv.Itoa(i) // distinct: no sharing
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest("GET", "/api/logs?"+q, nil))
			if rec.Code != http.StatusOK || rec.Body.String() != q {
				t.Errorf("request %s: %d %q", q, rec.Code, rec.Body.String())
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != readSlots {
		t.Fatalf("peak concurrent computations %d, want %d", p, readSlots)
	}
}

// A repeated search is answered from the kept answer only while nothing was
// committed: an event stored by this process, or by another connection to the same
// database (another process), is in the very next answer.
func TestAnswersFollowCommits(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	e := newEnvDSN(t, dsn, nil)
	adm := e.admin()
	count := func() int {
		t.Helper()
		var page struct {
			Items []map[string]any `json:"items"`
		}
		r := adm.get("/api/logs?limit=50")
		if r.code != http.StatusOK {
			t.Fatalf("GET /api/logs: %d %s", r.code, r.body)
		}
		r.json(t, &page)
		return len(page.Items)
	}
	e.ingest([]store.Record{mkEvent(1, nil), mkEvent(2, nil)})
	key := "/api/logs?limit=50"
	if n := count(); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	if len(e.srv.answers.m) != 0 {
		t.Fatalf("the first answer of a query was kept: %v", e.srv.answers.m)
	}
	if n := count(); n != 2 { // computed again, and kept: the query repeats
		t.Fatalf("%d events, want 2", n)
	}
	if len(e.srv.answers.m) != 1 || e.srv.answers.m[key].rec == nil {
		t.Fatalf("no answer kept for %s: %v", key, e.srv.answers.m)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d events on the repeat, want 2", n)
	}
	e.ingest([]store.Record{mkEvent(3, nil)})
	if n := count(); n != 3 {
		t.Fatalf("%d events right after a commit, want 3", n)
	}
	other := openStore(t, dsn)
	if _, err := other.Ingest(context.Background(), store.Batch{Records: []store.Record{mkEvent(4, nil)}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(store.VersionPoll) // another process's commit shows within VersionPoll
	if n := count(); n != 4 {
		t.Fatalf("%d events right after another connection's commit, want 4", n)
	}
}

func TestAnswerCacheBounds(t *testing.T) {
	var c answerCache
	st := openStore(t, storetest.SQLiteDSN(t))
	v1, _ := st.DataVersion(context.Background())
	if _, err := st.Ingest(context.Background(), store.Batch{Records: []store.Record{mkEvent(1, nil)}}); err != nil {
		t.Fatal(err)
	}
	v2, _ := st.DataVersion(context.Background())
	body := func(n int) *bufWriter {
		b := &bufWriter{h: http.Header{}}
		b.Write(make([]byte, n))
		return b
	}
	now := time.Now()
	if c.put("a", v1, now, body(10)) || len(c.m) != 0 {
		t.Fatal("the first answer of a query was kept")
	}
	if !c.put("a", v1, now, body(10)) {
		t.Fatal("the second answer of a query was not kept")
	}
	// put once to have the next put of key keep its answer
	see := func(key string) { c.put(key, v1, now, body(0)) }
	if c.get("a", v1, now.Add(maxAnswerAge/2)) == nil {
		t.Error("a fresh answer at the same version was not reused")
	}
	if c.get("a", v2, now) != nil {
		t.Error("an answer was reused after the data version changed")
	}
	if c.get("a", v1, now.Add(maxAnswerAge)) != nil {
		t.Error("an answer was reused past maxAnswerAge")
	}
	for i := range 2 * maxAnswers {
		see(strconv.Itoa(i))
		c.put(strconv.Itoa(i), v2, now, body(10))
	}
	if len(c.m) > maxAnswers {
		t.Errorf("%d answers kept, bound %d", len(c.m), maxAnswers)
	}
	if c.get(strconv.Itoa(maxAnswers-1), v2, now) != nil || c.get(strconv.Itoa(2*maxAnswers-1), v2, now) == nil {
		t.Error("the oldest answers were not the ones dropped")
	}
	if len(c.order) > 2*maxAnswers {
		t.Errorf("the put order holds %d keys for %d answers", len(c.order), len(c.m))
	}
	see("late")
	c.put("late", v2, now.Add(maxAnswerAge), body(10))
	if len(c.m) != 1 {
		t.Errorf("%d answers kept beside one put after the others expired, want none", len(c.m)-1)
	}
	see("old")
	c.put("old", v1, now, body(10))
	if c.get("late", v2, now.Add(maxAnswerAge)) != nil || c.get("old", v1, now) == nil {
		t.Error("answers of two versions were kept together")
	}
	for i := range 20 {
		see("big" + strconv.Itoa(i))
		c.put("big"+strconv.Itoa(i), v2, now, body(maxAnswerBytes/10))
	}
	if c.bytes > maxAnswerBytes {
		t.Errorf("%d bytes kept, bound %d", c.bytes, maxAnswerBytes)
	}
	see("huge")
	c.put("huge", v2, now, body(maxAnswerBytes))
	if _, ok := c.m["huge"]; ok {
		t.Error("an answer over an eighth of the bound was kept")
	}
	sum := 0
	for k, a := range c.m {
		sum += len(a.rec.body) + len(k)
	}
	if sum != c.bytes {
		t.Errorf("byte count %d, kept answers hold %d", c.bytes, sum)
	}
}

// Page buffers go back to pagePool once sent only when no other request and no
// kept answer holds them: concurrent clients on the same searches (a first
// computation shared by several, kept answers, one-off ones) each get exactly
// their page.
func TestPagesRecycledSafely(t *testing.T) {
	e := newEnv(t, nil)
	e.ingest(mkEvents(60))
	var targets []string
	for i := range 300 {
		targets = append(targets, fmt.Sprintf("/api/logs?limit=%d&before_id=%d", 1+i%13, 20+i%40))
	}
	want := map[string]string{}
	for _, target := range targets {
		want[target] = searchPage(t, e.srv, target)
	}
	// Slow enough for clients of the same search to join one computation.
	h := e.srv.coalesced(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Microsecond)
		e.srv.handleLogs(w, r)
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i, target := range targets {
				if g%4 == 3 {
					target = targets[(i*7)%len(targets)]
				}
				rec := httptest.NewRecorder()
				h(rec, httptest.NewRequest("GET", target, nil))
				if got := rec.Body.String(); got != want[target] {
					t.Errorf("%s: got %.200s\nwant %.200s", target, got, want[target])
					return
				}
			}
		})
	}
	wg.Wait()
}

// A kept answer goes gzip-compressed to a client that accepts gzip, and the same
// bytes uncompressed to one that does not; every coalesced answer says it varies
// with Accept-Encoding. An answer computed once, or kept but sent fewer than
// gzipAfter times, is not compressed.
func TestKeptAnswersGzipped(t *testing.T) {
	e := newEnv(t, nil)
	adm := e.admin()
	e.ingest(mkEvents(50))
	get := func(accept string) (http.Header, []byte) { return adm.getEncoded("/api/logs?limit=50", accept) }
	h, plain := get("gzip")
	if h.Get("Content-Encoding") != "" {
		t.Fatalf("an answer computed once was sent %s", h.Get("Content-Encoding"))
	}
	get("gzip") // computed again: now kept, and sent once
	for i := 2; i < gzipAfter; i++ {
		if h, b := get("gzip"); h.Get("Content-Encoding") != "" || !bytes.Equal(b, plain) {
			t.Fatalf("send %d of a kept answer was %q, want the plain page before send %d", i, h.Get("Content-Encoding"), gzipAfter)
		}
	}
	for _, accept := range []string{"gzip, deflate, br, zstd", "br;q=1, gzip;q=0.5", "*"} {
		h, b := get(accept)
		if h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: kept answer sent with Content-Encoding %q", accept, h.Get("Content-Encoding"))
		}
		if unz := gunzip(t, b); !bytes.Equal(unz, plain) || len(b) >= len(plain) {
			t.Fatalf("gzip body of %d bytes is not the page of %d (%d bytes decompressed)", len(b), len(plain), len(unz))
		}
	}
	for _, accept := range []string{"", "identity", "gzip;q=0", "br, zstd", "*;q=0"} {
		h, b := get(accept)
		if h.Get("Content-Encoding") != "" || !bytes.Equal(b, plain) {
			t.Fatalf("Accept-Encoding %q: got Content-Encoding %q and %d bytes, want the plain %d", accept, h.Get("Content-Encoding"), len(b), len(plain))
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZip"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, gzip;q=0.001"}, true},
		{[]string{"gzip ; q=1.0"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip;q=0.000"}, false},
		{[]string{"gzip;q=abc"}, false},
		{[]string{"gzip;q=NaN"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"br", "gzip"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"identity, br, zstd"}, false},
		{[]string{"gzipx, xgzip"}, false},
	} {
		if got := acceptsGzip(c.values); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.values, got, c.want)
		}
	}
}

// Accept-Encoding comes from any client: no value makes acceptsGzip panic, and
// one header holding a list answers as the same list sent in several headers
// (RFC 9110 5.3).
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip, deflate, br, zstd", "*;q=0", "gzip;q=0, *", "br;q=1, gzip;q=0.5", ";;,=,q=", "gzip;q=1e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if one, many := acceptsGzip([]string{v}), acceptsGzip(strings.Split(v, ",")); one != many {
			t.Fatalf("%q: as one header %v, split into headers %v", v, one, many)
		}
	})
}
