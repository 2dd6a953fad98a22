package store

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// idIndex answers LogIDs from memory on SQLite for the searches that filter only on
// decky, service, event type and attacker (and page by id): for each value of
// each, the ascending ids of its events, and every id. Every search that differs
// (a dashboard's users each looking at another attacker) cost a walk of SQLite's
// index through the driver, ~50 µs for 100 ids, a third of such a search in the
// API (the events themselves come from its row cache); from these lists it is a
// binary search and a copy.
//
// The lists hold every logs row up to upTo. Before a lookup the store's
// DataVersion is compared with the one the lists were brought up to date at, and
// the rows stored since (id > upTo) are appended first: on SQLite a commit's ids
// are all larger than those of every earlier commit (one writer at a time,
// AUTOINCREMENT), so nothing committed is ever missed. Rows are never deleted from
// logs; a feature that deletes them must rebuild the lists.
//
// The lists are built in the background on first use (~2 s for a million events);
// until then, and once they would take over maxIndexBytes, LogIDs asks SQLite. MySQL has no cheap
// DataVersion and may commit ids out of order: no lists there.
type idIndex struct {
	s     *sqlStore
	chunk int   // catchUpChunk (smaller in tests)
	max   int64 // maxIndexBytes (smaller in tests)

	catchMu sync.Mutex // one catch-up at a time

	mu     sync.RWMutex
	state  int // idxNew, idxBuilding, idxReady, idxOff
	upTo   int64
	bytes  int64 // what the lists take, as maxIndexBytes counts
	ver    DataVersion
	all    []int64
	values [len(idxDims)]map[string][]int64

	cancel context.CancelFunc
	done   chan struct{}
}

const (
	idxNew = iota
	idxBuilding
	idxReady
	idxOff
)

// idxDims are the columns with lists, in LogQuery's order (see dimsOf).
var idxDims = [...]string{"decky", "service", "event_type", "attacker_ip"}

// maxIndexBytes bounds the lists' memory, counted as 40 bytes per event and
// valueCost per distinct value (a honeypot on the internet sees a new attacker
// address in many of its events); a list growing may take up to twice its size.
const maxIndexBytes = 256 << 20

// valueCost is what a distinct value costs beside its bytes (map slot, key and
// list headers, the list's first allocation).
const valueCost = 96

// catchUpChunk is how many new rows a lookup reads before it answers; a larger
// backlog (another process stored a bulk) is read in the background meanwhile.
const catchUpChunk = 50_000

func newIDIndex(s *sqlStore) *idIndex {
	x := &idIndex{s: s, chunk: catchUpChunk, max: maxIndexBytes}
	for i := range x.values {
		x.values[i] = map[string][]int64{}
	}
	return x
}

func dimsOf(q LogQuery) [len(idxDims)]string {
	return [...]string{q.Decky, q.Service, q.EventType, q.AttackerIP}
}

// eligible reports whether q filters only on what the lists hold.
func eligible(q LogQuery) bool {
	return q.Since.IsZero() && q.Until.IsZero() && len(q.Fields) == 0 && len(q.Text) == 0
}

// lookup returns LogIDs(q) from the lists; ok is false when they cannot answer
// (not built yet, being rebuilt past a large backlog, off, or a catch-up failed:
// SQLite then answers, and reports what is wrong).
func (x *idIndex) lookup(ctx context.Context, q LogQuery) (ids []int64, ok bool) {
	if !eligible(q) {
		return nil, false
	}
	ver, known := x.s.DataVersion(ctx)
	x.mu.RLock()
	state, current := x.state, known && x.ver == ver
	x.mu.RUnlock()
	switch {
	case state == idxNew:
		x.startBuild()
		return nil, false
	case state != idxReady || !known:
		return nil, false
	case !current:
		if ok, err := x.catchUp(ctx, ver); !ok || err != nil {
			return nil, false
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.state != idxReady {
		return nil, false
	}
	return x.walk(q), true
}

// walk finds q's ids: along the shortest list of q's values, each id checked in
// the others.
func (x *idIndex) walk(q LogQuery) []int64 {
	var lists [][]int64
	for d, v := range dimsOf(q) {
		if v == "" {
			continue
		}
		l := x.values[d][v]
		if len(l) == 0 {
			return nil
		}
		lists = append(lists, l)
	}
	if len(lists) == 0 {
		lists = append(lists, x.all)
	}
	slices.SortFunc(lists, func(a, b []int64) int { return len(a) - len(b) })
	base, others := lists[0], lists[1:]
	in := func(id int64) bool {
		for _, l := range others {
			if _, found := slices.BinarySearch(l, id); !found {
				return false
			}
		}
		return true
	}
	limit := clampLimit(q.Limit)
	var ids []int64
	if q.Ascending {
		for i := sort.Search(len(base), func(i int) bool { return base[i] > q.AfterID }); i < len(base) && len(ids) < limit; i++ {
			if q.BeforeID > 0 && base[i] >= q.BeforeID {
				break
			}
			if in(base[i]) {
				ids = append(ids, base[i])
			}
		}
		return ids
	}
	hi := len(base)
	if q.BeforeID > 0 {
		hi = sort.Search(len(base), func(i int) bool { return base[i] >= q.BeforeID })
	}
	for i := hi - 1; i >= 0 && len(ids) < limit && base[i] > q.AfterID; i-- {
		if in(base[i]) {
			ids = append(ids, base[i])
		}
	}
	return ids
}

// startBuild reads every row into the lists in the background.
func (x *idIndex) startBuild() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state != idxNew {
		return
	}
	x.state = idxBuilding
	x.background()
}

// background brings the lists up to date off the caller's path, then marks them
// ready; x.mu is held.
func (x *idIndex) background() {
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel, x.done = cancel, make(chan struct{})
	go func() {
		defer close(x.done)
		for {
			ver, known := x.s.DataVersion(ctx)
			if !known {
				x.off()
				return
			}
			x.catchMu.Lock()
			full, err := x.read(ctx, ver)
			x.catchMu.Unlock()
			if err != nil {
				x.off()
				return
			}
			if !full {
				x.mu.Lock()
				if x.state == idxBuilding {
					x.state = idxReady
				}
				x.mu.Unlock()
				return
			}
		}
	}()
}

// catchUp appends the rows stored since the lists' version (ver is the store's
// version now). ok is false when the backlog was too large to wait for: it is
// read in the background and LogIDs asks SQLite meanwhile.
func (x *idIndex) catchUp(ctx context.Context, ver DataVersion) (ok bool, err error) {
	x.catchMu.Lock()
	x.mu.RLock()
	current, state := x.ver == ver, x.state
	x.mu.RUnlock()
	if current || state != idxReady {
		x.catchMu.Unlock()
		return state == idxReady, nil
	}
	full, err := x.read(ctx, ver)
	x.catchMu.Unlock()
	if err != nil || !full {
		return err == nil, err
	}
	x.mu.Lock()
	if x.state == idxReady {
		x.state = idxBuilding
		x.background()
	}
	x.mu.Unlock()
	return false, nil
}

// read appends up to x.chunk rows after upTo, and records ver as the lists'
// version once a read finds no more. full reports a chunk that was full (there
// may be more). Over x.max bytes the lists are dropped for good. The caller holds
// catchMu: upTo moves only here.
func (x *idIndex) read(ctx context.Context, ver DataVersion) (full bool, err error) {
	x.mu.RLock()
	from := x.upTo
	x.mu.RUnlock()
	rows, err := x.s.query(ctx, "SELECT id, decky, service, event_type, attacker_ip FROM logs WHERE id > ? ORDER BY id LIMIT ?", from, x.chunk)
	if err != nil {
		return false, x.s.wrap("reading event ids", err)
	}
	defer rows.Close()
	type row struct {
		id   int64
		dims [len(idxDims)]string
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.dims[0], &r.dims[1], &r.dims[2], &r.dims[3]); err != nil {
			return false, x.s.wrap("reading event ids", err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return false, x.s.wrap("reading event ids", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state == idxOff {
		return false, nil
	}
	for _, r := range got {
		x.all = append(x.all, r.id)
		x.bytes += int64(8 * (1 + len(idxDims)))
		for d, v := range r.dims {
			l, ok := x.values[d][v]
			if !ok {
				x.bytes += int64(len(v)) + valueCost
			}
			x.values[d][v] = append(l, r.id)
		}
		x.upTo = r.id
		if x.bytes > x.max {
			x.dropLocked()
			return false, nil
		}
	}
	full = len(got) == x.chunk
	if !full {
		x.ver = ver
	}
	return full, nil
}

// off drops the lists after a failure: LogIDs asks SQLite from then on.
func (x *idIndex) off() {
	x.mu.Lock()
	x.dropLocked()
	x.mu.Unlock()
}

func (x *idIndex) dropLocked() {
	x.state = idxOff
	x.all, x.bytes = nil, 0
	for i := range x.values {
		x.values[i] = nil
	}
}

// close drops the lists, stops a background read and waits for it.
func (x *idIndex) close() {
	x.mu.Lock()
	x.dropLocked()
	cancel, done := x.cancel, x.done
	x.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
