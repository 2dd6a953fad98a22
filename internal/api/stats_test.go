package api

import (
	"testing"
	"time"
)

// TestStatsStale: cheap counters are refreshed every statsFresh, costly ones after
// statsCostFactor times their cost.
func TestStatsStale(t *testing.T) {
	at := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cost, age time.Duration
		want      bool
	}{
		{10 * time.Millisecond, time.Second, false},
		{10 * time.Millisecond, statsFresh, true},
		{4500 * time.Millisecond, 44 * time.Second, false},
		{4500 * time.Millisecond, 45 * time.Second, true},
	} {
		e := &statsEntry{at: at, cost: c.cost}
		if got := e.stale(at.Add(c.age)); got != c.want {
			t.Errorf("cost %s, age %s: stale = %v, want %v", c.cost, c.age, got, c.want)
		}
	}
}
