package api

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// rowCache keeps the JSON of stored events by logs id, as a search page writes
// them (appendLogJSON), so that a search reads only the ids it selects from the
// database (store.LogIDs: an index walk, no row) and copies the rows it has seen
// before. A stored event never changes, so an entry is never stale; an id that is
// no longer selected is simply not asked for. Every search differing (500 clients
// each looking up another attacker) made each answer read and encode its 100 rows
// again: ~85% of the server's CPU.
//
// It is bounded by bytes: each of its shards keeps two generations of entries, the
// current one taking new and recently used entries; when the current one reaches
// half the shard's budget it becomes the old one and the old one is dropped. An
// entry read from the old generation moves to the current one, so what searches
// keep returning stays and the rest ages out (an LRU approximation without a list
// to maintain). Entries live in 256 KiB slabs indexed by tables of plain integers:
// neither holds a pointer per entry, so the garbage collector does not walk a
// million entries on every cycle. The zero value is not usable: see newRowCache.
type rowCache struct {
	shards [rowShards]rowShard
	half   int64 // byte budget of one shard's generation
}

const (
	rowShards = 16
	rowSlab   = 256 << 10 // bytes of one slab (at most 1 MiB: see rowGen); no entry is larger
	rowChunk  = 128       // slots of one chunk of a generation's index (1 KiB)
	// rowChunkCost is what a chunk costs: its slots and its place in the map.
	rowChunkCost = rowChunk*8 + 48
)

type rowShard struct {
	mu       sync.Mutex
	cur, old rowGen
}

// rowGen is one generation. Its index is a table of slots by id: a shard's ids
// (id / rowShards) in chunks of rowChunk consecutive ones, found through a small
// map of chunk numbers. A slot holds where the entry's bytes are, packed as
// slab<<41 | offset<<21 | length, or 0 for no entry (no entry is empty). The ids
// of a page lie in a few chunks, so looking them up costs a few cache lines where
// a map of ids cost a miss or two per id (~37 µs of a 100-event page). A chunk
// costs 1 KiB even for one entry: the budget counts it.
type rowGen struct {
	chunks map[uint64]*[rowChunk]uint64
	slabs  [][]byte
	used   int64 // bytes of slabs and chunks taken
	// the chunk of the last lookup, and its number
	last    *[rowChunk]uint64
	lastNum uint64
}

// slot returns id's slot, or nil when its chunk does not exist and create is false.
func (g *rowGen) slot(id int64, create bool) *uint64 {
	k := uint64(id) / rowShards
	num := k / rowChunk
	if g.last == nil || g.lastNum != num {
		c := g.chunks[num]
		if c == nil {
			if !create {
				return nil
			}
			c = new([rowChunk]uint64)
			g.chunks[num] = c
			g.used += rowChunkCost
		}
		g.last, g.lastNum = c, num
	}
	return &g.last[k%rowChunk]
}

func (g *rowGen) get(id int64) ([]byte, bool) {
	sl := g.slot(id, false)
	if sl == nil || *sl == 0 {
		return nil, false
	}
	at := *sl
	slab, off, n := at>>41, at>>21&(1<<20-1), at&(1<<21-1)
	return g.slabs[slab][off : off+n : off+n], true
}

func (g *rowGen) has(id int64) bool {
	sl := g.slot(id, false)
	return sl != nil && *sl != 0
}

func (g *rowGen) del(id int64) {
	if sl := g.slot(id, false); sl != nil {
		*sl = 0
	}
}

// cost is what adding an entry of n bytes for id would add to used.
func (g *rowGen) cost(id int64, n int) int64 {
	var c int64
	if last := len(g.slabs) - 1; last < 0 || len(g.slabs[last])+n > rowSlab {
		c += rowSlab
	}
	if g.slot(id, false) == nil {
		c += rowChunkCost
	}
	return c
}

// add appends b as id's entry (b is 1 to rowSlab bytes; id has none).
func (g *rowGen) add(id int64, b []byte) {
	last := len(g.slabs) - 1
	if last < 0 || len(g.slabs[last])+len(b) > rowSlab {
		g.slabs = append(g.slabs, make([]byte, 0, rowSlab))
		g.used += rowSlab
		last++
	}
	off := len(g.slabs[last])
	g.slabs[last] = append(g.slabs[last], b...)
	*g.slot(id, true) = uint64(last)<<41 | uint64(off)<<21 | uint64(len(b))
}

// DefaultRowCache is the row cache's budget unless one is configured: an eighth of
// the memory this process may use (the machine's, or its cgroup's limit when that
// is lower). A million events take ~600 MB of JSON; the warm-up (warmRows) fills
// the cache up to half its budget.
func DefaultRowCache() int64 {
	total := int64(4 << 30) // if the kernel does not say
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil && si.Totalram > 0 {
		total = int64(si.Totalram) * int64(si.Unit)
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < total {
			total = n // "max" (no limit) does not parse
		}
	}
	return total / 8
}

// newRowCache returns a cache of about budget bytes; nil (no cache) when budget is
// too small to give each shard's generation a few slabs.
func newRowCache(budget int64) *rowCache {
	half := budget / rowShards / 2
	if half < 4*rowSlab {
		return nil
	}
	c := &rowCache{half: half}
	for i := range c.shards {
		c.shards[i].cur.chunks = map[uint64]*[rowChunk]uint64{}
	}
	return c
}

// getMany sets items[i] to the JSON kept for ids[i] and returns missing with the
// ids that are not kept appended; the caller must not modify the items. Each
// shard is locked once for all its ids.
func (c *rowCache) getMany(ids []int64, items [][]byte, missing []int64) []int64 {
	for s := range c.shards {
		sh := &c.shards[s]
		locked := false
		for i, id := range ids {
			if uint64(id)%rowShards != uint64(s) {
				continue
			}
			if !locked {
				sh.mu.Lock()
				locked = true
			}
			b, ok := sh.cur.get(id)
			if !ok {
				if b, ok = sh.old.get(id); ok {
					sh.old.del(id)
					sh.add(c.half, id, b)
				}
			}
			if ok {
				items[i] = b
			}
		}
		if locked {
			sh.mu.Unlock()
		}
	}
	for i, id := range ids {
		if items[i] == nil {
			missing = append(missing, id)
		}
	}
	return missing
}

// takes reports whether an entry of n bytes may be kept: not an empty one, nor one
// over a slab or an eighth of a generation (one huge event would push out thousands).
func (c *rowCache) takes(n int) bool {
	return n > 0 && n <= rowSlab && int64(n) <= c.half/8
}

// put keeps a copy of b as the JSON of id (if takes allows).
func (c *rowCache) put(id int64, b []byte) {
	if !c.takes(len(b)) {
		return
	}
	sh := &c.shards[uint64(id)%rowShards]
	sh.mu.Lock()
	if !sh.cur.has(id) {
		sh.old.del(id)
		sh.add(c.half, id, b)
	}
	sh.mu.Unlock()
}

// bytes is about how much memory the entries take.
func (c *rowCache) bytes() int64 {
	var n int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += sh.cur.used + sh.old.used
		sh.mu.Unlock()
	}
	return n
}

// fill keeps a copy of b as the JSON of id only if its shard's current generation
// has room for it: unlike put it never retires a generation, so it cannot push out
// what searches keep. It reports whether b is kept (or was already).
func (c *rowCache) fill(id int64, b []byte) bool {
	if !c.takes(len(b)) {
		return true // never kept, and no sign that the cache is full
	}
	sh := &c.shards[uint64(id)%rowShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.cur.has(id) || sh.old.has(id) {
		return true
	}
	if sh.cur.used+sh.cur.cost(id, len(b)) > c.half {
		return false
	}
	sh.cur.add(id, b)
	return true
}

// add copies b into the current generation as id's entry, first retiring the
// generation when b would not fit in its budget.
func (sh *rowShard) add(half, id int64, b []byte) {
	if sh.cur.used+sh.cur.cost(id, len(b)) > half {
		sh.old = sh.cur
		sh.cur = rowGen{chunks: make(map[uint64]*[rowChunk]uint64, len(sh.old.chunks))}
	}
	sh.cur.add(id, b)
}
