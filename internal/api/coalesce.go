package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
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
	body bytes.Buffer
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
	return b.body.Write(p)
}

// coalesced runs h once for concurrent identical requests (same path and query
// string) and sends every waiting client the same response: a burst of dashboards
// asking for the same page costs one database query and one JSON encoding. Nothing
// is kept once the computation ends, so no response is older than the request
// that shares it. Only for read routes whose answer does not depend on the caller.
func (s *Server) coalesced(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + "?" + r.URL.RawQuery
		v, _, _ := s.flight.Do(key, func() (any, error) {
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
			h(rec, r.WithContext(ctx))
			return rec, nil
		})
		rec := v.(*bufWriter)
		for k, vs := range rec.h {
			w.Header()[k] = append([]string(nil), vs...)
		}
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len())) // one write: see writeRawJSON
		w.WriteHeader(rec.code)
		w.Write(rec.body.Bytes())
	}
}
