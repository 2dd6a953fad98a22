package store

import "context"

// Token index merging (SQLite).
//
// logs_dims and bounty_dims (migrations 7 and 8) are FTS5 tables: every commit adds
// a segment to each, and segments must be merged, or each search reads more of
// them. FTS5 merges inside a write, every 64 leaf pages written, 64 pages per level
// of its index at once: on a million-event database that made a commit of 20 events
// take 100-130 ms once in every ~64 (0.7 ms otherwise), and the live stream's
// delivery p99 69 ms instead of 18. The tables are created with automerge=0
// instead, and the store merges in the background: prompted by each commit, steps
// of mergeStepPages pages, each its own statement on the ingest connection (a
// commit waits at most one step, ~10 ms), for as long as a step finds work. FTS5's
// crisismerge (a level reaching 16 segments is merged within the write) stays the
// backstop should the merging fall behind.
const mergeStepPages = 16

// tokenTables are the FTS5 tables the merger keeps merged.
var tokenTables = [...]string{"logs_dims", "bounty_dims"}

// startMerger merges the token tables through sw (the ingest connection, whose
// page cache another connection's commit would empty) when kicked.
func startMerger(sw *sqliteWriter) *background {
	return startBackground(func(ctx context.Context) {
		for _, t := range tokenTables {
			// A failed step (the database busy in another process) is retried at the
			// next prompt.
			for ctx.Err() == nil {
				if worked, err := sw.mergeStep(ctx, t); err != nil || !worked {
					break
				}
			}
		}
	})
}
