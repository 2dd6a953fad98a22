package analysis

import (
	"math"
	"slices"
	"time"
)

// welford is a running mean and variance (Welford's algorithm) with min and max:
// constant memory, numerically stable, and resumable from its JSON form.
type welford struct {
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	M2   float64 `json:"m2"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

func (w *welford) add(x float64) {
	w.N++
	if w.N == 1 {
		w.Min, w.Max = x, x
	} else {
		w.Min, w.Max = math.Min(w.Min, x), math.Max(w.Max, x)
	}
	d := x - w.Mean
	w.Mean += d / float64(w.N)
	w.M2 += d * (x - w.Mean)
}

// stdev is the population standard deviation.
func (w *welford) stdev() float64 {
	if w.N < 2 {
		return 0
	}
	return math.Sqrt(w.M2 / float64(w.N))
}

// cv is the coefficient of variation (stdev / mean), 0 for a zero mean.
func (w *welford) cv() float64 {
	if w.Mean <= 0 {
		return 0
	}
	return w.stdev() / w.Mean
}

// reservoir is a uniform sample of at most Cap values (Vitter's algorithm R) for
// the median. The "random" index is a hash of the running count, so the same
// stream always keeps the same sample, before and after a restart.
type reservoir struct {
	Seen int64     `json:"seen"`
	S    []float64 `json:"s"`
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (r *reservoir) add(x float64, capacity int) {
	r.Seen++
	if len(r.S) < capacity {
		r.S = append(r.S, x)
		return
	}
	if j := splitmix64(uint64(r.Seen)) % uint64(r.Seen); j < uint64(len(r.S)) {
		r.S[j] = x
	}
}

func (r *reservoir) median() float64 {
	if len(r.S) == 0 {
		return 0
	}
	s := slices.Clone(r.S)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Timing constants.
const (
	burstGap       = time.Second      // events closer than this are one burst
	sessionGap     = 2 * time.Second  // a pause at least this long starts a new "session" (beacon periodicity)
	reservoirCap   = 256              // intervals kept for the median
	cmdReservoir   = 64               // inter-command pauses kept for the median
	cmdSessionGap  = 30 * time.Minute // longer pauses between commands are not "thinking time"
	maxIntervalSec = 366 * 24 * 3600.0
)

// timing accumulates the intervals between an attacker's consecutive activity
// events: mean/stdev/min/max (Welford), median (reservoir), bursts (runs of events
// less than burstGap apart) and, for beacons, the intervals between session
// starts (an event after a pause of at least sessionGap starts a session).
type timing struct {
	Events   int64     `json:"events"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	W        welford   `json:"w"`
	R        reservoir `json:"r"`
	Run      int64     `json:"run"` // events in the current burst (0 = not in one)
	Bursts   int64     `json:"bursts"`
	Longest  int64     `json:"longest"`
	Sessions int64     `json:"sessions"`
	SessAt   time.Time `json:"sess_at"` // start of the current session
	SessW    welford   `json:"sess_w"`  // intervals between session starts, seconds
}

// add records one event at t. Events may arrive slightly out of order (several
// spools): an event older than the last one counts as a zero interval.
func (tm *timing) add(t time.Time) {
	tm.Events++
	if tm.Events == 1 {
		tm.First, tm.Last, tm.SessAt, tm.Sessions = t, t, t, 1
		return
	}
	if t.Before(tm.First) {
		tm.First = t
	}
	d := t.Sub(tm.Last)
	if d < 0 {
		d = 0
	}
	sec := math.Min(d.Seconds(), maxIntervalSec)
	tm.W.add(sec)
	tm.R.add(sec, reservoirCap)
	if d < burstGap {
		if tm.Run == 0 {
			tm.Run = 2
			tm.Bursts++
		} else {
			tm.Run++
		}
		tm.Longest = max(tm.Longest, tm.Run)
	} else {
		tm.Run = 0
	}
	if d >= sessionGap {
		tm.Sessions++
		tm.SessW.add(math.Min(t.Sub(tm.SessAt).Seconds(), maxIntervalSec))
		tm.SessAt = t
	}
	if t.After(tm.Last) {
		tm.Last = t
	}
}

// cmdTiming accumulates the pauses between consecutive commands (thinking and
// typing time), ignoring pauses longer than cmdSessionGap.
type cmdTiming struct {
	Last time.Time `json:"last"`
	W    welford   `json:"w"`
	R    reservoir `json:"r"`
}

func (c *cmdTiming) add(t time.Time) {
	if !c.Last.IsZero() {
		d := t.Sub(c.Last)
		if d >= 0 && d <= cmdSessionGap {
			c.W.add(d.Seconds())
			c.R.add(d.Seconds(), cmdReservoir)
		}
	}
	if t.After(c.Last) {
		c.Last = t
	}
}
