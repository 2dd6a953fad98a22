// Package spool is the durable hand-off between the event producers (collector,
// sniffer, prober) and the ingester: an append-only directory of JSONL segment files.
//
// A segment is named events-<seq>.jsonl with a 20-digit sequence number; the newest is
// the one being written. A segment is never modified once a newer one exists, so a
// reader's position is a Cursor{Seq, Offset} that stays valid across rotation and
// restarts (no inode games). One record is one line: the parsed event plus raw_line.
// Only complete lines (ending in '\n') are ever returned to a reader, so a writer that
// dies mid-line loses nothing that was acknowledged and never yields half a record.
package spool

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"decnet/internal/event"
)

// Record is one spooled event: the parsed event and the exact line it came from.
type Record struct {
	event.Event
	RawLine string `json:"raw_line"`
	// FieldsJSON is set by the Reader (Append ignores it): the record's fields
	// object exactly as its line holds it, when that is compact JSON of strings
	// without a single escape, names strictly increasing — as encoding/json writes
	// a map of plain text. "" otherwise. The ingester hands it to the store, which
	// stores it as it is when it is the store's own encoding of Fields, instead of
	// encoding Fields again.
	FieldsJSON string `json:"-"`
}

// DefaultSegmentSize is the size at which the writer starts a new segment.
const DefaultSegmentSize = 64 << 20

// MaxRecord bounds one JSONL record: an event line at its maximum, escaped twice
// (once as JSON of the parsed fields, once as raw_line), plus slack.
const MaxRecord = 3*event.MaxLine + 64<<10

const (
	prefix = "events-"
	suffix = ".jsonl"
)

// SegmentName is the file name of segment seq.
func SegmentName(seq uint64) string { return fmt.Sprintf("%s%020d%s", prefix, seq, suffix) }

// parseSegment returns the sequence number of a segment file name.
func parseSegment(name string) (uint64, bool) {
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix), 10, 64)
	return n, err == nil
}

// Segments lists the segment sequence numbers in dir, oldest first.
func Segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range ents {
		if n, ok := parseSegment(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, n)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// Writer appends records to the spool. One writer per directory at a time (an
// exclusive lock on the directory's .lock file enforces it).
type Writer struct {
	dir     string
	maxSize int64

	mu   sync.Mutex
	lock *os.File
	f    *os.File
	bw   *bufio.Writer
	seq  uint64
	size int64
}

// OpenWriter opens (creating) the spool directory for appending. maxSize ≤ 0 means
// DefaultSegmentSize. A torn last line left by a crash is cut off (it was never
// acknowledged by Sync) before appending resumes.
func OpenWriter(dir string, maxSize int64) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool: %s is in use by another writer (is a collector already running?)", dir)
	}
	w := &Writer{dir: dir, maxSize: maxSize, lock: lock}
	seqs, err := Segments(dir)
	if err != nil {
		w.Close()
		return nil, err
	}
	if len(seqs) == 0 {
		err = w.open(1)
	} else {
		err = w.open(seqs[len(seqs)-1])
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// open opens segment seq for appending, trimming a torn last line.
func (w *Writer) open(seq uint64) error {
	path := filepath.Join(w.dir, SegmentName(seq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	size, err := completeSize(f)
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("spool: trim %s: %w", path, err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	w.f, w.bw, w.seq, w.size = f, bufio.NewWriterSize(f, 256<<10), seq, size
	return nil
}

// completeSize is the length of f up to and including its last '\n'.
func completeSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	buf := make([]byte, 64<<10)
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := strings.LastIndexByte(string(buf[:n]), '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// Append writes one record (buffered: call Sync to make it durable). It returns the
// cursor just past the record.
func (w *Writer) Append(r *Record) (Cursor, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return Cursor{}, fmt.Errorf("spool: encode record: %w", err)
	}
	if len(b)+1 > MaxRecord {
		return Cursor{}, fmt.Errorf("spool: record of %d bytes is over the %d-byte limit", len(b)+1, MaxRecord)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size > 0 && w.size+int64(len(b))+1 > w.maxSize {
		if err := w.rotate(); err != nil {
			return Cursor{}, err
		}
	}
	if _, err := w.bw.Write(append(b, '\n')); err != nil {
		return Cursor{}, fmt.Errorf("spool: write: %w", err)
	}
	w.size += int64(len(b)) + 1
	return Cursor{Seq: w.seq, Offset: w.size}, nil
}

// rotate syncs and closes the current segment and starts the next; w.mu held.
func (w *Writer) rotate() error {
	if err := w.syncLocked(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	return w.open(w.seq + 1)
}

// Sync flushes and fsyncs: every record appended before it is durable.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.syncLocked()
}

func (w *Writer) syncLocked() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("spool: flush: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("spool: fsync: %w", err)
	}
	return nil
}

// Close syncs and releases the spool.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if w.f != nil {
		err = w.syncLocked()
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		w.f = nil
	}
	if w.lock != nil {
		w.lock.Close()
		w.lock = nil
	}
	return err
}

// Cursor is a position in the spool: the byte offset in segment Seq after the last
// record consumed. The zero Cursor means "from the beginning".
type Cursor struct {
	Seq    uint64 `json:"seq"`
	Offset int64  `json:"offset"`
}

func (c Cursor) String() string { return fmt.Sprintf("%d:%d", c.Seq, c.Offset) }

// ParseCursor parses the String form; "" is the zero cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	a, b, ok := strings.Cut(s, ":")
	seq, err1 := strconv.ParseUint(a, 10, 64)
	off, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || off < 0 {
		return Cursor{}, fmt.Errorf("spool: bad cursor %q", s)
	}
	return Cursor{seq, off}, nil
}

// ErrNoData is returned by Reader.Next when no complete record is available yet.
var ErrNoData = errors.New("spool: no complete record yet")

// Reader reads records from a cursor on, following rotation.
type Reader struct {
	dir string
	cur Cursor
	f   *os.File
	br  *bufio.Reader
	buf []byte
	dec recordDecoder
}

// OpenReader starts reading dir at cursor c (the zero cursor: the oldest segment).
func OpenReader(dir string, c Cursor) (*Reader, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Reader{dir: dir, cur: c}, nil
}

// Cursor is the position after the last record Next returned.
func (r *Reader) Cursor() Cursor { return r.cur }

// Next returns the next complete record and the cursor just past it, or ErrNoData
// when the reader is at the end of what has been written. A line that is not a valid
// record is returned as an error wrapping *CorruptError, with the cursor moved past it.
func (r *Reader) Next() (*Record, Cursor, error) {
	for {
		if r.f == nil {
			if err := r.openCurrent(); err != nil {
				return nil, r.cur, err
			}
		}
		line, err := r.readLine()
		if err == nil {
			return r.record(line)
		}
		if !errors.Is(err, io.EOF) {
			return nil, r.cur, err
		}
		// At the end of this segment: move on only if a newer one exists (the writer
		// never returns to an older segment), else wait for more.
		seqs, err := Segments(r.dir)
		if err != nil {
			return nil, r.cur, err
		}
		newer := uint64(0)
		for _, s := range seqs {
			if s > r.cur.Seq {
				newer = s
				break
			}
		}
		if newer == 0 {
			return nil, r.cur, ErrNoData
		}
		// Re-check the old segment's tail: the writer may have appended before rotating.
		if line, err := r.readLine(); err == nil {
			return r.record(line)
		}
		r.closeFile()
		r.cur = Cursor{newer, 0}
	}
}

// record decodes line, just read, and moves the cursor past it.
func (r *Reader) record(line []byte) (*Record, Cursor, error) {
	r.cur.Offset += int64(len(line))
	rec, err := r.dec.decode(line)
	if err != nil {
		return nil, r.cur, &CorruptError{At: r.cur, Err: err}
	}
	return rec, r.cur, nil
}

// readLine returns one complete line including '\n', or io.EOF when the rest of the
// file is not a complete line (the reader stays before it).
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if len(r.buf) > MaxRecord {
			return nil, fmt.Errorf("spool: record at %s is longer than %d bytes", r.cur, MaxRecord)
		}
		if err == nil {
			return r.buf, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			// Incomplete: rewind so the partial line is re-read when it completes.
			if _, serr := r.f.Seek(r.cur.Offset, io.SeekStart); serr != nil {
				return nil, serr
			}
			r.br.Reset(r.f)
			return nil, io.EOF
		}
		return nil, err
	}
}

// openCurrent opens the cursor's segment, or the oldest segment after it when the
// cursor's segment is gone (pruned) or the cursor is zero.
func (r *Reader) openCurrent() error {
	seqs, err := Segments(r.dir)
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		return ErrNoData
	}
	found := false
	for _, s := range seqs {
		if s == r.cur.Seq {
			found = true
		}
	}
	if !found {
		for _, s := range seqs {
			if s > r.cur.Seq {
				r.cur = Cursor{s, 0}
				found = true
				break
			}
		}
		if !found {
			return ErrNoData
		}
	}
	f, err := os.Open(filepath.Join(r.dir, SegmentName(r.cur.Seq)))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Seek(r.cur.Offset, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	r.f, r.br = f, bufio.NewReaderSize(f, 256<<10)
	return nil
}

func (r *Reader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f, r.br = nil, nil
	}
}

// Close releases the reader.
func (r *Reader) Close() error {
	r.closeFile()
	return nil
}

// CorruptError is a spool line that is not a valid record.
type CorruptError struct {
	At  Cursor
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("spool: corrupt record ending at %s: %v", e.At, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Prune removes segments entirely before cursor c (fully consumed), never the
// newest segment. It returns how many were removed.
func Prune(dir string, c Cursor) (int, error) {
	seqs, err := Segments(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for i, s := range seqs {
		if s >= c.Seq || i == len(seqs)-1 {
			break
		}
		if err := os.Remove(filepath.Join(dir, SegmentName(s))); err != nil {
			return n, fmt.Errorf("spool: prune: %w", err)
		}
		n++
	}
	return n, nil
}
