// Package analysis owns DECNET's attacker intelligence worker: the correlation
// engine and the profiler. It reads stored events in id order from its durable
// cursor, keeps one accumulator per attacker IP, and commits the attackers rows
// (first/last seen, counts, deckies in first-touch order and the traversal path,
// services, fingerprints, commands, credentials), their attacker_behavior
// profiles (timing statistics, behaviour class with its evidence, OS guess, tool
// guesses, phases) and the cursor in one store transaction per batch.
//
// Restarts lose and double nothing: an accumulator is resumed from its stored row
// (the opaque analysis_state holds the statistics) the first time its IP is seen
// again, the cursor moves only in the transaction that stores what it covers, and
// each accumulator remembers the last event id it counted.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"encoding/json"

	"github.com/google/uuid"

	"decnet/internal/store"
)

// CursorName is the analysis worker's row in the store's state table.
const CursorName = "analysis"

// Defaults for zero Options fields.
const (
	DefaultBatchSize    = 5000
	DefaultPollInterval = time.Second
	DefaultMaxCached    = 50000
	DefaultSettle       = 5 * time.Second
	maxBackoff          = 30 * time.Second
	maxGaps             = 10000
)

// Options configure the worker.
type Options struct {
	BatchSize    int           // events per transaction
	PollInterval time.Duration // how often an idle worker looks for new events
	CursorName   string        // default CursorName
	MaxCached    int           // accumulators kept in memory between batches
	// Settle is how long a hole in the event ids at the tail of the log is waited
	// for before the worker moves past it. Ids are allocated when a transaction
	// inserts and become visible when it commits, so with several writers (two
	// ingesters on one MySQL database) a lower id can appear after a higher one;
	// without the wait the cursor would skip it for ever. Most holes are permanent
	// (a duplicate event or a rolled-back batch used the id up) and only delay the
	// analysis of the newest events by Settle. Default DefaultSettle.
	Settle time.Duration
	Log    *slog.Logger
	Now    func() time.Time // the profiles' updated_at (tests)
}

// Stats are the worker's counters.
type Stats struct {
	Events    uint64 // events analysed
	Attackers uint64 // attacker rows written (one per attacker per batch)
	Batches   uint64
	Retries   uint64
	Cursor    int64
	LastError string
}

// Engine is the analysis worker.
type Engine struct {
	st     store.Store
	opt    Options
	log    *slog.Logger
	cache  map[string]*acc
	cursor int64
	ready  bool
	gaps   map[int64]time.Time // id holes at the tail: the id before the hole → when it was first seen
	held   bool                // the last Step stopped at an unsettled hole
	clock  func() time.Time

	events, attackers, batches, retries atomic.Uint64
	cur                                 atomic.Int64
	lastErr                             atomic.Value
}

// New returns a worker over st.
func New(st store.Store, opt Options) *Engine {
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	if opt.BatchSize > store.MaxLimit {
		opt.BatchSize = store.MaxLimit
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = DefaultPollInterval
	}
	if opt.CursorName == "" {
		opt.CursorName = CursorName
	}
	if opt.MaxCached <= 0 {
		opt.MaxCached = DefaultMaxCached
	}
	if opt.Settle <= 0 {
		opt.Settle = DefaultSettle
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Engine{st: st, opt: opt, log: log.With("component", "analysis"), cache: map[string]*acc{}, gaps: map[int64]time.Time{}, clock: time.Now}
}

// Run analyses until ctx is cancelled (then it returns nil). Store errors are
// logged and retried with backoff; it returns an error only when the stored cursor
// is not one this worker wrote.
func Run(ctx context.Context, st store.Store, opt Options) error {
	return New(st, opt).Run(ctx)
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	s := Stats{Events: e.events.Load(), Attackers: e.attackers.Load(), Batches: e.batches.Load(), Retries: e.retries.Load(), Cursor: e.cur.Load()}
	if v, ok := e.lastErr.Load().(string); ok {
		s.LastError = v
	}
	return s
}

// Run is the worker loop (see the package function Run).
func (e *Engine) Run(ctx context.Context) error {
	backoff := e.opt.PollInterval
	for {
		n, err := e.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ce *cursorError
		switch {
		case errors.As(err, &ce):
			return err
		case err != nil:
			e.retries.Add(1)
			e.lastErr.Store(err.Error())
			e.log.Warn("analysis batch failed; retrying", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = e.opt.PollInterval
		if n < e.opt.BatchSize {
			if !sleep(ctx, e.opt.PollInterval) {
				return nil
			}
		}
	}
}

// CatchUp analyses every stored event past the cursor, then returns. Holes in the
// ids at the tail are waited for (at most Settle each) as Run does.
func (e *Engine) CatchUp(ctx context.Context) error {
	for {
		n, err := e.Step(ctx)
		if err != nil {
			return err
		}
		if n == 0 && !e.held {
			return nil
		}
		if n == 0 && !sleep(ctx, min(e.opt.Settle/5+time.Millisecond, time.Second)) {
			return ctx.Err()
		}
	}
}

// settle cuts rows (the tail of the log: fewer than a batch) at the first hole in
// the ids that has not been waited for Settle yet.
func (e *Engine) settle(rows []store.LogRow) []store.LogRow {
	now := e.clock()
	prev := e.cursor
	for i, r := range rows {
		if r.ID != prev+1 {
			seen, ok := e.gaps[prev]
			if !ok {
				if len(e.gaps) >= maxGaps {
					clear(e.gaps)
				}
				e.gaps[prev], seen = now, now
			}
			if now.Sub(seen) < e.opt.Settle {
				e.held = true
				return rows[:i]
			}
		}
		prev = r.ID
	}
	return rows
}

type cursorError struct{ err error }

func (c *cursorError) Error() string { return c.err.Error() }
func (c *cursorError) Unwrap() error { return c.err }

// Step analyses one batch of events past the cursor and commits it; it returns how
// many events it read (0 when there was nothing new).
func (e *Engine) Step(ctx context.Context) (int, error) {
	if !e.ready {
		v, err := e.st.Cursor(ctx, e.opt.CursorName)
		if err != nil {
			return 0, fmt.Errorf("analysis: reading the cursor: %w", err)
		}
		if v != "" {
			c, err := strconv.ParseInt(v, 10, 64)
			if err != nil || c < 0 {
				return 0, &cursorError{fmt.Errorf("analysis: the stored %q cursor %q is not an event id; delete it to analyse every event again", e.opt.CursorName, v)}
			}
			e.cursor = c
		}
		e.cur.Store(e.cursor)
		e.ready = true
	}
	rows, err := e.st.Logs(ctx, store.LogQuery{AfterID: e.cursor, Ascending: true, Limit: e.opt.BatchSize})
	if err != nil {
		return 0, fmt.Errorf("analysis: reading events: %w", err)
	}
	e.held = false
	if len(rows) < e.opt.BatchSize {
		rows = e.settle(rows)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	touched := map[string]*acc{}
	order := []*acc{}
	for i := range rows {
		r := &rows[i]
		ip := normIP(r.AttackerIP)
		if ip == "" {
			continue
		}
		a := touched[ip]
		if a == nil {
			if a, err = e.get(ctx, ip); err != nil {
				return 0, err
			}
			touched[ip] = a
			order = append(order, a)
		}
		a.apply(r)
	}
	last := rows[len(rows)-1].ID
	b := store.AnalysisBatch{CursorName: e.opt.CursorName, Cursor: strconv.FormatInt(last, 10)}
	now := e.opt.Now().UTC()
	for _, a := range order {
		if !a.dirty {
			continue
		}
		a.finishRow()
		row := a.row
		st, err := json.Marshal(&a.st)
		if err != nil {
			return 0, fmt.Errorf("analysis: encoding the state of attacker %s: %w", a.row.IP, err)
		}
		row.AnalysisState = st
		b.Attackers = append(b.Attackers, row)
		b.Behaviors = append(b.Behaviors, a.profile(now))
	}
	if err := e.st.SaveAnalysis(ctx, b); err != nil {
		// The accumulators are ahead of the database now: forget them, so the
		// retry resumes each from its stored row.
		for ip := range touched {
			delete(e.cache, ip)
		}
		return 0, fmt.Errorf("analysis: saving %d attackers: %w", len(b.Attackers), err)
	}
	for _, a := range order {
		a.dirty = false
	}
	e.cursor = last
	e.cur.Store(last)
	for id := range e.gaps {
		if id < last {
			delete(e.gaps, id)
		}
	}
	e.events.Add(uint64(len(rows)))
	e.attackers.Add(uint64(len(b.Attackers)))
	e.batches.Add(1)
	e.evict(touched)
	return len(rows), nil
}

// get returns the accumulator of ip: cached, resumed from its stored row, or new.
func (e *Engine) get(ctx context.Context, ip string) (*acc, error) {
	if a := e.cache[ip]; a != nil {
		return a, nil
	}
	row, err := e.st.Attacker(ctx, ip)
	if err != nil {
		return nil, fmt.Errorf("analysis: loading attacker %s: %w", ip, err)
	}
	var a *acc
	if row != nil && row.IP != ip {
		row = nil // ip is some other attacker's UUID (Attacker looks up both): not this one
	}
	if row != nil {
		if a, err = loadAcc(row); err != nil {
			e.log.Warn("resuming an attacker", "err", err)
		}
	} else {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("analysis: generating an attacker id: %w", err)
		}
		a = newAcc(id.String(), ip)
	}
	e.cache[ip] = a
	return a, nil
}

// evict keeps the cache under MaxCached, dropping accumulators this batch did not
// touch first (every cached accumulator is saved, so dropping one loses nothing).
func (e *Engine) evict(keep map[string]*acc) {
	if len(e.cache) <= e.opt.MaxCached {
		return
	}
	for ip := range e.cache {
		if len(e.cache) <= e.opt.MaxCached {
			return
		}
		if keep[ip] == nil {
			delete(e.cache, ip)
		}
	}
	for ip := range e.cache {
		if len(e.cache) <= e.opt.MaxCached {
			return
		}
		delete(e.cache, ip)
	}
}

// normIP is the attacker key: the canonical form of an IP address (IPv4-mapped
// IPv6 unmapped, zone dropped), or the text itself, bounded, when it is not one.
func normIP(s string) string {
	if s == "" {
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return text(s, store.MaxIPLen)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
