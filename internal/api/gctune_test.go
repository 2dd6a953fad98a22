package api

import "testing"

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		live, cache int64
		want        int
	}{
		{0, 0, 0},                  // nothing read yet
		{100 << 20, 0, 100},        // no cache: Go's default
		{700 << 20, 600 << 20, 14}, // the rest (100 MB) of 700 MB
		{700 << 20, 690 << 20, 9},  // at least 64 MiB of headroom
		{50 << 20, 0, 100},         // never above 100
		{10 << 30, 10<<30 - 1, 1},  // never below 1
	} {
		if got := gcPercent(tc.live, tc.cache); got != tc.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", tc.live>>20, tc.cache>>20, got, tc.want)
		}
	}
}
