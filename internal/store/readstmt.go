package store

import (
	"context"
	"database/sql"
)

// maxReadStmts bounds the prepared read statements kept. The SQL text of a read
// depends only on which filters a query uses (every value is a bound parameter),
// so a few dozen shapes cover the dashboard and the CLI; past the bound a shape is
// prepared for its one use, as before.
const maxReadStmts = 256

// readStmt returns the reader pool's prepared statement for query, preparing it on
// first use. Preparing is ~7% of a 100-row search in SQLite (parsing and planning
// the SELECT every time); database/sql re-prepares a kept statement on each pooled
// connection once. ok is false when query is not kept (the bound is reached, or the
// store is closing): the caller then runs it unprepared.
func (s *sqlStore) readStmt(ctx context.Context, query string) (st *sql.Stmt, ok bool) {
	s.mu.Lock()
	st, ok = s.readStmts[query]
	full := s.closed || len(s.readStmts) >= maxReadStmts
	s.mu.Unlock()
	if ok || full {
		return st, ok
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, false // the unprepared run reports the error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, dup := s.readStmts[query]; dup || s.closed {
		st.Close()
		return prev, dup
	}
	s.readStmts[query] = st
	return st, true
}

// query runs a read on the reader pool through its kept prepared statement.
func (s *sqlStore) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := s.readStmt(ctx, query); ok {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, query, args...)
}

// queryRow is query for a single row.
func (s *sqlStore) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := s.readStmt(ctx, query); ok {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}
