package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// At most readSlots read computations run at once; the others wait their turn and
// are all answered.
func TestReadGateBoundsConcurrency(t *testing.T) {
	s := &Server{gate: make(chan struct{}, readSlots)}
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
