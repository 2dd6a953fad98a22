package store

import (
	"context"
	"database/sql"
)

// Token index merging (SQLite).
//
// logs_dims and bounty_dims (migrations 7 and 8) are FTS5 tables: every commit adds
// a segment to each, and segments must be merged, or each search reads more of
// them. FTS5 merges inside a write, every 64 leaf pages written, 64 pages per level
// of its index at once: on a million-event database that made a commit of 20 events
// take 100-130 ms once in every ~64 (0.7 ms otherwise), and the live stream's
// delivery p99 69 ms instead of 18. The tables are created with automerge=0
// instead, and the store merges in the background: prompted by each commit, steps
// of mergeStepPages pages, each its own statement on the writer connection (a
// commit waits at most one step, ~10 ms), for as long as a step finds work. FTS5's
// crisismerge (a level reaching 16 segments is merged within the write) stays the
// backstop should the merging fall behind.
const mergeStepPages = 16

// tokenTables are the FTS5 tables the merger keeps merged.
var tokenTables = [...]string{"logs_dims", "bounty_dims"}

// startMerger merges the token tables through db (the writer) when kicked.
func startMerger(db *sql.DB) *background {
	return startBackground(func(ctx context.Context) {
		for _, t := range tokenTables {
			// A failed step (the database busy in another process) is retried at the
			// next prompt.
			for ctx.Err() == nil {
				if worked, err := mergeStep(ctx, db, t); err != nil || !worked {
					break
				}
			}
		}
	})
}

// mergeStep does up to mergeStepPages pages of merging in table and reports whether
// there was any to do: FTS5's 'merge' command changes more than one row then.
func mergeStep(ctx context.Context, db *sql.DB, table string) (bool, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	var before, after int64
	if err := c.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return false, err
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO "+table+"("+table+", rank) VALUES('merge', ?)", mergeStepPages); err != nil {
		return false, err
	}
	if err := c.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
		return false, err
	}
	return after-before > 1, nil
}
