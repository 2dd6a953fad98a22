package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
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

	sends  atomic.Int64 // of a kept answer, to any client
	gzOnce sync.Once
	gz     []byte // body gzip-compressed (see gzipped); nil when that is not smaller
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
				sendBuffered(w, r, rec, true)
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
		sendBuffered(w, r, rec, rec.kept)
		// Sent (a ResponseWriter's Write does not keep what it is given): a page
		// that no other request and no kept answer holds is free again.
		if rec.pooled && !rec.kept && !shared {
			putPage(rec.body)
		}
	}
}

// sendBuffered sends a response kept by a bufWriter (shared: it is only read).
// A kept answer (repeated) sent gzipAfter times or more goes gzip-compressed to a
// client that accepts it.
func sendBuffered(w http.ResponseWriter, r *http.Request, rec *bufWriter, repeated bool) {
	h := w.Header()
	for k, vs := range rec.h {
		h[k] = append([]string(nil), vs...)
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	h.Add("Vary", "Accept-Encoding")
	body := rec.body
	if repeated && rec.sends.Add(1) >= gzipAfter && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := rec.gzipped(); gz != nil {
			body = gz
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body))) // one write: see writeRawJSON
	w.WriteHeader(code)
	w.Write(body)
}

// A kept answer is compressed (once) when it is sent for the gzipAfter-th time,
// and sent compressed from then on. A 100-event search page of ~60 KiB becomes
// ~7 KiB in ~160 µs (level 1); sending the smaller page saves ~18 µs of CPU per
// request, the server's write and the client's read together (bench/api, wrk at
// 500 connections on one cached search: ~20,000 → ~25,000 requests/s). Compressing
// pays off after ~9 sends: the answers of varied searches, kept but asked for a
// few times each, cost more to compress than they saved (attacker:<random of
// 2000>, compressed at their first send: 11,000 → 7,400 requests/s).
const gzipAfter = 8

// minGzip is the smallest body worth compressing (an error or an empty list is
// smaller than the packets it would save).
const minGzip = 1 << 10

// gzipped returns the body gzip-compressed, computed once, or nil when that is no
// smaller. Search pages hold no secret an attacker could recover by making them
// compress differently (BREACH): they carry stored events, which attackers wrote,
// and nothing of the session.
func (b *bufWriter) gzipped() []byte {
	b.gzOnce.Do(func() {
		if len(b.body) < minGzip || b.h.Get("Content-Encoding") != "" {
			return
		}
		zw, _ := gzipWriters.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(nil, gzip.BestSpeed)
		}
		b.gz = gzipBytes(zw, b.body)
		gzipWriters.Put(zw)
	})
	return b.gz
}

// gzipBytes returns b compressed by zw (reset to a new buffer), or nil when that
// is no smaller.
func gzipBytes(zw *gzip.Writer, b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) / 4)
	zw.Reset(&out)
	zw.Write(b)
	zw.Close()
	if out.Len() >= len(b) {
		return nil
	}
	return out.Bytes()
}

// gzipWriters holds gzip writers for reuse (one is ~800 KiB of compressor state).
var gzipWriters sync.Pool // of *gzip.Writer

// acceptsGzip reports whether Accept-Encoding values (RFC 9110 12.5.3) allow a gzip
// body: gzip (or x-gzip) with a nonzero weight, or else "*" with one. Written here
// because net/http only negotiates gzip in its client.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.TrimSpace(coding)
			ok := nonzeroWeight(params)
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				return ok
			case coding == "*":
				star = ok
			}
		}
	}
	return star
}

// nonzeroWeight reports whether a coding's parameters ("q=0.5", "" for none) give
// it a weight above zero; an unreadable weight counts as none.
func nonzeroWeight(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0 && q <= 1
	}
	return true
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
