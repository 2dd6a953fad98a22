package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"decnet/internal/query"
	"decnet/internal/store"
)

// statsFresh is how long computed overview counters are served as they are, at
// least. The aggregates over a time range scan it (seconds at millions of events;
// over everything, only what came since the last computation: see store's
// counters.go), so an older value is served at once while one background
// computation refreshes it:
// many dashboards polling cost one computation per interval and never wait on it,
// except the very first request for a given set of parameters. A value is also
// kept statsCostFactor times as long as it took to compute, so that an open
// dashboard keeps the server busy with the overview for a tenth of one core at
// most (4.5 s of work at a million events was otherwise redone every 4.5 s,
// taking a core from the ingester for as long as anyone looked).
const (
	statsFresh      = 2 * time.Second
	statsCostFactor = 10
)

type statsEntry struct {
	at         time.Time
	cost       time.Duration // how long the computation took
	body       []byte
	refreshing bool
}

// stale reports whether e is due for a refresh at now.
func (e *statsEntry) stale(now time.Time) bool {
	return now.Sub(e.at) >= max(statsFresh, statsCostFactor*e.cost)
}

type statsJSON struct {
	Totals struct {
		Events       int64 `json:"events"`
		Attackers    int64 `json:"attackers"`
		Credentials  int64 `json:"credentials"`
		Fingerprints int64 `json:"fingerprints"`
		Artifacts    int64 `json:"artifacts"`
	} `json:"totals"`
	ByService      []store.Count           `json:"by_service"`
	ByDecky        []store.Count           `json:"by_decky"`
	ByEventType    []store.Count           `json:"by_event_type"`
	TopCredentials []store.CredentialCount `json:"top_credentials"`
	TopUsernames   []store.Count           `json:"top_usernames"`
	TopSources     []store.Count           `json:"top_sources"`
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	var q store.StatsQuery
	if since := v.Get("since"); since != "" {
		lq, err := query.Parse("since:" + quoteTerm(since))
		if err != nil {
			s.queryError(w, r, err)
			return
		}
		q.Since = lq.Since
	}
	top, err := intParam(v, "top", 10, 100)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Top = int(top)
	// A relative since (15m) moves with time: it is resolved per computation.
	key := v.Get("since") + "\x00" + v.Get("top")
	s.statsMu.Lock()
	if e := s.statsCache[key]; e != nil {
		if e.stale(time.Now()) && !e.refreshing {
			e.refreshing = true
			go s.refreshStats(key, v.Get("since"), q)
		}
		body := e.body
		s.statsMu.Unlock()
		writeRawJSON(w, http.StatusOK, body)
		return
	}
	s.statsMu.Unlock()
	res, err, _ := s.flight.Do("stats\x00"+key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), queryTimeout)
		defer cancel()
		t0 := time.Now()
		body, err := s.computeStats(ctx, q)
		if err == nil {
			s.storeStats(key, body, time.Since(t0))
		}
		return body, err
	})
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeRawJSON(w, http.StatusOK, res.([]byte))
}

// foldEvery is how often the API folds new rows into the overview counters
// without being asked (see foldLoop).
const foldEvery = 15 * time.Second

// foldLoop folds the rows stored since the last fold into the overview counters
// when the API starts and every foldEvery after. The overview folds before it
// computes, so this only matters for the first overview after rows piled up
// unfolded: after a million events stored with no dashboard open (a night's
// scanning, the bench's fill), that fold took 6 s and the first overview waited
// for it. A fold reads only the new rows, so an idle one is a cheap query.
func (s *Server) foldLoop(ctx context.Context) {
	t := time.NewTicker(foldEvery)
	defer t.Stop()
	for {
		t0 := time.Now()
		if err := s.st.FoldCounters(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("updating the overview counters failed", "err", err)
		} else if d := time.Since(t0); d > time.Second {
			s.log.Info("overview counters brought up to date", "took", d.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) refreshStats(key, since string, q store.StatsQuery) {
	if since != "" { // re-resolve a relative since against the current time
		if lq, err := query.Parse("since:" + quoteTerm(since)); err == nil {
			q.Since = lq.Since
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	t0 := time.Now()
	body, err := s.computeStats(ctx, q)
	if err != nil {
		s.log.Warn("refreshing the overview counters failed", "err", err)
		s.statsMu.Lock()
		if e := s.statsCache[key]; e != nil {
			e.refreshing = false
		}
		s.statsMu.Unlock()
		return
	}
	s.storeStats(key, body, time.Since(t0))
}

func (s *Server) storeStats(key string, body []byte, cost time.Duration) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if len(s.statsCache) >= 64 {
		clear(s.statsCache)
	}
	s.statsCache[key] = &statsEntry{at: time.Now(), cost: cost, body: body}
}

func (s *Server) computeStats(ctx context.Context, q store.StatsQuery) ([]byte, error) {
	if q.Since.IsZero() {
		// Fold what was stored since the last computation into the counters the
		// overview reads, so that each computation reads only what came after
		// (Stats is exact either way; a failed fold only costs time).
		if err := s.st.FoldCounters(ctx); err != nil {
			s.log.Warn("updating the overview counters failed", "err", err)
		}
	}
	st, err := s.st.Stats(ctx, q)
	if err != nil {
		return nil, err
	}
	var out statsJSON
	out.Totals.Events, out.Totals.Attackers, out.Totals.Credentials = st.Events, st.Attackers, st.Credentials
	out.Totals.Fingerprints, out.Totals.Artifacts = st.Fingerprints, st.Artifacts
	out.ByService, out.ByDecky, out.ByEventType = nonNil(st.ByService), nonNil(st.ByDecky), nonNil(st.ByEventType)
	out.TopUsernames, out.TopSources = nonNil(st.TopUsernames), nonNil(st.TopSources)
	out.TopCredentials = st.TopCredentials
	if out.TopCredentials == nil {
		out.TopCredentials = []store.CredentialCount{}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}

func nonNil(c []store.Count) []store.Count {
	if c == nil {
		return []store.Count{}
	}
	return c
}
