package store

import (
	"context"
	"database/sql"
	"time"
)

// WAL checkpointing.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies them back
// into the database file and fsyncs both. SQLite's default runs that checkpoint
// inside the COMMIT that pushes the WAL past 1000 pages, on the writer's own
// connection — for a bulk ingester about a third of every commit, spent waiting on
// fsync while nothing else is written. The store instead turns automatic
// checkpoints down to a backstop (ckptBackstopPages) and runs PASSIVE checkpoints
// from a second connection in the background, prompted by each commit, so the
// writer keeps writing while the previous batches are copied and synced.
//
// Durability is unchanged: a commit is durable against a process crash once it is
// in the WAL (synchronous=NORMAL), whether or not it was checkpointed yet; a
// PASSIVE checkpoint never blocks the writer or readers and never loses frames. If
// the background checkpoints cannot keep up or cannot run (a reader holding an old
// snapshot), the writer's own automatic checkpoint at ckptBackstopPages keeps the
// WAL bounded, and journal_size_limit shrinks the file once it has been reset.
const (
	ckptBackstopPages = 16384    // wal_autocheckpoint of the writer and ingest connections
	ckptJournalLimit  = 64 << 20 // journal_size_limit: the WAL file is cut back to this after a reset
	ckptMinInterval   = 100 * time.Millisecond
)

type checkpointer struct {
	db *sql.DB
	*background
}

// startCheckpointer runs background checkpoints on db (its own connection).
func startCheckpointer(db *sql.DB) *checkpointer {
	return &checkpointer{db: db, background: startBackground(func(ctx context.Context) {
		// A failure (SQLITE_BUSY while another process holds the database) only
		// means this checkpoint did not run; the next prompt, or the writer's
		// backstop, does it.
		db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-ctx.Done():
		case <-time.After(ckptMinInterval):
		}
	})}
}

// kick asks for a checkpoint soon; it never blocks. A nil checkpointer (MySQL)
// ignores it.
func (c *checkpointer) kick() {
	if c != nil {
		c.background.kick()
	}
}

func (c *checkpointer) close() error {
	c.stop()
	return c.db.Close()
}
