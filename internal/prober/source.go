package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"decnet/internal/event"
	"decnet/internal/spool"
)

// SpoolSink writes events into a spool directory (the prober's own: a spool.Writer
// holds its directory exclusively). Each event is synced before Emit returns.
type SpoolSink struct {
	mu sync.Mutex
	w  *spool.Writer
}

// OpenSpoolSink opens (creating) the spool directory dir for writing.
func OpenSpoolSink(dir string) (*SpoolSink, error) {
	w, err := spool.OpenWriter(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("prober: cannot open its spool: %w", err)
	}
	return &SpoolSink{w: w}, nil
}

// Emit formats e as its RFC 5424 line and appends the record durably.
func (s *SpoolSink) Emit(e event.Event) error {
	line, err := event.Format(e)
	if err != nil {
		return fmt.Errorf("prober: cannot format the event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
		return fmt.Errorf("prober: cannot append to its spool: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		return fmt.Errorf("prober: cannot sync its spool: %w", err)
	}
	return nil
}

// Close syncs and releases the spool.
func (s *SpoolSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Close()
}

// SpoolSource discovers attacker addresses from the events stored in a spool
// directory (for example the collector's), reading it from a cursor of its own that
// it keeps in CursorPath, so a restart resumes where it stopped.
type SpoolSource struct {
	Dir        string // the spool to read
	CursorPath string // the source's durable cursor ("seq:offset")
	// MaxAge skips events older than this (they are stale for probing); 0 keeps all.
	MaxAge time.Duration
	// Poll is how often to look for new records at the end of the spool (default 1 s).
	Poll time.Duration
	Log  *slog.Logger
	Now  func() time.Time
}

// Run sends the attacker address of every new event to out (in spool order,
// skipping the prober's own events and, in a row, repeats of one address) until
// ctx ends. It blocks while out is full. The cursor is saved at most every second
// and when Run returns; it only covers addresses already handed to out.
func (s SpoolSource) Run(ctx context.Context, out chan<- netip.Addr) error {
	if s.Poll <= 0 {
		s.Poll = time.Second
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	committed, err := LoadCursor(s.CursorPath)
	if err != nil {
		return err
	}
	saved := committed
	save := func() {
		if saved == committed {
			return
		}
		if err := writeFileAtomic(s.CursorPath, []byte(committed.String()+"\n")); err != nil {
			s.Log.Warn("cannot save the prober's spool cursor", "path", s.CursorPath, "err", err)
			return
		}
		saved = committed
	}
	defer save()

	var r *spool.Reader
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	wait := func() bool {
		t := time.NewTimer(s.Poll)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	lastSave := time.Now()
	var prev netip.Addr
	for ctx.Err() == nil {
		if r == nil {
			if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
				if !wait() {
					break
				}
				continue
			}
			if r, err = spool.OpenReader(s.Dir, committed); err != nil {
				return fmt.Errorf("prober: %w", err)
			}
		}
		rec, cur, err := r.Next()
		if errors.Is(err, spool.ErrNoData) {
			save()
			if !wait() {
				break
			}
			continue
		}
		var ce *spool.CorruptError
		if errors.As(err, &ce) {
			s.Log.Warn("skipping a corrupt spool record", "err", err)
			committed = cur
			continue
		}
		if err != nil {
			return fmt.Errorf("prober: cannot read the spool %s: %w", s.Dir, err)
		}
		if ip, ok := s.attacker(rec); ok && ip != prev {
			select {
			case out <- ip:
				prev = ip
			case <-ctx.Done():
				return nil // this record was not handed over: the cursor stays before it
			}
		}
		committed = cur
		if time.Since(lastSave) > time.Second {
			save()
			lastSave = time.Now()
		}
	}
	return nil
}

// attacker returns the address of the attacker an event is about, if it should be
// probed.
func (s SpoolSource) attacker(rec *spool.Record) (netip.Addr, bool) {
	if rec.Service == Name || rec.AttackerIP == "" {
		return netip.Addr{}, false
	}
	if s.MaxAge > 0 && !rec.Time.IsZero() && s.Now().Sub(rec.Time) > s.MaxAge {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(rec.AttackerIP)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// LoadCursor reads a cursor file; a missing file is the zero cursor (the spool's
// start).
func LoadCursor(path string) (spool.Cursor, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return spool.Cursor{}, nil
	}
	if err != nil {
		return spool.Cursor{}, fmt.Errorf("prober: cannot read its spool cursor: %w", err)
	}
	c, err := spool.ParseCursor(strings.TrimSpace(string(b)))
	if err != nil {
		return c, fmt.Errorf("prober: the spool cursor file %s is corrupt: %w", path, err)
	}
	return c, nil
}
