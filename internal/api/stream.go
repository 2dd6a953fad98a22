package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"decnet/internal/bus"
	"decnet/internal/store"
)

// Stream tunables.
const (
	streamBuffer    = 1024             // bus buffer per client
	replayPage      = 500              // rows per database read while catching up
	streamWriteWait = 30 * time.Second // a client that takes longer to accept a write is dropped
)

// handleStream is GET /api/stream: Server-Sent Events of stored events matching q.
// With Last-Event-ID (or last_event_id) it first replays stored rows after that id,
// then goes live: it subscribes to the bus before reading the database, so no row
// stored meanwhile is missed, and skips live rows already replayed, so none is sent
// twice. A client that falls behind the bus gets `event: lagged` and is closed; it
// reconnects with its last id (EventSource does so by itself).
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := logQuery(v)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	last, resume := int64(0), false
	for _, raw := range []string{r.Header.Get("Last-Event-ID"), v.Get("last_event_id")} {
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "Last-Event-ID must be an event id (a whole number)")
			return
		}
		last, resume = n, true
		break
	}
	if s.streams.Add(1) > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many live streams are open; try again later")
		return
	}
	defer s.streams.Add(-1)

	var sub *bus.Subscription
	if s.cfg.Bus != nil {
		sub = s.cfg.Bus.Subscribe(bus.Match(q), streamBuffer) // 1. subscribe first
		defer sub.Cancel()
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		if bw.Flush() != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send := func(row *store.LogRow) {
		bw.Write(s.frames.frame(row))
		last = row.ID
	}
	bw.WriteString("retry: 2000\n: connected\n\n")
	if !flush() {
		return
	}
	if resume { // 2. catch up from the database
		rq := q
		rq.Ascending, rq.Limit = true, replayPage
		for {
			rq.AfterID = last
			rows, err := s.st.Logs(r.Context(), rq)
			if err != nil {
				if r.Context().Err() == nil {
					s.log.Error("stream replay failed", "err", err)
					bw.WriteString("event: error\ndata: {\"error\":\"replay failed; reconnect\"}\n\n")
					flush()
				}
				return
			}
			for i := range rows {
				send(&rows[i])
			}
			if !flush() {
				return
			}
			if len(rows) < replayPage {
				break
			}
		}
	}
	if sub == nil {
		return
	}
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for { // 3. live, skipping what the replay already sent
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := s.session(r); err != nil {
				bw.WriteString("event: logout\ndata: {}\n\n")
				flush()
				return
			}
			bw.WriteString(": ping\n\n")
			if !flush() {
				return
			}
		case row, ok := <-sub.C:
			if !ok {
				if errors.Is(sub.Err(), bus.ErrLagged) {
					bw.WriteString("event: lagged\ndata: {\"last_event_id\":" + strconv.FormatInt(last, 10) + "}\n\n")
					flush()
				}
				return
			}
			if row.ID <= last {
				continue
			}
			send(&row)
			// Drain what is already queued before flushing once.
			for more := true; more; {
				select {
				case row, ok := <-sub.C:
					if !ok {
						more = false
						break
					}
					if row.ID > last {
						send(&row)
					}
				default:
					more = false
				}
			}
			if !flush() {
				return
			}
		}
	}
}

// frameCache keeps the encoded SSE frames of recent rows, so a row fanned out to
// many streams is encoded once, not once per client.
type frameCache struct {
	mu   sync.Mutex
	m    map[int64][]byte
	ring []int64
	pos  int
}

const frameCacheSize = 8192

// frame returns the SSE frame of row: its id, `event: log` and its JSON.
func (c *frameCache) frame(row *store.LogRow) []byte {
	c.mu.Lock()
	if f, ok := c.m[row.ID]; ok {
		c.mu.Unlock()
		return f
	}
	c.mu.Unlock()
	data, _ := json.Marshal(logOut(row))
	f := make([]byte, 0, len(data)+48)
	f = append(f, "id: "...)
	f = strconv.AppendInt(f, row.ID, 10)
	f = append(f, "\nevent: log\ndata: "...)
	f = append(f, data...)
	f = append(f, "\n\n"...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64][]byte, frameCacheSize)
		c.ring = make([]int64, frameCacheSize)
	}
	if _, ok := c.m[row.ID]; !ok {
		if old := c.ring[c.pos]; old != 0 {
			delete(c.m, old)
		}
		c.ring[c.pos] = row.ID
		c.pos = (c.pos + 1) % frameCacheSize
		c.m[row.ID] = f
	}
	return f
}
