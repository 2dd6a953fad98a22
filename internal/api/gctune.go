package api

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// gcTuned is set while a Serve tunes the collector (one per process).
var gcTuned atomic.Bool

// tuneGC keeps the garbage collector's headroom at what it would be without the
// row cache. The collector lets the heap grow by GOGC percent of the live heap
// before it runs again (100: twice the live heap), and the cache is most of the
// live heap: with 600 MB of cached events the heap grew by 700 MB between cycles,
// and every request's 60 KB answer landed on memory the kernel had to fault in
// (bench/api, 500 clients, the first seconds after the warm-up: 5,100 r/s instead
// of 9,500). Once a second it sets GOGC to 100 × (live − cache) / live, so that
// the heap grows by the size of the rest of the live heap, at least 64 MiB; the
// cache's slabs hold no pointers, so a cycle does not get dearer. It does nothing
// when GOGC is set in the environment, and restores the previous value when ctx
// ends.
func (s *Server) tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" || !gcTuned.CompareAndSwap(false, true) {
		return
	}
	defer gcTuned.Store(false)
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live := int64(sample[0].Value.Uint64())
			if pct := gcPercent(live, s.rows.bytes()); pct > 0 {
				debug.SetGCPercent(pct)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcPercent is the GOGC that lets a heap of live bytes, cache of them the row
// cache, grow by the rest (at least 64 MiB) before the next collection; 0 when
// nothing is known yet.
func gcPercent(live, cache int64) int {
	if live <= 0 {
		return 0
	}
	rest := max(live-cache, 64<<20)
	return int(min(100, max(1, 100*rest/live)))
}
