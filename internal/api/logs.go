package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"decnet/internal/query"
	"decnet/internal/store"
)

// Page sizes of list endpoints.
const (
	defaultPage = 100
	maxPage     = 500
)

// logJSON is one stored event as the API returns it.
type logJSON struct {
	logBriefJSON
	RawLine string `json:"raw_line"`
	// RawLineB64 carries the raw line's exact bytes when they are not valid UTF-8
	// (JSON text can only carry UTF-8; raw_line then shows U+FFFD for bad bytes).
	RawLineB64 string `json:"raw_line_b64,omitempty"`
}

// logBriefJSON is an event as a search page returns it without raw=1.
type logBriefJSON struct {
	ID           int64             `json:"id"`
	EventID      string            `json:"event_id"`
	Timestamp    ts                `json:"timestamp"`
	Decky        string            `json:"decky"`
	Service      string            `json:"service"`
	EventType    string            `json:"event_type"`
	AttackerIP   string            `json:"attacker_ip"`
	AttackerPort int               `json:"attacker_port"`
	Fields       map[string]string `json:"fields"`
	Msg          string            `json:"msg"`
}

func logOut(r *store.LogRow) logJSON {
	out := logJSON{logBriefJSON: logBriefJSON{ID: r.ID, EventID: r.Event.ID, Timestamp: ts(r.Time), Decky: r.Decky, Service: r.Service,
		EventType: r.Type, AttackerIP: r.AttackerIP, AttackerPort: r.AttackerPort, Fields: r.Fields, Msg: r.Msg}, RawLine: r.RawLine}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	if !utf8.ValidString(r.RawLine) {
		out.RawLineB64 = base64.StdEncoding.EncodeToString([]byte(r.RawLine))
	}
	return out
}

func logsOut(rows []store.LogRow) []logJSON {
	out := make([]logJSON, len(rows))
	for i := range rows {
		out[i] = logOut(&rows[i])
	}
	return out
}

// quoteTerm quotes v as one value of the search syntax.
func quoteTerm(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `"`, `\"`)
	return `"` + v + `"`
}

// logQuery parses q, since and until of the request into a LogQuery.
func logQuery(v url.Values) (store.LogQuery, error) {
	text := v.Get("q")
	if s := v.Get("since"); s != "" {
		text += " since:" + quoteTerm(s)
	}
	if u := v.Get("until"); u != "" {
		text += " until:" + quoteTerm(u)
	}
	return query.Parse(text)
}

// intParam reads a non-negative integer parameter (def when absent).
func intParam(v url.Values, name string, def, max int64) (int64, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("%s must be a whole number from 0 to %d", name, max)
	}
	return n, nil
}

func limitParam(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPage {
		return 0, fmt.Errorf("limit must be a whole number from 1 to %d", maxPage)
	}
	return n, nil
}

// rawParam reads raw: whether a search page carries each event's raw line. The
// dashboard shows it only in an event's drawer (from /api/logs/{id}), and it is
// about half of an event's JSON, so a page leaves it out unless asked.
func rawParam(v url.Values) (bool, error) {
	switch v.Get("raw") {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errors.New("raw must be 1 or true (with the raw lines), 0 or false (without: the default)")
}

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := logQuery(v)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	if q.Limit, err = limitParam(v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	const maxID = 1<<63 - 1
	if q.BeforeID, err = intParam(v, "before_id", 0, maxID); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if q.AfterID, err = intParam(v, "after_id", 0, maxID); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	raw, err := rawParam(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.rows != nil {
		s.cachedLogs(w, r, q, raw)
		return
	}
	rows, err := s.st.Logs(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	var next *int64
	if len(rows) == q.Limit {
		next = &rows[len(rows)-1].ID
	}
	writeOwnedJSON(w, http.StatusOK, appendLogsPage(make([]byte, 0, 600*len(rows)+64), rows, next, raw))
}

// entries returns the row cache's entries (appendLogEntry) of the events ids,
// reading and keeping those it does not hold; an event that is not stored has a
// nil entry. Without a row cache, every event is read.
func (s *Server) entries(ctx context.Context, ids []int64) ([][]byte, error) {
	items := make([][]byte, len(ids))
	missing := ids
	if s.rows != nil {
		missing = s.rows.getMany(ids, items, nil)
	}
	if len(missing) == 0 {
		return items, nil
	}
	rows, err := s.st.LogsByID(ctx, missing)
	if err != nil {
		return nil, err
	}
	var (
		buf  []byte
		ends = make([]int, len(rows))
		keys []string
	)
	for i := range rows {
		buf, keys = appendLogEntry(buf, &rows[i], keys[:0])
		ends[i] = len(buf)
	}
	// rows are in the order of missing, which is that of the empty items; a row
	// gone since the ids were selected is not among them and its item stays empty.
	for i, j, start := 0, 0, 0; i < len(items) && j < len(rows); i++ {
		if items[i] == nil && ids[i] == rows[j].ID {
			items[i] = buf[start:ends[j]]
			if s.rows != nil {
				s.rows.put(ids[i], items[i]) // copied into the cache
			}
			start = ends[j]
			j++
		}
	}
	return items, nil
}

// cachedLogs answers a search through the row cache: the ids from the database,
// the events' JSON from the cache, and only the events not in it read and encoded.
// The bytes are those of the uncached answer (TestLogsPageCached).
func (s *Server) cachedLogs(w http.ResponseWriter, r *http.Request, q store.LogQuery, raw bool) {
	ids, err := s.st.LogIDs(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	items, err := s.entries(r.Context(), ids)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	size := 0
	for _, it := range items {
		size += entryJSONLen(it, raw) + 1
	}
	var next *int64
	if len(ids) == q.Limit {
		next = &ids[len(ids)-1]
	}
	writePageJSON(w, http.StatusOK, appendLogsItems(getPage(size+64), items, next, raw))
}

// handleLog answers one event with its raw line (what an event's drawer shows).
func (s *Server) handleLog(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "the event id must be a whole number from 1")
		return
	}
	items, err := s.entries(r.Context(), []int64{id})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if items[0] == nil {
		writeError(w, http.StatusNotFound, "no stored event has this id")
		return
	}
	body := appendEntryJSON(make([]byte, 0, len(items[0])+1), items[0], true)
	writeOwnedJSON(w, http.StatusOK, append(body, '\n'))
}

// Histogram intervals.
var intervals = []struct {
	name string
	d    time.Duration
}{{"10s", 10 * time.Second}, {"1m", time.Minute}, {"5m", 5 * time.Minute}, {"1h", time.Hour}, {"1d", 24 * time.Hour}}

// maxBuckets bounds one histogram response.
const maxBuckets = 5000

type bucketJSON struct {
	T     ts    `json:"t"`
	Count int64 `json:"count"`
}

func (s *Server) handleHistogram(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := logQuery(v)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	now := time.Now().UTC()
	if q.Until.IsZero() {
		q.Until = now
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	name := v.Get("interval")
	var step time.Duration
	if name == "" {
		// the smallest interval that keeps the range within 300 buckets
		for _, iv := range intervals {
			name, step = iv.name, iv.d
			if q.Until.Sub(q.Since)/iv.d <= 300 {
				break
			}
		}
	} else {
		for _, iv := range intervals {
			if iv.name == name {
				step = iv.d
			}
		}
		if step == 0 {
			writeError(w, http.StatusBadRequest, "interval must be one of 10s, 1m, 5m, 1h, 1d")
			return
		}
	}
	first := q.Since.Truncate(step)
	n := int64(q.Until.Sub(first)/step) + 1
	if n > maxBuckets {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the time range holds %d intervals of %s, over the %d limit; use a larger interval or a shorter range", n, name, maxBuckets))
		return
	}
	got, err := s.st.Histogram(r.Context(), q, step)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	counts := make(map[int64]int64, len(got))
	for _, b := range got {
		counts[b.Start.UnixMicro()] = b.Count
	}
	out := struct {
		Interval string       `json:"interval"`
		Buckets  []bucketJSON `json:"buckets"`
	}{Interval: name, Buckets: []bucketJSON{}}
	for t := first; t.Before(q.Until); t = t.Add(step) {
		out.Buckets = append(out.Buckets, bucketJSON{T: ts(t), Count: counts[t.UnixMicro()]})
	}
	writeJSON(w, http.StatusOK, out)
}
