package main

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"decnet/bench/internal/synth"
	"decnet/internal/bus"
	"decnet/internal/store"
)

// liveSection runs the closed loop of the API cells again while events are being
// stored (rate per second, one batch every 200 ms, through store.Ingest and
// bus.Publish as the ingester does): each commit changes the store's DataVersion,
// so the kept answers are recomputed after every batch — the dashboard's case
// during an attack, where the quiet-database table above flatters the shared
// queries.
func liveSection(work, baseURL, cookie string, st store.Store, live *bus.Bus, shapes []shape, only *regexp.Regexp, c int, dur time.Duration, rate int, load string) error {
	fmt.Printf("\nclosed loop, %d clients, while storing %d events/s (a commit every 200 ms), %s per cell\n", c, rate, dur)
	fmt.Printf("%-36s %5s | %9s %9s %8s | %s\n", "query", "conc", "api p50", "api p99", "api r/s", "stored")
	for _, s := range shapes {
		if !only.MatchString(s.name) {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var stored int
		var ierr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			stored, ierr = storeAtRate(ctx, st, live, rate)
		}()
		a, err := loadAPI(load, work, baseURL, cookie, s, c, dur)
		cancel()
		wg.Wait()
		if err != nil {
			return fmt.Errorf("%s (live): %w", s.name, err)
		}
		if ierr != nil {
			return fmt.Errorf("storing events during %s: %w", s.name, ierr)
		}
		fmt.Printf("%-36s %5d | %9s %9s %8.0f | %d events%s\n", s.name, c, ms(a.p50), ms(a.p99), a.rps, stored, a.cores())
	}
	return nil
}

// storeAtRate stores synthetic events at rate per second in batches every 200 ms
// until ctx ends, and returns how many it stored.
func storeAtRate(ctx context.Context, st store.Store, live *bus.Bus, rate int) (int, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	per := max(1, rate/5)
	stored := 0
	tag := time.Now().UnixNano()
	for {
		select {
		case <-ctx.Done():
			return stored, nil
		case <-tick.C:
		}
		recs := make([]store.Record, per)
		now := time.Now()
		for i := range recs {
			e := synth.Event(stored+i, now, time.Microsecond)
			e.ID = fmt.Sprintf("bench-live-%d-%d", tag, stored+i)
			recs[i] = store.Record{Event: e}
		}
		if err := storeAndPublish(st, live, recs); err != nil {
			return stored, err
		}
		stored += len(recs)
	}
}
