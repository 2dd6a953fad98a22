package api

import (
	"context"
	"errors"
	"time"

	"decnet/internal/store"
)

// warmPage is how many events one read of the warm-up takes (about 6 ms of one
// reading connection on SQLite).
const warmPage = 1000

// RowWarm says what the row cache's warm-up did.
type RowWarm struct {
	Events int           // events whose JSON it put in the cache
	Bytes  int64         // bytes of that JSON
	Took   time.Duration // from the start of Serve
	Full   bool          // it stopped because the cache had no more room (not at the oldest event)
}

// warmRows fills the row cache with the stored events, newest first, when the
// server starts: a search of any part of the history then finds its events in
// memory instead of reading and encoding each one the first time (~6 µs an event
// on SQLite; a cold page of 100 took ~600 µs). It only takes free room (fill), so it
// never pushes out what searches put, and it stops at the first event that finds
// no room or at the oldest event. Events stored later are kept as searches read
// them. It runs once, beside the searches, and ends with ctx.
func (s *Server) warmRows(ctx context.Context) {
	defer close(s.warmed)
	start := time.Now()
	var (
		w      RowWarm
		before int64
		buf    []byte
		keys   []string
	)
	defer func() {
		w.Took = time.Since(start)
		s.warm = w
	}()
	for {
		rows, err := s.st.Logs(ctx, store.LogQuery{BeforeID: before, Limit: warmPage})
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.log.Warn("api: the row cache warm-up stopped", "err", err, "events", w.Events)
			}
			return
		}
		for i := range rows {
			buf, keys = appendLogEntry(buf[:0], &rows[i], keys[:0])
			if !s.rows.fill(rows[i].ID, buf) {
				w.Full = true
				s.log.Info("api: row cache warmed (full)", "events", w.Events, "mib", w.Bytes>>20, "took", time.Since(start).Round(time.Millisecond))
				return
			}
			w.Events++
			w.Bytes += int64(len(buf) - 4) // without the entry's 4-byte header
		}
		if len(rows) < warmPage {
			s.log.Info("api: row cache warmed (every stored event)", "events", w.Events, "mib", w.Bytes>>20, "took", time.Since(start).Round(time.Millisecond))
			return
		}
		before = rows[len(rows)-1].ID
	}
}

// RowCacheWarm waits until the row cache's warm-up (started by Serve) has ended
// and says what it did; with no row cache it returns at once.
func (s *Server) RowCacheWarm(ctx context.Context) (RowWarm, error) {
	select {
	case <-s.warmed:
		return s.warm, nil
	case <-ctx.Done():
		return RowWarm{}, ctx.Err()
	}
}
