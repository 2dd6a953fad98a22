package collector

// Pure line logic: turning Docker log frames into lines (assembler) and deciding which
// lines of a re-opened log stream were already collected (skipper).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// MaxLineBytes bounds one collected line (without its "\n"): an event line at its
// maximum plus a CR and slack. Longer lines are cut to this length and quarantined.
const MaxLineBytes = maxEventLine + 2

// maxTimestamp bounds the Docker timestamp prefix of a frame ("2006-01-02T15:04:05.000000000Z ").
const maxTimestamp = 64

// line is one complete log line of a container.
type line struct {
	ts      time.Time // Docker's timestamp of the line (all its partial messages share it)
	rawTS   string    // the timestamp as Docker wrote it
	data    []byte    // the line without its trailing "\n" (and "\r"); valid until the next frame
	dropped int64     // bytes cut off because the line was longer than the limit
	badTS   bool      // a frame had no parseable Docker timestamp
}

// assembler turns Docker log messages into lines. With Timestamps enabled every
// message is "<RFC3339Nano> <content>"; a line longer than Docker's 16 KiB buffer
// arrives as several messages (partials) that share one timestamp, only the last of
// which ends in "\n". Memory is bounded by max bytes per stream.
type assembler struct {
	max     int
	buf     []byte
	pending bool // a partial line is buffered
	cur     line
	lastTS  time.Time
	lastRaw string
	emit    func(*line) error
}

func newAssembler(max int, emit func(*line) error) *assembler {
	return &assembler{max: max, emit: emit}
}

// splitTimestamp splits "<ts> <content>" into its parts.
func splitTimestamp(p []byte) (time.Time, string, []byte, bool) {
	lim := len(p)
	if lim > maxTimestamp {
		lim = maxTimestamp
	}
	i := bytes.IndexByte(p[:lim], ' ')
	if i <= 0 {
		return time.Time{}, "", p, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(p[:i]))
	if err != nil {
		return time.Time{}, "", p, false
	}
	return ts, string(p[:i]), p[i+1:], true
}

// frame takes one timestamped message.
func (a *assembler) frame(p []byte) error {
	ts, raw, content, ok := splitTimestamp(p)
	if !a.pending {
		a.cur = line{ts: ts, rawTS: raw, badTS: !ok}
		if !ok { // attribute it to the last known time: it cannot move a cursor backwards
			a.cur.ts, a.cur.rawTS = a.lastTS, a.lastRaw
		}
	} else if !ok {
		// A continuation without a timestamp (raw TTY streams) is content.
		content = p
	}
	return a.content(content)
}

// cont takes content that continues the current line (raw TTY streams read in chunks).
func (a *assembler) cont(p []byte) error {
	if !a.pending {
		return a.frame(p)
	}
	return a.content(p)
}

func (a *assembler) content(c []byte) error {
	end := len(c) > 0 && c[len(c)-1] == '\n'
	if end {
		c = c[:len(c)-1]
	}
	if room := a.max - len(a.buf); room < len(c) {
		if room < 0 {
			room = 0
		}
		a.cur.dropped += int64(len(c) - room)
		c = c[:room]
	}
	a.buf = append(a.buf, c...)
	if !end {
		a.pending = true
		return nil
	}
	return a.finish()
}

// finish emits the buffered line.
func (a *assembler) finish() error {
	a.pending = false
	data := a.buf
	if n := len(data); n > 0 && data[n-1] == '\r' && a.cur.dropped == 0 {
		data = data[:n-1]
	}
	a.cur.data = data
	if !a.cur.badTS {
		a.lastTS, a.lastRaw = a.cur.ts, a.cur.rawTS
	}
	err := a.emit(&a.cur)
	a.buf = a.buf[:0]
	if cap(a.buf) > 256<<10 { // do not keep a huge buffer for an idle stream
		a.buf = nil
	}
	return err
}

// flush emits a partial line left at the end of a stream that will never complete
// (the container is stopped).
func (a *assembler) flush() error {
	if !a.pending {
		return nil
	}
	return a.finish()
}

// Write makes the assembler an io.Writer for stdcopy.StdCopy, which writes each frame
// of the multiplexed stream (one Docker log message) with one Write call.
func (a *assembler) Write(p []byte) (int, error) {
	if err := a.frame(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Position is a container's log cursor: the Docker timestamp of the last line
// collected and how many lines with exactly that timestamp were collected (several
// lines can share a timestamp; partial messages of one line always do).
type Position struct {
	TS time.Time `json:"ts"`
	N  int       `json:"n"`
}

// MarshalJSON writes TS in RFC3339Nano so no precision is lost.
func (p Position) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		TS string `json:"ts"`
		N  int    `json:"n"`
	}{p.TS.UTC().Format(time.RFC3339Nano), p.N})
}

// UnmarshalJSON reads the MarshalJSON form.
func (p *Position) UnmarshalJSON(b []byte) error {
	var v struct {
		TS string `json:"ts"`
		N  int    `json:"n"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, v.TS)
	if err != nil {
		return fmt.Errorf("bad cursor timestamp %q: %w", v.TS, err)
	}
	if v.N < 0 {
		return fmt.Errorf("bad cursor count %d", v.N)
	}
	*p = Position{TS: t, N: v.N}
	return nil
}

// since is the Docker `since` to open a stream at p: a second early, so that engines
// that round `since` to seconds, or treat it as exclusive, still return every line at
// p.TS (the skipper drops the ones already collected).
func (p Position) since() string {
	if p.TS.IsZero() {
		return ""
	}
	return p.TS.Add(-time.Second).UTC().Format(time.RFC3339Nano)
}

// skipper decides, for a log stream opened at a Position, which lines are new. Docker
// returns lines in log order from `since` on: the lines before the position, and the
// first N lines at exactly its timestamp, were collected already. Once one line is
// new, every later line of the same stream is new (even one whose timestamp went
// backwards with the clock).
type skipper struct {
	pos  Position
	live bool
	seen int // lines at pos.TS seen so far while replaying
}

func newSkipper(p Position) *skipper { return &skipper{pos: p, live: p.TS.IsZero()} }

// admit reports whether a line with timestamp ts is new, and advances the position.
func (s *skipper) admit(ts time.Time) bool {
	if !s.live {
		switch c := ts.Compare(s.pos.TS); {
		case c < 0:
			return false
		case c == 0:
			s.seen++
			if s.seen <= s.pos.N {
				return false
			}
		}
		s.live = true
	}
	switch {
	case ts.Equal(s.pos.TS):
		s.pos.N++
	case ts.After(s.pos.TS):
		s.pos = Position{TS: ts, N: 1}
	}
	return true
}
