// Package bus is the in-process live feed of stored events: the ingester publishes
// every newly stored logs row (with its database id) after the transaction that
// stored it commits, and readers such as the API's live stream subscribe.
//
// Publishing never blocks. Each subscription has a bounded buffer; a subscriber that
// lets it fill up is disconnected: its channel is closed and Err reports ErrLagged.
// Nothing is dropped silently and no gap is hidden: every row a subscriber received
// is in the database, in id order, so a lagged subscriber resumes by reading the
// database from LastID (store.LogQuery{AfterID: sub.LastID(), Ascending: true}) and
// then subscribing again. The gap-free pattern for a live reader is:
//
//	sub := b.Subscribe(filter, 256)        // 1. subscribe first
//	rows := store.Logs(AfterID: last)      // 2. catch up from the database
//	for row := range sub.C {               // 3. then the live feed, skipping
//		if row.ID <= last { continue }     //    rows already read in step 2
//		…
//	}
//	if errors.Is(sub.Err(), bus.ErrLagged) { go back to 1 with last = sub.LastID() }
//
// Disconnect was chosen over drop-oldest because a stream that silently skips rows
// looks complete when it is not; a closed channel plus an id to resume from is a
// signal a client cannot miss.
package bus

import (
	"errors"
	"strings"
	"sync"

	"decnet/internal/store"
)

// ErrLagged is the error of a subscription the bus disconnected because its buffer
// was full.
var ErrLagged = errors.New("bus: subscriber fell behind and was disconnected; resume from the database after LastID")

// Filter selects rows for a subscription; nil selects every row. It runs in the
// publisher's goroutine and must be fast and not block.
type Filter func(*store.LogRow) bool

// DefaultBuffer is the buffer of a subscription asked for with buffer ≤ 0.
const DefaultBuffer = 1024

// Bus fans stored rows out to subscribers. The zero Bus is not usable; call New.
type Bus struct {
	mu        sync.Mutex
	subs      map[*Subscription]struct{}
	published uint64
	lagged    uint64
	closed    bool
}

// New returns an empty bus.
func New() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscription is one subscriber's feed. C is closed when the subscription ends:
// by Cancel (Err is nil), by the bus disconnecting a slow subscriber (Err is
// ErrLagged) or by Close of the bus (Err is ErrClosed).
type Subscription struct {
	C <-chan store.LogRow

	bus    *Bus
	ch     chan store.LogRow
	filter Filter
	last   int64 // id of the last row put in ch; guarded by bus.mu
	err    error // guarded by bus.mu
	done   bool  // guarded by bus.mu
}

// ErrClosed is the error of subscriptions ended by Bus.Close.
var ErrClosed = errors.New("bus: closed")

// Subscribe starts a subscription with a buffer of buffer rows (≤ 0: DefaultBuffer).
// Subscribing to a closed bus returns a subscription that is already closed.
func (b *Bus) Subscribe(filter Filter, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	ch := make(chan store.LogRow, buffer)
	s := &Subscription{C: ch, bus: b, ch: ch, filter: filter}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.endLocked(ErrClosed)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Cancel ends the subscription; C is closed. It is safe to call more than once and
// concurrently with Publish.
func (s *Subscription) Cancel() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if !s.done {
		delete(s.bus.subs, s)
		s.endLocked(nil)
	}
}

// Err says why C was closed: nil after Cancel (or while open), ErrLagged when the
// subscriber fell behind, ErrClosed when the bus was closed.
func (s *Subscription) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

// LastID is the id of the last row delivered into C (0 before the first). After
// ErrLagged, every matching row with a larger id is still to be read from the
// database.
func (s *Subscription) LastID() int64 {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.last
}

func (s *Subscription) endLocked(err error) {
	s.done, s.err = true, err
	close(s.ch)
}

// Publish delivers rows, in order, to every subscription whose filter accepts them.
// It never blocks: a subscription whose buffer is full is disconnected with
// ErrLagged. Rows are delivered by value; their Fields map is shared and must not be
// modified by subscribers.
func (b *Bus) Publish(rows []store.LogRow) {
	if len(rows) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.published += uint64(len(rows))
	for s := range b.subs {
		for i := range rows {
			if s.filter != nil && !s.filter(&rows[i]) {
				continue
			}
			select {
			case s.ch <- rows[i]:
				s.last = rows[i].ID
				continue
			default:
			}
			b.lagged++
			delete(b.subs, s)
			s.endLocked(ErrLagged)
			break
		}
	}
}

// Close ends every subscription with ErrClosed; later Publish calls deliver nothing
// and later subscriptions start closed.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		s.endLocked(ErrClosed)
	}
}

// Stats is a snapshot of the bus counters.
type Stats struct {
	Subscribers int    // open subscriptions
	Published   uint64 // rows published
	Lagged      uint64 // subscriptions disconnected for falling behind
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Subscribers: len(b.subs), Published: b.published, Lagged: b.lagged}
}

// Match returns a Filter that accepts the rows q selects, with the store's meaning
// of each LogQuery field (decky, service, event type, attacker IP and field values
// byte for byte; each free-text term a case-sensitive substring of msg, raw_line or
// a field value; Since inclusive, Until exclusive; AfterID/BeforeID exclusive).
// Limit and ordering do not apply to a live feed.
func Match(q store.LogQuery) Filter {
	terms := q.Text
	return func(r *store.LogRow) bool {
		switch {
		case q.Decky != "" && r.Decky != q.Decky,
			q.Service != "" && r.Service != q.Service,
			q.EventType != "" && r.Type != q.EventType,
			q.AttackerIP != "" && r.AttackerIP != q.AttackerIP,
			!q.Since.IsZero() && r.Time.Before(q.Since),
			!q.Until.IsZero() && !r.Time.Before(q.Until),
			q.AfterID != 0 && r.ID <= q.AfterID,
			q.BeforeID != 0 && r.ID >= q.BeforeID:
			return false
		}
		for k, v := range q.Fields {
			if got, ok := r.Fields[k]; !ok || got != v {
				return false
			}
		}
		for _, t := range terms {
			if !strings.Contains(r.Msg, t) && !strings.Contains(r.RawLine, t) && !fieldsContain(r.Fields, t) {
				return false
			}
		}
		return true
	}
}

func fieldsContain(f map[string]string, term string) bool {
	for _, v := range f {
		if strings.Contains(v, term) {
			return true
		}
	}
	return false
}
