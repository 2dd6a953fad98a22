package api

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// queryTimeout bounds one shared read computation.
const queryTimeout = 60 * time.Second

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
		w.WriteHeader(rec.code)
		w.Write(rec.body.Bytes())
	}
}
