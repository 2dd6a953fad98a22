package store

import "sync"

// storedKeys remembers the dedup keys of bounty known to be stored, so that Ingest
// does not send the database rows that its unique key would only ignore. Real
// traffic repeats its fingerprints without end (every HTTP request carries its
// user agent, every SSH connection its client version and HASSH), so most of the
// bounty an ingester extracts is stored already: two in three items of
// bench/ingest's synthetic traffic, each costing a bound row and a seek of the
// unique index for nothing.
//
// A key enters only once the commit that stored it has returned (inserted then, or
// found there), so a batch that rolls back leaves no key behind; bounty rows are
// never deleted, so a key once stored stays stored (a feature that deletes bounty
// must forget its keys). A key it does not hold is simply inserted as before, so
// another process storing bounty in the same database changes nothing.
//
// Memory is bounded by two generations of at most storedKeysMax keys: when the
// young one is full the old one is dropped, and a key found in the old one moves
// into the young one, so the keys in use stay.
type storedKeys struct {
	mu         sync.Mutex
	max        int
	young, old map[string]struct{}
}

// storedKeysMax is the most keys a generation holds (each ~100 bytes with its map
// slot: at most ~13 MB for both).
const storedKeysMax = 65536

func newStoredKeys(max int) *storedKeys {
	return &storedKeys{max: max, young: make(map[string]struct{}), old: make(map[string]struct{})}
}

// unknown returns the items of bounty whose keys are not known to be stored, with
// their DedupKey set (bounty itself is not modified).
func (k *storedKeys) unknown(bounty []Bounty) []Bounty {
	out := make([]Bounty, 0, len(bounty))
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, b := range bounty {
		b.DedupKey = bountyDedupKey(b)
		if _, ok := k.young[b.DedupKey]; ok {
			continue
		}
		if _, ok := k.old[b.DedupKey]; ok {
			k.addLocked(b.DedupKey)
			continue
		}
		out = append(out, b)
	}
	return out
}

// stored records the keys of bounty (with DedupKey set) as stored: call it after
// the commit that inserted or found them.
func (k *storedKeys) stored(bounty []Bounty) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, b := range bounty {
		k.addLocked(b.DedupKey)
	}
}

func (k *storedKeys) addLocked(key string) {
	if len(k.young) >= k.max {
		k.old, k.young = k.young, make(map[string]struct{}, k.max)
	}
	k.young[key] = struct{}{}
}
