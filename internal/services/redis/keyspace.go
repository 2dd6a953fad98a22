package redis

import (
	"sort"
	"time"
)

// Bounds of one connection's keyspace copy (all databases together). Beyond them a
// write is refused with Redis's OOM error.
const (
	MaxKeys      = 1024
	MaxDataBytes = 4 << 20
)

type entry struct {
	val    []byte
	expire time.Time // zero: no TTL
}

// keyspace is one logical database of a connection. Values are strings only: every
// bait key is a string, and SET is the only write an attacker gets.
type keyspace struct {
	m map[string]entry
}

func newKeyspace() *keyspace { return &keyspace{m: map[string]entry{}} }

// bait are the keys a freshly connected client finds in db 0: what an application
// cache / session store exposed on a LAN tends to hold.
var bait = []struct {
	key, val string
	ttl      time.Duration
}{
	{"sess:b7c2e1f04a9d4c3e8f51d2a6", `{"user_id":1042,"username":"jsmith","role":"admin","ip":"10.0.4.23"}`, 47 * time.Minute},
	{"sess:1e0d9ac37f2b48e6a4c05b91", `{"user_id":1187,"username":"mlopez","role":"user","ip":"10.0.4.61"}`, 22 * time.Minute},
	{"cache:stats:daily", `{"visits":18234,"signups":41,"orders":97}`, 0},
	{"config:app", `{"db_host":"10.0.0.12","db_name":"shop","db_user":"shop_app","smtp_relay":"mail.internal"}`, 0},
	{"queue:jobs:pending", "17", 0},
	{"lock:cron:backup", "1", 9 * time.Minute},
	{"rate:login:10.0.4.23", "3", 54 * time.Second},
}

func baitKeyspace(now time.Time) *keyspace {
	ks := newKeyspace()
	for _, b := range bait {
		e := entry{val: []byte(b.val)}
		if b.ttl > 0 {
			e.expire = now.Add(b.ttl)
		}
		ks.m[b.key] = e
	}
	return ks
}

// get returns a live entry, dropping it when expired.
func (ks *keyspace) get(key string, now time.Time) (entry, bool) {
	e, ok := ks.m[key]
	if !ok {
		return e, false
	}
	if !e.expire.IsZero() && !now.Before(e.expire) {
		delete(ks.m, key)
		return e, false
	}
	return e, true
}

// keys returns the live keys in a stable order.
func (ks *keyspace) keys(now time.Time) []string {
	out := make([]string, 0, len(ks.m))
	for k := range ks.m {
		if _, ok := ks.get(k, now); ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (ks *keyspace) size() (keys, bytes int) {
	for k, e := range ks.m {
		keys++
		bytes += len(k) + len(e.val)
	}
	return
}

func (ks *keyspace) expires() int {
	n := 0
	for _, e := range ks.m {
		if !e.expire.IsZero() {
			n++
		}
	}
	return n
}
