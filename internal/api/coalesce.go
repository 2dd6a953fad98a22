package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// queryTimeout bounds one shared read computation.
const queryTimeout = 60 * time.Second

// readSlots is how many read computations run at once: the store's SQLite reader
// pool (internal/store opens 4 reader connections). More would only wait inside
// database/sql, in no particular order.
const readSlots = 4

// bufWriter is an http.ResponseWriter that keeps the response in memory.
type bufWriter struct {
	h    http.Header
	code int
	body []byte
	// pooled: body came from pagePool; kept: the answer cache holds it.
	pooled, kept bool
}

func (b *bufWriter) Header() http.Header { return b.h }
func (b *bufWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// coalesced runs h once for concurrent identical requests (same path and query
// string) and sends every waiting client the same response: a burst of dashboards
// asking for the same page costs one database query and one JSON encoding. A
// successful answer is also kept (see answerCache) and sent again, without any
// query, while the database has had no commit since it was computed and it is less
// than maxAnswerAge old: a kept answer never misses a commit that completed before
// the request arrived (a request that joins a running computation gets its answer,
// as any concurrent reader would). Only for read routes whose answer depends on the
// database alone, not on the caller.
func (s *Server) coalesced(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + "?" + r.URL.RawQuery
		// The version before the query (read before this request's computation,
		// or the one it joins, starts): a commit landing after makes the kept
		// answer stale at once, never the other way round.
		ver, known := s.st.DataVersion(r.Context())
		if known {
			if rec := s.answers.get(key, ver, time.Now()); rec != nil {
				sendBuffered(w, rec)
				return
			}
		}
		v, _, shared := s.flight.Do(key, func() (any, error) {
			// The computation outlives a client that leaves: others may wait on it.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), queryTimeout)
			defer cancel()
			rec := &bufWriter{h: http.Header{}}
			// Wait in line for the database: goroutines blocked on a channel are
			// served first come, first served, while database/sql hands a free
			// connection to a random waiter — which made the slowest requests
			// several times slower than the typical one under load.
			select {
			case s.gate <- struct{}{}:
			case <-ctx.Done():
				writeError(rec, http.StatusServiceUnavailable, "the database is too busy; try again")
				return rec, nil
			}
			defer func() { <-s.gate }()
			at := time.Now()
			h(rec, r.WithContext(ctx))
			if known && (rec.code == 0 || rec.code == http.StatusOK) {
				rec.kept = s.answers.put(key, ver, at, rec)
			}
			return rec, nil
		})
		rec := v.(*bufWriter)
		sendBuffered(w, rec)
		// Sent (a ResponseWriter's Write does not keep what it is given): a page
		// that no other request and no kept answer holds is free again.
		if rec.pooled && !rec.kept && !shared {
			putPage(rec.body)
		}
	}
}

// sendBuffered sends a response kept by a bufWriter (shared: it is only read).
func sendBuffered(w http.ResponseWriter, rec *bufWriter) {
	for k, vs := range rec.h {
		w.Header()[k] = append([]string(nil), vs...)
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.body))) // one write: see writeRawJSON
	w.WriteHeader(code)
	w.Write(rec.body)
}

// pagePool holds search pages' buffers for reuse. Allocating each new (~60 KiB,
// zeroed) and collecting it cost a varied search ~10% of its CPU (bench/api, 500
// clients, alternating runs: 8,400-9,300 raw=1 pages/s with new buffers,
// 9,300-10,100 with these).
var pagePool sync.Pool // of *[]byte

// maxPooledPage bounds the buffers pagePool keeps (a limit=1000 page with raw
// lines is larger, and rare).
const maxPooledPage = 1 << 20

// getPage returns an empty buffer with room for n bytes.
func getPage(n int) []byte {
	if p, ok := pagePool.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// putPage gives b to pagePool; nothing may use b after.
func putPage(b []byte) {
	if cap(b) <= maxPooledPage {
		b = b[:0]
		pagePool.Put(&b)
	}
}
