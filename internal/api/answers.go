package api

import (
	"hash/maphash"
	"sync"
	"time"

	"decnet/internal/store"
)

// Bounds of the answer cache.
const (
	maxAnswers     = 256
	maxAnswerBytes = 32 << 20 // all kept bodies together (their gzip copies, each smaller than its body, come on top)
	// maxAnswerAge bounds how long an answer is reused even when nothing was
	// committed: a relative time (since:15m) and a histogram's last bucket move with
	// the clock. With no new data that only lets events older than the window's
	// start show a few seconds longer. Each expiry makes every client of that
	// query wait for one computation again: at 1 s, the slowest list (attackers of
	// one decky by events, ~0.1 s under load) had a p99 of 232 ms at 500 clients.
	maxAnswerAge = 5 * time.Second
)

// answerCache keeps the last successful answer of each coalesced read with the
// store's DataVersion from before it was computed. An answer is reused only while
// the version is unchanged — nothing was committed since, by this process or any
// other — so it is exactly what running the query again would return. With 500
// dashboards on the same search the query then runs once per commit instead of
// back to back (wrk, 500 connections, newest 100 events: the repeated query was a
// third of the server's CPU). Stores without a DataVersion (MySQL) keep nothing.
//
// Every operation is O(1) amortized: searches that all differ (each dashboard on
// another attacker) put an answer per request that is never asked again, and the
// scan of every kept answer for one to drop was 7% of such a request's CPU. All
// kept answers are of one version (an answer of any other could not be sent
// again), and they leave in the order they came, which is also the order they
// expire in.
//
// An answer is kept only for a query computed before (seen): an answer of a
// search nobody repeats is then never kept, and its page buffer goes back to
// pagePool as soon as it is sent instead of being garbage (at 10,000 varied
// searches a second, 600 MB/s of new 60 KiB pages). A query that is repeated is
// computed once more than it would be, once.
type answerCache struct {
	mu    sync.Mutex
	seen  *[seenSlots]uint64 // hash of a query computed recently, by its low bits
	ver   store.DataVersion  // of every kept answer
	m     map[string]answer
	order []queued // put order; entries whose answer was replaced are skipped
	head  int      // order[head:] is live
	seq   uint64
	bytes int
}

// seenSlots is the size of the seen table (512 KiB). A repeated query whose slot
// another query took in between is computed once more: between two commits 5,000
// other queries take a given slot with a chance of 7%.
const seenSlots = 1 << 16

var seenSeed = maphash.MakeSeed()

type answer struct {
	at  time.Time
	seq uint64
	rec *bufWriter
}

type queued struct {
	key string
	seq uint64
}

// get returns the kept answer for key if it was computed at ver less than
// maxAnswerAge before now.
func (c *answerCache) get(key string, ver store.DataVersion, now time.Time) *bufWriter {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	if !ok || c.ver != ver || now.Sub(a.at) >= maxAnswerAge {
		return nil
	}
	return a.rec
}

// put keeps rec as key's answer at ver, computed from at, if key was computed
// before (see seen), and reports whether it did. Answers of another version are
// dropped (a computation that started before a commit and ends after a newer
// answer was kept drops that one: it is computed again), then expired ones, then
// the oldest until rec fits.
func (c *answerCache) put(key string, ver store.DataVersion, at time.Time, rec *bufWriter) bool {
	size := len(rec.body) + len(key)
	if size > maxAnswerBytes/8 {
		return false
	}
	h := maphash.String(seenSeed, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = new([seenSlots]uint64)
	}
	if slot := &c.seen[h%seenSlots]; *slot != h {
		*slot = h
		return false
	}
	if c.m == nil || c.ver != ver {
		c.m, c.order, c.head, c.bytes, c.ver = map[string]answer{}, nil, 0, 0, ver
	}
	c.drop(key)
	for c.head < len(c.order) {
		q := c.order[c.head]
		a, ok := c.m[q.key]
		if ok && a.seq == q.seq && len(c.m) < maxAnswers && c.bytes+size <= maxAnswerBytes && at.Sub(a.at) < maxAnswerAge {
			break
		}
		if ok && a.seq == q.seq {
			c.drop(q.key)
		}
		c.order[c.head] = queued{}
		c.head++
	}
	if c.head > len(c.order)/2 { // reuse the front half: order stays within 2 × maxAnswers
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
	c.seq++
	c.m[key] = answer{at: at, seq: c.seq, rec: rec}
	c.order = append(c.order, queued{key, c.seq})
	c.bytes += size
	return true
}

func (c *answerCache) drop(key string) {
	if a, ok := c.m[key]; ok {
		c.bytes -= len(a.rec.body) + len(key)
		delete(c.m, key)
	}
}
