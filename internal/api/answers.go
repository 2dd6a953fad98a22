package api

import (
	"sync"
	"time"

	"decnet/internal/store"
)

// Bounds of the answer cache.
const (
	maxAnswers     = 256
	maxAnswerBytes = 32 << 20 // all kept bodies together
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
type answerCache struct {
	mu    sync.Mutex
	m     map[string]answer
	bytes int
}

type answer struct {
	ver store.DataVersion
	at  time.Time
	rec *bufWriter
}

// get returns the kept answer for key if it was computed at ver less than
// maxAnswerAge before now.
func (c *answerCache) get(key string, ver store.DataVersion, now time.Time) *bufWriter {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	if !ok || a.ver != ver || now.Sub(a.at) >= maxAnswerAge {
		return nil
	}
	return a.rec
}

// put keeps rec as key's answer at ver, computed from at. Outdated answers are
// dropped first to make room, then arbitrary ones.
func (c *answerCache) put(key string, ver store.DataVersion, at time.Time, rec *bufWriter) {
	size := len(rec.body) + len(key)
	if size > maxAnswerBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]answer{}
	}
	c.drop(key)
	if len(c.m) >= maxAnswers || c.bytes+size > maxAnswerBytes {
		for k, a := range c.m {
			if a.ver != ver || at.Sub(a.at) >= maxAnswerAge {
				c.drop(k)
			}
		}
	}
	for k := range c.m {
		if len(c.m) < maxAnswers && c.bytes+size <= maxAnswerBytes {
			break
		}
		c.drop(k)
	}
	c.m[key] = answer{ver: ver, at: at, rec: rec}
	c.bytes += size
}

func (c *answerCache) drop(key string) {
	if a, ok := c.m[key]; ok {
		c.bytes -= len(a.rec.body) + len(key)
		delete(c.m, key)
	}
}
