package collector

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"decnet/internal/spool"
)

// stateVersion is the version of the state file this package writes and reads.
const stateVersion = 1

// maxStateFile bounds the state file read at start (a cursor is ~150 bytes).
const maxStateFile = 256 << 20

// State is the collector's durable cursor file.
type State struct {
	Version int `json:"version"`
	// Spool is the spool position just past the last record the cursors cover.
	Spool string `json:"spool"`
	// QuarantineSize is the quarantine file's size the cursors cover.
	QuarantineSize int64 `json:"quarantine_size"`
	// Containers maps a container ID to its cursor.
	Containers map[string]Position `json:"containers"`
}

// LoadState reads a state file; a missing file is the empty state and ok=false.
func LoadState(path string) (st State, ok bool, err error) {
	st.Containers = map[string]Position{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("collector: cannot open the state file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return st, false, fmt.Errorf("collector: cannot read the state file %s: %w", path, err)
	}
	if len(b) > maxStateFile {
		return st, false, fmt.Errorf("collector: the state file %s is larger than %d bytes", path, maxStateFile)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("collector: the state file %s is corrupt: %w", path, err)
	}
	if st.Version != stateVersion {
		return st, false, fmt.Errorf("collector: the state file %s has version %d, this collector reads version %d", path, st.Version, stateVersion)
	}
	if st.Containers == nil {
		st.Containers = map[string]Position{}
	}
	if _, err := spool.ParseCursor(st.Spool); err != nil {
		return st, false, fmt.Errorf("collector: the state file %s is corrupt: %w", path, err)
	}
	return st, true, nil
}

// writeFileAtomic writes b to path through a synced temporary file and a rename, then
// syncs the directory: a crash leaves the old or the new file.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// QuarantineEntry is one line of the quarantine file: a container line that is not a
// valid event, kept losslessly (Line when it is valid UTF-8, else LineB64).
type QuarantineEntry struct {
	Time         time.Time `json:"time"`      // when the collector read it
	Container    string    `json:"container"` // container ID
	Name         string    `json:"container_name,omitempty"`
	Decky        string    `json:"decky,omitempty"`         // the container's decnet.decky label
	DockerTime   string    `json:"docker_ts"`               // Docker's timestamp of the line
	Line         string    `json:"line,omitempty"`          // the line (without "\n"), when valid UTF-8
	LineB64      string    `json:"line_b64,omitempty"`      // the line in base64, when not
	DroppedBytes int64     `json:"dropped_bytes,omitempty"` // bytes cut off an overlong line
	Error        string    `json:"error"`                   // why it is not an event
}

// Bytes returns the quarantined line.
func (q *QuarantineEntry) Bytes() []byte {
	if q.LineB64 != "" {
		b, _ := base64.StdEncoding.DecodeString(q.LineB64)
		return b
	}
	return []byte(q.Line)
}

func newQuarantineEntry(id, name, decky string, l *line, why string) *QuarantineEntry {
	q := &QuarantineEntry{Time: time.Now().UTC(), Container: id, Name: name, Decky: decky,
		DockerTime: l.rawTS, DroppedBytes: l.dropped, Error: why}
	if utf8.Valid(l.data) {
		q.Line = string(l.data)
	} else {
		q.LineB64 = base64.StdEncoding.EncodeToString(l.data)
	}
	return q
}

// committer owns the spool writer, the quarantine file and the state file; it appends
// what the streams read and makes it durable in group commits.
type committer struct {
	cfg   Config
	log   *slog.Logger
	st    *counters
	w     *spool.Writer
	qf    *os.File
	qsize int64

	mu        sync.Mutex
	committed map[string]Position
	dirty     bool // committed changed without a state write (a forgotten container)

	pending  map[string]Position
	npending int
	batch    []*spool.Record // records of the batch, appended at flush after the journal
	qbatch   []byte          // quarantine lines of the batch, written after the spool sync
	jbatch   []journalEntry
	bbytes   int
	spoolPos spool.Cursor
}

// maxBatchBytes bounds the raw lines a batch holds in memory before it is committed.
const maxBatchBytes = 16 << 20

// openCommitter opens the spool, the quarantine file and the state, and recovers the
// cursors of records appended after the position the state covers (see journal).
func openCommitter(cfg Config, log *slog.Logger, st *counters) (*committer, State, error) {
	state, ok, err := LoadState(cfg.StatePath)
	if err != nil {
		return nil, state, err
	}
	for _, p := range []string{cfg.StatePath, cfg.QuarantinePath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, state, fmt.Errorf("collector: cannot create %s: %w", filepath.Dir(p), err)
		}
	}
	w, err := spool.OpenWriter(cfg.SpoolDir, cfg.SegmentSize)
	if err != nil {
		return nil, state, fmt.Errorf("collector: %w", err)
	}
	cm := &committer{cfg: cfg, log: log, st: st, w: w, committed: map[string]Position{}, pending: map[string]Position{}}
	for id, p := range state.Containers {
		cm.committed[id] = p
	}
	fail := func(err error) (*committer, State, error) {
		cm.close()
		return nil, state, err
	}
	cm.qf, err = os.OpenFile(cfg.QuarantinePath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fail(fmt.Errorf("collector: cannot open the quarantine file: %w", err))
	}
	fi, err := cm.qf.Stat()
	if err != nil {
		return fail(fmt.Errorf("collector: %w", err))
	}
	cm.qsize = fi.Size()
	if ok {
		if cm.qsize < state.QuarantineSize {
			return fail(fmt.Errorf("collector: the quarantine file %s is shorter (%d bytes) than the state records (%d)", cfg.QuarantinePath, cm.qsize, state.QuarantineSize))
		}
		cm.qsize = state.QuarantineSize
	}
	if ok {
		cur, _ := spool.ParseCursor(state.Spool)
		cm.spoolPos = cur
		n, err := cm.recover(fi.Size())
		if err != nil {
			return fail(err)
		}
		// Quarantine entries past the recovered size belong to lines whose cursor was
		// not committed: they will be read and quarantined again.
		if err := cm.qf.Truncate(cm.qsize); err != nil {
			return fail(fmt.Errorf("collector: cannot trim the quarantine file: %w", err))
		}
		if _, err := cm.qf.Seek(cm.qsize, io.SeekStart); err != nil {
			return fail(fmt.Errorf("collector: %w", err))
		}
		if n > 0 {
			for id, p := range cm.committed {
				state.Containers[id] = p
			}
			if err := cm.flush(); err != nil {
				return fail(err)
			}
		}
	} else {
		if _, err := cm.qf.Seek(cm.qsize, io.SeekStart); err != nil {
			return fail(fmt.Errorf("collector: %w", err))
		}
		// First start (or a lost state file): record where the spool ends now, before
		// anything is appended, so a crash before the first commit is recovered from.
		end, err := spoolEnd(cfg.SpoolDir)
		if err != nil {
			return fail(err)
		}
		if end.Offset > 0 || end.Seq > 1 {
			log.Warn("no collector state: every container is read from its start, and events already in the spool may be spooled again (the ingester drops them by event_id)",
				"state", cfg.StatePath)
		}
		cm.spoolPos = end
		if err := cm.flush(); err != nil {
			return fail(err)
		}
	}
	return cm, state, nil
}

// journal describes the batch being committed, written before any of its records is
// appended: where it starts in the spool and, in order, each record's container,
// cursor after it and event ID.
type journal struct {
	Start   string         `json:"start"`
	Records []journalEntry `json:"records"`
}

type journalEntry struct {
	Container string   `json:"c"`
	Pos       Position `json:"p"`
	ID        string   `json:"id,omitempty"` // a spool record's event ID; "" for a quarantine entry
}

func (cm *committer) journalPath() string { return cm.cfg.StatePath + ".journal" }

// recover matches what the interrupted batch left on disk with its journal: the
// records found in the spool after the committed position (in order, by event ID)
// and the complete quarantine lines after the committed size (written only after the
// spool sync). Each container's cursor moves past its longest prefix of batch items
// that are on disk. qfileSize is the quarantine file's size on disk. It returns how
// many items it recovered.
func (cm *committer) recover(qfileSize int64) (int, error) {
	b, err := os.ReadFile(cm.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("collector: cannot read the batch journal: %w", err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return 0, fmt.Errorf("collector: the batch journal %s is corrupt: %w", cm.journalPath(), err)
	}
	if j.Start != cm.spoolPos.String() {
		return 0, nil // the journal of a batch that was committed
	}
	var ids []string
	for _, e := range j.Records {
		if e.ID != "" {
			ids = append(ids, e.ID)
		}
	}
	r, err := spool.OpenReader(cm.cfg.SpoolDir, cm.spoolPos)
	if err != nil {
		return 0, fmt.Errorf("collector: %w", err)
	}
	defer r.Close()
	kSpool := 0
	for kSpool < len(ids) {
		rec, cur, err := r.Next()
		if errors.Is(err, spool.ErrNoData) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("collector: cannot read the spool tail: %w", err)
		}
		if rec.ID != ids[kSpool] {
			cm.log.Warn("the spool tail does not match the batch journal; later records may be spooled again", "want", ids[kSpool], "found", rec.ID)
			break
		}
		cm.spoolPos = cur
		kSpool++
	}
	// Complete quarantine lines of the batch (only if every record made it).
	kQ := 0
	if kSpool == len(ids) && qfileSize > cm.qsize {
		tail := make([]byte, qfileSize-cm.qsize)
		if _, err := cm.qf.ReadAt(tail, cm.qsize); err != nil {
			return 0, fmt.Errorf("collector: cannot read the quarantine tail: %w", err)
		}
		for {
			i := bytes.IndexByte(tail, '\n')
			if i < 0 {
				break
			}
			cm.qsize += int64(i + 1)
			tail = tail[i+1:]
			kQ++
		}
	}
	ri, qi, n := 0, 0, 0
	stopped := map[string]bool{}
	for _, e := range j.Records {
		var durable bool
		if e.ID != "" {
			durable = ri < kSpool
			ri++
		} else {
			durable = qi < kQ
			qi++
		}
		if !durable {
			stopped[e.Container] = true
		}
		if !stopped[e.Container] {
			cm.committed[e.Container] = e.Pos
			n++
		}
	}
	cm.st.recovered.Add(int64(n))
	return n, nil
}

// spoolEnd is the position just past the last complete record of the spool.
func spoolEnd(dir string) (spool.Cursor, error) {
	seqs, err := spool.Segments(dir)
	if err != nil {
		return spool.Cursor{}, fmt.Errorf("collector: %w", err)
	}
	if len(seqs) == 0 {
		return spool.Cursor{}, nil
	}
	last := seqs[len(seqs)-1]
	fi, err := os.Stat(filepath.Join(dir, spool.SegmentName(last)))
	if err != nil {
		return spool.Cursor{}, fmt.Errorf("collector: %w", err)
	}
	return spool.Cursor{Seq: last, Offset: fi.Size()}, nil
}

// containers lists the container IDs that have a committed cursor.
func (cm *committer) containers() []string {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	ids := make([]string, 0, len(cm.committed))
	for id := range cm.committed {
		ids = append(ids, id)
	}
	return ids
}

// forget drops the cursor of a container that no longer exists.
func (cm *committer) forget(id string) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if _, ok := cm.committed[id]; ok {
		delete(cm.committed, id)
		cm.dirty = true
	}
}

// loop appends items until in is closed, committing every SyncInterval or SyncLines.
func (cm *committer) loop(in <-chan item) error {
	tick := time.NewTicker(cm.cfg.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case it, ok := <-in:
			if !ok {
				return cm.flush()
			}
			if err := cm.add(it); err != nil {
				return err
			}
			if cm.npending >= cm.cfg.SyncLines {
				if err := cm.flush(); err != nil {
					return err
				}
			}
		case <-tick.C:
			cm.mu.Lock()
			dirty := cm.dirty
			cm.mu.Unlock()
			if cm.npending > 0 || dirty {
				if err := cm.flush(); err != nil {
					return err
				}
			}
		}
	}
}

func (cm *committer) add(it item) error {
	switch {
	case it.rec != nil:
		cm.batch = append(cm.batch, it.rec)
		cm.jbatch = append(cm.jbatch, journalEntry{Container: it.id, Pos: it.pos, ID: it.rec.ID})
		cm.bbytes += len(it.rec.RawLine)
	case it.q != nil:
		b, err := json.Marshal(it.q)
		if err != nil {
			return fmt.Errorf("collector: cannot encode a quarantine entry: %w", err)
		}
		cm.qbatch = append(append(cm.qbatch, b...), '\n')
		cm.jbatch = append(cm.jbatch, journalEntry{Container: it.id, Pos: it.pos})
		cm.bbytes += len(b)
	}
	cm.pending[it.id] = it.pos
	cm.npending++
	if cm.bbytes >= maxBatchBytes {
		return cm.flush()
	}
	return nil
}

// flush commits the batch: its journal, then its records appended and fsynced with
// the quarantine file, then the cursors that cover them.
func (cm *committer) flush() error {
	if len(cm.jbatch) > 0 {
		j, err := json.Marshal(journal{Start: cm.spoolPos.String(), Records: cm.jbatch})
		if err != nil {
			return fmt.Errorf("collector: cannot encode the batch journal: %w", err)
		}
		if err := writeFileAtomic(cm.journalPath(), j); err != nil {
			return fmt.Errorf("collector: cannot write the batch journal: %w", err)
		}
		for _, rec := range cm.batch {
			cur, err := cm.w.Append(rec)
			if err != nil {
				return fmt.Errorf("collector: cannot append to the spool: %w", err)
			}
			cm.spoolPos = cur
		}
	}
	if err := cm.w.Sync(); err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	if len(cm.qbatch) > 0 {
		// After the spool sync: a quarantine entry of the batch on disk means all its records are.
		if _, err := cm.qf.Write(cm.qbatch); err != nil {
			return fmt.Errorf("collector: cannot write the quarantine file: %w", err)
		}
		if err := cm.qf.Sync(); err != nil {
			return fmt.Errorf("collector: cannot sync the quarantine file: %w", err)
		}
		cm.qsize += int64(len(cm.qbatch))
	}
	cm.mu.Lock()
	for id, p := range cm.pending {
		cm.committed[id] = p
	}
	st := State{Version: stateVersion, Spool: cm.spoolPos.String(), QuarantineSize: cm.qsize, Containers: cm.committed}
	b, err := json.Marshal(st)
	cm.dirty = false
	cm.mu.Unlock()
	if err != nil {
		return fmt.Errorf("collector: cannot encode the state: %w", err)
	}
	if err := writeFileAtomic(cm.cfg.StatePath, b); err != nil {
		return fmt.Errorf("collector: cannot write the state file %s: %w", cm.cfg.StatePath, err)
	}
	clear(cm.pending)
	clear(cm.batch)
	cm.batch, cm.jbatch, cm.qbatch, cm.bbytes, cm.npending = cm.batch[:0], cm.jbatch[:0], cm.qbatch[:0], 0, 0
	if cap(cm.qbatch) > 1<<20 {
		cm.qbatch = nil
	}
	cm.st.commits.Add(1)
	return nil
}

func (cm *committer) close() error {
	var err error
	if cm.w != nil {
		err = cm.w.Close()
	}
	if cm.qf != nil {
		if cerr := cm.qf.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
