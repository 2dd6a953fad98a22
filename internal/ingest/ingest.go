// Package ingest owns the ingester: it tails the spool from a durable cursor,
// batches records, extracts their bounty and commits events, bounty and the new
// cursor in one store transaction, then publishes the stored rows on the live bus and
// prunes spool segments that are fully stored.
//
// Guarantees:
//
//   - Nothing lost: the cursor only moves in the transaction that stores the rows it
//     covers. A failed commit (SQLite locked, MariaDB restarted, connection killed)
//     is retried with backoff, with the same batch, until it succeeds or the
//     ingester is stopped; a crash at any moment resumes from the last committed
//     cursor.
//   - Nothing doubled: the store deduplicates events by event_id and bounty by dedup
//     key, so re-reading records (after a spool reset, or a collector that spooled a
//     line twice) stores nothing twice. A record without an event_id (DECNET's older
//     lines) gets a deterministic id derived from its raw line (DerivedID), so
//     re-ingesting the same history is idempotent too.
//   - Corrupt spool lines are counted, logged and skipped; the cursor moves past them
//     with the next commit.
//   - If the spool directory was reset (its segments are older than, or shorter
//     than, the cursor), the ingester logs it and reads the spool again from the
//     start; deduplication makes that safe.
//
// Reading and committing run in two goroutines (one batch in flight), so decoding
// the next batch and extracting its bounty overlap the current transaction, and a
// batch keeps growing while the committer is busy (see Config.FlushInterval).
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"decnet/internal/bounty"
	"decnet/internal/bus"
	"decnet/internal/spool"
	"decnet/internal/store"
)

// CursorName is the default name of the ingester's row in the store's state table.
const CursorName = "ingester"

// RejectFileName is the default name of the rejected-records file, beside the spool.
const RejectFileName = "ingest-rejected.jsonl"

// Defaults for zero Config fields.
const (
	DefaultBatchSize     = 20000
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultBatchBytes    = 32 << 20
	DefaultPollInterval  = 50 * time.Millisecond
	DefaultKeepSegments  = 1
	maxBackoff           = 5 * time.Second
)

// DefaultGCPercent is the GOGC that the commands running an ingester (decnet
// ingest, decnet run, decnet api --ingest: their --gogc) give their process unless
// the GOGC environment variable sets one. At Go's default, 100, the collector runs
// whenever the heap has doubled since its last run: the ingester allocates ~1.4 KB
// per event and keeps a few batches live, so catching up a backlog it ran several
// times a second, on the cores the reader and the committer need. At 400 it runs a
// quarter as often (bench/ingest, 1,000,000 events on 2 cores: 98k → 107k events/s;
// resident memory 280 → 560 MB).
const DefaultGCPercent = 400

// Config configures an Ingester. Store and SpoolDir are required.
type Config struct {
	Store    store.Store
	SpoolDir string
	// CursorName names this ingester's cursor in the store's state table; "" means
	// CursorName. Several ingesters share one store, one per spool (the collector's,
	// the sniffer's, the prober's), each with its own name.
	CursorName string
	Bus        *bus.Bus // optional: stored rows are published here
	// BatchSize is the most records per transaction. FlushInterval is how old the
	// first record of a batch gets before the batch is handed to the committer
	// unfilled; while the committer is still busy with the previous batch, the
	// batch keeps growing instead (up to BatchSize or BatchBytes), so a backlog is
	// stored in large transactions and a trickle within FlushInterval.
	BatchSize     int
	FlushInterval time.Duration
	// BatchBytes bounds the raw size of one batch (records may be up to ~3 MiB each).
	BatchBytes int
	// PollInterval is how often an idle ingester looks for new spool data.
	PollInterval time.Duration
	// KeepSegments is how many fully stored segments stay on disk behind the
	// cursor's segment before pruning (a margin in case the database loses its last
	// transactions, e.g. SQLite in WAL mode on power loss). 0 means
	// DefaultKeepSegments; a negative value disables pruning.
	KeepSegments int
	// PruneHolds are cursor files ("seq:offset", as syslogfwd writes them) of other
	// readers of the same spool: no segment a holder has not finished is pruned. A
	// hold file that does not exist holds nothing (that reader has not started); one
	// that cannot be read or parsed stops pruning until it can.
	PruneHolds []string
	// RejectPath is the JSONL file that receives records the store refuses whatever
	// its state (store.ErrInvalid: no timestamp, over-long names…), each with the
	// reason, so nothing is dropped silently. "" = <SpoolDir>/../ingest-rejected.jsonl.
	RejectPath string
	Log        *slog.Logger
}

// Stats are the ingester's counters since New.
type Stats struct {
	Read       uint64        // records read from the spool
	Inserted   uint64        // events newly stored
	Duplicates uint64        // events already stored (by event_id)
	Bounty     uint64        // bounty rows newly stored
	Corrupt    uint64        // spool lines skipped as corrupt
	Rejected   uint64        // records the store refused, written to RejectPath
	Repaired   uint64        // records whose fields or msg were restored byte-exact from raw_line
	DerivedIDs uint64        // records that had no event_id and got DerivedID
	Batches    uint64        // committed transactions
	Retries    uint64        // failed commit attempts that were retried
	ReadErrors uint64        // spool read errors (not corrupt lines) that were retried
	Pruned     uint64        // spool segments removed
	Resets     uint64        // times the spool was found reset and re-read from its start
	StoreTime  time.Duration // time spent in successful Store.Ingest calls
	Cursor     string        // last committed cursor
	LastError  string        // last commit or read error, "" if none yet
}

// Ingester moves events from the spool into the store.
type Ingester struct {
	cfg Config
	log *slog.Logger

	storeNanos, read, inserted, dups, bountyN, corrupt, rejected, repaired, derived, batches, retries, readErrs, pruned, resets atomic.Uint64

	mu      sync.Mutex
	cursor  string
	lastErr string

	rejectMu sync.Mutex

	// seen holds dedup keys of bounty committed recently (two generations of at
	// most seenGen keys each; written by the commit goroutine after each commit), so
	// bounty that repeats — a scanner's fingerprint on every event — is not sent to
	// the store again and again, nor its payload built (the reading goroutine asks
	// committed while extracting). The store dedups anyway; this only saves work.
	seenMu        sync.RWMutex
	seen, seenOld map[string]struct{}
}

const seenGen = 1 << 16

// committed reports whether bounty with dedup key key was committed recently.
func (in *Ingester) committed(key string) bool {
	in.seenMu.RLock()
	defer in.seenMu.RUnlock()
	return in.isSeen(key)
}

func (in *Ingester) isSeen(key string) bool {
	if _, ok := in.seen[key]; ok {
		return true
	}
	_, ok := in.seenOld[key]
	return ok
}

// newBounty drops from bs the bounty whose key was committed recently or appears
// earlier in bs.
func (in *Ingester) newBounty(bs []store.Bounty) []store.Bounty {
	in.seenMu.RLock()
	defer in.seenMu.RUnlock()
	out := bs[:0]
	batch := make(map[string]struct{}, len(bs))
	for _, b := range bs {
		if in.isSeen(b.DedupKey) {
			continue
		}
		if _, ok := batch[b.DedupKey]; ok {
			continue
		}
		batch[b.DedupKey] = struct{}{}
		out = append(out, b)
	}
	return out
}

// remember records the bounty keys of a committed batch.
func (in *Ingester) remember(bs []store.Bounty) {
	in.seenMu.Lock()
	defer in.seenMu.Unlock()
	for _, b := range bs {
		if len(in.seen) >= seenGen {
			in.seenOld, in.seen = in.seen, make(map[string]struct{}, seenGen)
		}
		in.seen[b.DedupKey] = struct{}{}
	}
}

// New returns an ingester for cfg, filling defaults.
func New(cfg Config) *Ingester {
	if cfg.CursorName == "" {
		cfg.CursorName = CursorName
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RejectPath == "" {
		name := RejectFileName
		if cfg.CursorName != CursorName { // one file per spool when several are ingested
			name = strings.TrimSuffix(name, ".jsonl") + "-" + filepath.Base(filepath.Clean(cfg.SpoolDir)) + ".jsonl"
		}
		cfg.RejectPath = filepath.Join(filepath.Dir(filepath.Clean(cfg.SpoolDir)), name)
	}
	if cfg.KeepSegments == 0 {
		cfg.KeepSegments = DefaultKeepSegments
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Ingester{cfg: cfg, log: log.With("component", "ingester"), seen: map[string]struct{}{}}
}

// Stats returns a snapshot of the counters.
func (in *Ingester) Stats() Stats {
	in.mu.Lock()
	cur, lastErr := in.cursor, in.lastErr
	in.mu.Unlock()
	return Stats{
		Read: in.read.Load(), Inserted: in.inserted.Load(), Duplicates: in.dups.Load(), Bounty: in.bountyN.Load(),
		Corrupt: in.corrupt.Load(), Rejected: in.rejected.Load(), Repaired: in.repaired.Load(), DerivedIDs: in.derived.Load(), Batches: in.batches.Load(), Retries: in.retries.Load(),
		ReadErrors: in.readErrs.Load(), Pruned: in.pruned.Load(), Resets: in.resets.Load(), StoreTime: time.Duration(in.storeNanos.Load()), Cursor: cur, LastError: lastErr,
	}
}

func (in *Ingester) setErr(err error) {
	in.mu.Lock()
	in.lastErr = err.Error()
	in.mu.Unlock()
}

// batch is one transaction's worth of work: records, the spool cursor just past
// each (ats[i]), the bounty they carry (extracted by the reader, off the committer's
// path), and the cursor past everything read (past trailing corrupt lines).
type batch struct {
	recs   []store.Record
	enc    []store.Encoded // of each of recs
	ats    []spool.Cursor
	bounty []store.Bounty
	cursor spool.Cursor
}

// next is the batch to fill after b: a batch the committer is done with (from
// free), emptied, or else a new one with room for as many records and bounty as b
// had. A backlog is read in batches of the same size: growing their slices from
// nothing (copying ~20,000 records several times) cost the reading goroutine 0.8
// µs an event in bench/ingest, and making new ones for each batch was a sixth of
// the bytes it allocated (garbage collection costs the ingester ~7%: 89k events/s
// with GOGC=100, 96k with GOGC=400).
func next(b batch, free <-chan batch) batch {
	select {
	case f := <-free:
		// Drop the committed records' strings and maps from the reused arrays.
		clear(f.recs)
		clear(f.enc)
		clear(f.bounty)
		return batch{cursor: b.cursor, recs: f.recs[:0], enc: f.enc[:0], ats: f.ats[:0], bounty: f.bounty[:0]}
	default:
	}
	return batch{cursor: b.cursor, recs: make([]store.Record, 0, len(b.recs)), enc: make([]store.Encoded, 0, len(b.recs)),
		ats: make([]spool.Cursor, 0, len(b.recs)), bounty: make([]store.Bounty, 0, len(b.bounty))}
}

// Run ingests until ctx is cancelled, then commits what it has read (best effort,
// a few seconds at most) and returns nil. It returns an error only when it cannot
// start: the spool directory cannot be created or the stored cursor is invalid.
func (in *Ingester) Run(ctx context.Context) error {
	if in.cfg.Store == nil || in.cfg.SpoolDir == "" {
		return errors.New("ingest: a store and a spool directory are required")
	}
	if err := os.MkdirAll(in.cfg.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("ingest: create the spool directory: %w", err)
	}
	var curStr string
	err := in.retry(ctx, "read the ingester cursor", func(ctx context.Context) error {
		var err error
		curStr, err = in.cfg.Store.Cursor(ctx, in.cfg.CursorName)
		return err
	})
	if err != nil {
		return nil // stopped before starting
	}
	cur, err := spool.ParseCursor(curStr)
	if err != nil {
		return fmt.Errorf("ingest: the stored %q cursor is invalid (%w); reset it to re-read the spool", in.cfg.CursorName, err)
	}
	in.mu.Lock()
	in.cursor = cur.String()
	in.mu.Unlock()
	in.log.Info("ingester starting", "spool", in.cfg.SpoolDir, "cursor", cur.String())

	batches := make(chan batch, 1)
	free := make(chan batch, 2) // committed batches, back to the reader for reuse
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.commitLoop(ctx, batches, free)
	}()
	in.readLoop(ctx, cur, batches, free)
	close(batches)
	wg.Wait()
	st := in.Stats()
	in.log.Info("ingester stopped", "cursor", st.Cursor, "inserted", st.Inserted, "duplicates", st.Duplicates, "corrupt", st.Corrupt)
	return nil
}

// readLoop reads the spool and hands complete batches to the committer.
func (in *Ingester) readLoop(ctx context.Context, cur spool.Cursor, out chan<- batch, free <-chan batch) {
	r, err := spool.OpenReader(in.cfg.SpoolDir, cur)
	if err != nil { // the directory exists (Run created it); only a race with its removal gets here
		in.log.Error("open the spool", "err", err)
		return
	}
	defer func() { r.Close() }()
	if in.spoolReset(cur) {
		r.Close()
		r, _ = spool.OpenReader(in.cfg.SpoolDir, spool.Cursor{})
	}

	var (
		b        batch
		en       store.Encoder
		dirty    bool // b.cursor moved since the last hand-off
		size     int
		started  time.Time
		lastScan = time.Now()
		backoff  = in.cfg.PollInterval
		// committed as a value made once, not at each record.
		committed = in.committed
	)
	flush := func() bool {
		select {
		case out <- b:
		case <-ctx.Done():
			// Hand the last batch over anyway: the committer makes a final attempt.
			out <- b
			return false
		}
		b = next(b, free)
		dirty, size = false, 0
		return true
	}
	// offer hands the batch over only if the committer can take it now; while the
	// committer is still busy the batch keeps growing (up to BatchSize/BatchBytes),
	// so a backlog is committed in large transactions and a trickle within
	// FlushInterval.
	offer := func() {
		select {
		case out <- b:
			b = next(b, free)
			dirty, size = false, 0
		default:
		}
	}
	for {
		if ctx.Err() != nil {
			if dirty {
				out <- b
			}
			return
		}
		rec, at, err := r.Next()
		var ce *spool.CorruptError
		switch {
		case err == nil:
			backoff = in.cfg.PollInterval
			in.read.Add(1)
			if !dirty {
				started = time.Now()
			}
			s, e, ok := in.prepare(rec, &en)
			if ok {
				b.recs = append(b.recs, s)
				b.enc = append(b.enc, e)
				b.ats = append(b.ats, at)
				b.bounty = append(b.bounty, bounty.ExtractNew(&b.recs[len(b.recs)-1], committed)...)
			}
			b.cursor, dirty = at, true
			size += len(rec.RawLine) + 256
			if len(b.recs) >= in.cfg.BatchSize || size >= in.cfg.BatchBytes {
				if !flush() {
					return
				}
			} else if time.Since(started) >= in.cfg.FlushInterval {
				offer()
			}
		case errors.As(err, &ce):
			n := in.corrupt.Add(1)
			if n <= 10 || n%1000 == 0 {
				in.log.Warn("skipping a corrupt spool line", "at", ce.At.String(), "err", ce.Err, "corrupt_total", n)
			}
			if !dirty {
				started = time.Now()
			}
			b.cursor, dirty = at, true
		case errors.Is(err, spool.ErrNoData):
			if dirty && time.Since(started) >= in.cfg.FlushInterval {
				if !flush() {
					return
				}
				continue
			}
			if time.Since(lastScan) >= time.Second {
				lastScan = time.Now()
				if in.spoolReset(r.Cursor()) {
					r.Close()
					r, _ = spool.OpenReader(in.cfg.SpoolDir, spool.Cursor{})
					continue
				}
			}
			wait := in.cfg.PollInterval
			if dirty {
				if left := in.cfg.FlushInterval - time.Since(started); left < wait {
					wait = left
				}
			}
			sleep(ctx, wait)
		default:
			// An I/O error or an over-long line: the reader did not move; try again later.
			in.readErrs.Add(1)
			in.setErr(err)
			in.log.Error("reading the spool failed; retrying", "at", r.Cursor().String(), "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, maxBackoff)
		}
	}
}

// spoolReset reports whether the spool no longer holds position c: every segment is
// older than c's, or c's segment is shorter than c's offset. That happens when the
// spool directory was wiped while the database kept its cursor.
func (in *Ingester) spoolReset(c spool.Cursor) bool {
	if c.Seq == 0 {
		return false
	}
	seqs, err := spool.Segments(in.cfg.SpoolDir)
	if err != nil || len(seqs) == 0 {
		return false
	}
	reset := false
	if newest := seqs[len(seqs)-1]; newest < c.Seq {
		reset = true
	} else if st, err := os.Stat(filepath.Join(in.cfg.SpoolDir, spool.SegmentName(c.Seq))); err == nil && st.Size() < c.Offset {
		reset = true
	}
	if reset {
		in.resets.Add(1)
		in.log.Warn("the spool was reset (its segments end before the stored cursor); reading it again from the start, duplicates are skipped", "cursor", c.String())
	}
	return reset
}

// commitLoop commits batches in order until the channel closes, and hands each
// batch it is done with to free (when there is room) for the reader to fill again.
func (in *Ingester) commitLoop(ctx context.Context, batches <-chan batch, free chan<- batch) {
	var lastPruneSeq uint64
	failed := false
	for b := range batches {
		if failed {
			// A batch before this one was not stored (shutdown): committing this
			// one would move the cursor past it.
			continue
		}
		cctx := ctx
		var cancel context.CancelFunc = func() {}
		if ctx.Err() != nil {
			// Shutting down: one short, best-effort attempt; what fails is read again at restart.
			cctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		}
		ok := in.commit(cctx, b)
		cancel()
		select {
		case free <- b:
		default:
		}
		if !ok {
			failed = true
			continue
		}
		if in.cfg.KeepSegments >= 0 && b.cursor.Seq > uint64(in.cfg.KeepSegments) && b.cursor.Seq != lastPruneSeq {
			lastPruneSeq = b.cursor.Seq
			in.prune(spool.Cursor{Seq: b.cursor.Seq - uint64(in.cfg.KeepSegments)})
		}
	}
}

// prune removes the segments before upTo that no prune hold still needs.
func (in *Ingester) prune(upTo spool.Cursor) {
	for _, h := range in.cfg.PruneHolds {
		b, err := os.ReadFile(h)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		c, perr := spool.ParseCursor(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			in.log.Warn("cannot read a spool reader's cursor; not pruning", "file", h, "err", errors.Join(err, perr))
			return
		}
		if c.Seq < upTo.Seq {
			upTo.Seq = c.Seq
		}
	}
	n, err := spool.Prune(in.cfg.SpoolDir, upTo)
	in.pruned.Add(uint64(n))
	if err != nil {
		in.log.Warn("pruning stored spool segments failed", "err", err)
	}
}

// commit stores one batch, retrying transient failures until it succeeds or ctx
// ends. A batch the store refuses as invalid (which prepare should have prevented)
// is committed record by record, setting aside the records it refuses.
func (in *Ingester) commit(ctx context.Context, b batch) bool {
	err := in.commitRecords(ctx, b.recs, b.enc, b.bounty, b.cursor)
	if errors.Is(err, store.ErrInvalid) {
		in.log.Warn("the store refused a batch; committing its records one by one", "err", err)
		for i := range b.recs {
			err = in.commitRecords(ctx, b.recs[i:i+1], b.enc[i:i+1], bounty.Extract(&b.recs[i]), b.ats[i])
			if errors.Is(err, store.ErrInvalid) {
				in.reject(b.recs[i], err)
				err = in.commitRecords(ctx, nil, nil, nil, b.ats[i])
			}
			if err != nil {
				break
			}
		}
		if err == nil && (len(b.ats) == 0 || b.ats[len(b.ats)-1] != b.cursor) {
			err = in.commitRecords(ctx, nil, nil, nil, b.cursor)
		}
	}
	return err == nil
}

// commitRecords stores recs (encoded as enc) and their bounty (bs, as
// bounty.ExtractAll(recs) returns it) with the cursor in one transaction, retrying
// transient errors; then publishes the new rows.
func (in *Ingester) commitRecords(ctx context.Context, recs []store.Record, enc []store.Encoded, bs []store.Bounty, cur spool.Cursor) error {
	sb := store.Batch{Records: recs, Encoded: enc, Bounty: in.newBounty(bs), CursorName: in.cfg.CursorName, Cursor: cur.String()}
	var res store.IngestResult
	err := in.retry(ctx, "store a batch", func(ctx context.Context) error {
		t0 := time.Now()
		var err error
		res, err = in.cfg.Store.Ingest(ctx, sb)
		if err == nil {
			in.storeNanos.Add(uint64(time.Since(t0)))
		}
		return err
	})
	if err != nil {
		return err
	}
	in.remember(sb.Bounty)
	in.batches.Add(1)
	in.inserted.Add(uint64(len(res.Inserted)))
	in.dups.Add(uint64(res.Duplicates))
	in.bountyN.Add(uint64(res.NewBounty))
	in.mu.Lock()
	in.cursor = sb.Cursor
	in.mu.Unlock()
	if in.cfg.Bus != nil && len(res.Inserted) > 0 {
		in.publish(recs, res)
	}
	return nil
}

// publish puts the newly stored rows on the bus, matched to their records by the
// per-record ids the store reports (a duplicate has id 0), so nothing is read back.
func (in *Ingester) publish(recs []store.Record, res store.IngestResult) {
	rows := make([]store.LogRow, 0, len(res.Inserted))
	for i, id := range res.IDs {
		if id > 0 && i < len(recs) {
			rows = append(rows, store.LogRow{ID: id, Record: recs[i]})
		}
	}
	in.cfg.Bus.Publish(rows)
}

// retry runs f until it succeeds or ctx ends (then it returns ctx's error), with
// exponential backoff. Only store.ErrInvalid (the input itself is refused) is
// returned at once. Every other error is retried, not only those store.IsRetryable
// recognises: a locked SQLite database or a restarting MariaDB must not lose or skip
// a batch, and an error that never clears (a full disk) stops progress visibly —
// logged, in Stats.LastError — and resumes by itself once it is fixed.
func (in *Ingester) retry(ctx context.Context, what string, f func(context.Context) error) error {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			if attempt > 1 {
				in.log.Info("succeeded after retrying", "op", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, store.ErrInvalid) {
			in.setErr(err)
			return err
		}
		in.retries.Add(1)
		in.setErr(err)
		if attempt <= 3 || attempt%20 == 0 {
			in.log.Warn("database operation failed; retrying", "op", what, "attempt", attempt, "err", err)
		}
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// sleep waits d or until ctx ends; it reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// DerivedID is the event id given to a spool record that has none (DECNET's older
// lines): "raw-" and the first 32 hex digits of the SHA-256 of its raw line (or, for
// a record without one, of its JSON form). The same line always gets the same id,
// so re-ingesting history stores it once; two byte-identical lines — the same
// microsecond timestamp, source port and fields — are taken as one event.
func DerivedID(r *spool.Record) string {
	src := []byte(r.RawLine)
	if len(src) == 0 {
		src, _ = json.Marshal(r.Event)
	}
	sum := sha256.Sum256(src)
	return "raw-" + hex.EncodeToString(sum[:16])
}
