package bus

import (
	"errors"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

func rows(from, n int) []store.LogRow {
	out := make([]store.LogRow, n)
	for i := range out {
		id := int64(from + i)
		out[i] = store.LogRow{ID: id, Record: store.Record{Event: event.Event{ID: "e", Decky: "d", Service: "ssh", Type: "auth"}}}
	}
	return out
}

func TestDeliveryOrderAndFilter(t *testing.T) {
	b := New()
	all := b.Subscribe(nil, 100)
	even := b.Subscribe(func(r *store.LogRow) bool { return r.ID%2 == 0 }, 100)
	b.Publish(rows(1, 10))
	for want := int64(1); want <= 10; want++ {
		if r := <-all.C; r.ID != want {
			t.Fatalf("got id %d, want %d", r.ID, want)
		}
	}
	for want := int64(2); want <= 10; want += 2 {
		if r := <-even.C; r.ID != want {
			t.Fatalf("filtered: got id %d, want %d", r.ID, want)
		}
	}
	if all.LastID() != 10 || even.LastID() != 10 {
		t.Errorf("LastID %d %d", all.LastID(), even.LastID())
	}
	all.Cancel()
	all.Cancel() // idempotent
	if _, ok := <-all.C; ok || all.Err() != nil {
		t.Errorf("after Cancel: open=%v err=%v", ok, all.Err())
	}
	if s := b.Stats(); s.Subscribers != 1 || s.Published != 10 || s.Lagged != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestSlowSubscriberIsDisconnectedNotBlocking(t *testing.T) {
	b := New()
	slow := b.Subscribe(nil, 4)
	fast := b.Subscribe(nil, 1000)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			b.Publish(rows(1+i*5, 5))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that reads nothing")
	}
	// The slow one got exactly its buffer, then a closed channel and ErrLagged.
	var got []int64
	for r := range slow.C {
		got = append(got, r.ID)
	}
	if len(got) != 4 || got[3] != 4 || !errors.Is(slow.Err(), ErrLagged) || slow.LastID() != 4 {
		t.Fatalf("slow subscriber: got %v, err %v, last %d", got, slow.Err(), slow.LastID())
	}
	// The fast one is unaffected and has all 500.
	n := 0
	for len(fast.C) > 0 {
		r := <-fast.C
		n++
		if r.ID != int64(n) {
			t.Fatalf("fast subscriber: row %d has id %d", n, r.ID)
		}
	}
	if n != 500 || fast.Err() != nil {
		t.Fatalf("fast subscriber got %d rows, err %v", n, fast.Err())
	}
	if s := b.Stats(); s.Lagged != 1 || s.Subscribers != 1 {
		t.Errorf("stats %+v", s)
	}
	// Cancel after a lag keeps ErrLagged.
	slow.Cancel()
	if !errors.Is(slow.Err(), ErrLagged) {
		t.Errorf("Cancel after lag changed Err to %v", slow.Err())
	}
}

func TestManySubscribersConcurrently(t *testing.T) {
	b := New()
	const subs, batches, per = 50, 200, 10
	var wg sync.WaitGroup
	counts := make([]int, subs)
	for i := 0; i < subs; i++ {
		s := b.Subscribe(nil, 64)
		wg.Add(1)
		go func(i int, s *Subscription) {
			defer wg.Done()
			last := int64(0)
			for r := range s.C {
				if r.ID != last+1 {
					t.Errorf("subscriber %d: id %d after %d", i, r.ID, last)
					return
				}
				last = r.ID
				counts[i]++
			}
			// Either all rows arrived (closed by Close) or it lagged and knows where to resume.
			if errors.Is(s.Err(), ErrLagged) && s.LastID() != last {
				t.Errorf("subscriber %d: LastID %d, last received %d", i, s.LastID(), last)
			}
		}(i, s)
	}
	// Subscribers joining and leaving while publishing must not race.
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s := b.Subscribe(nil, 1)
				s.Cancel()
			}
		}
	}()
	for i := 0; i < batches; i++ {
		b.Publish(rows(1+i*per, per))
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	churn.Wait()
	b.Close()
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	st := b.Stats()
	if st.Published != batches*per || st.Subscribers != 0 {
		t.Errorf("stats %+v", st)
	}
	if total == 0 {
		t.Error("no subscriber received anything")
	}
	if s := b.Subscribe(nil, 1); !errors.Is(s.Err(), ErrClosed) {
		t.Errorf("subscribe after Close: %v", s.Err())
	}
}

func TestMatch(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &store.LogRow{ID: 7, Record: store.Record{Event: event.Event{Decky: "d1", Service: "ssh", Type: "auth",
		AttackerIP: "10.0.0.5", Time: t0, Fields: map[string]string{"username": "Root", "password": "Hunter2"}, Msg: "login"},
		RawLine: "<132>1 raw"}}
	tests := []struct {
		q    store.LogQuery
		want bool
	}{
		{store.LogQuery{}, true},
		{store.LogQuery{Decky: "d1", Service: "ssh", EventType: "auth", AttackerIP: "10.0.0.5"}, true},
		{store.LogQuery{Decky: "d2"}, false},
		{store.LogQuery{Service: "http"}, false},
		{store.LogQuery{EventType: "connect"}, false},
		{store.LogQuery{AttackerIP: "10.0.0.6"}, false},
		{store.LogQuery{Fields: map[string]string{"username": "Root"}}, true},
		{store.LogQuery{Fields: map[string]string{"username": "root"}}, false},
		{store.LogQuery{Fields: map[string]string{"missing": ""}}, false},
		{store.LogQuery{Text: []string{"Hunter"}}, true},
		{store.LogQuery{Text: []string{"hunter"}}, false},
		{store.LogQuery{Text: []string{"login", "raw"}}, true},
		{store.LogQuery{Text: []string{"login", "absent"}}, false},
		{store.LogQuery{Since: t0, Until: t0.Add(time.Second)}, true},
		{store.LogQuery{Since: t0.Add(time.Nanosecond)}, false},
		{store.LogQuery{Until: t0}, false},
		{store.LogQuery{AfterID: 6, BeforeID: 8}, true},
		{store.LogQuery{AfterID: 7}, false},
		{store.LogQuery{BeforeID: 7}, false},
	}
	for i, tc := range tests {
		if got := Match(tc.q)(r); got != tc.want {
			t.Errorf("%d: Match(%+v) = %v, want %v", i, tc.q, got, tc.want)
		}
	}
}
