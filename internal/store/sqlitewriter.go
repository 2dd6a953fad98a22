package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	zs "zombiezen.com/go/sqlite"
)

// SQLite's ingest connection.
//
// Ingest transactions (and the token merging that follows them, merge.go) run on a
// connection of their own, opened with zombiezen.com/go/sqlite on the same
// transpiled SQLite library as the database/sql driver. That driver opens every
// connection SQLITE_OPEN_FULLMUTEX (a mutex around every bind and step) and copies
// each argument through database/sql's conversions; the direct API binds straight
// into the statement on a connection opened SQLITE_OPEN_NOMUTEX. The ingest
// transaction's SQLite work ran 25-33% faster that way in a scratch loop of the
// same statements (409,600 events: 73-81k against 96-99k events/s), and the single
// writer is what bounds the ingester.
//
// The database/sql writer connection (sqlStore.w) stays for every other write. To
// keep both from contending for SQLite's write lock (a connection that finds it
// taken polls for it, and a continuous backlog of ingest transactions would keep it
// taken), the ingest connection is only used while holding the database/sql
// writer connection: other writers of this store queue for it in Go.
type sqliteWriter struct {
	w *sql.DB

	mu   sync.Mutex
	conn *zs.Conn // nil once closed

	logs, tokens, bounty, bountyTokens rowsStmt
	arena                              textArena // the texts of their rows (see sqlitebind.go)
	// Prepared at open (statements used by every batch), kept by the connection.
	idOf, bountyID, maxBounty, bountyTokensOf, cursor, totalChanges *zs.Stmt
}

// rowsStmt is a multi-row INSERT's statements: the full chunk's, prepared at open,
// and the last other row count's (a batch's last chunk, usually the same size from
// one batch to the next: preparing a 3,616-row statement anew for each batch took
// 3% of the writer's CPU time in bench/ingest).
type rowsStmt struct {
	query       func(n int) string
	full, other *zs.Stmt
	fullN       int
	otherN      int
}

// get returns the statement for n rows.
func (rs *rowsStmt) get(c *zs.Conn, n int) (*zs.Stmt, error) {
	switch {
	case n == rs.fullN:
		return rs.full, nil
	case rs.other != nil && n == rs.otherN:
		return rs.other, nil
	}
	st, _, err := c.PrepareTransient(rs.query(n))
	if err != nil {
		return nil, err
	}
	rs.finalize()
	rs.other, rs.otherN = st, n
	return st, nil
}

// finalize drops the other row count's statement (the full one belongs to the
// connection, which finalizes it when it closes).
func (rs *rowsStmt) finalize() {
	if rs.other != nil {
		rs.other.Finalize()
		rs.other = nil
	}
}

const (
	setCursorSQLite  = `INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`
	maxBountyIDQuery = "SELECT COALESCE(MAX(id), 0) FROM bounty"
	bountyIDQuery    = "SELECT id FROM bounty WHERE dedup_key = ?"
	// bountyTokensOfQuery adds the bounty_dims tokens (migration 8) of the bounty
	// rows with ids above the first argument up to the second, made from the rows.
	bountyTokensOfQuery = "INSERT INTO bounty_dims(rowid, t) SELECT id, " + bountyTokens + " FROM bounty WHERE id > ? AND id <= ?"
)

func bountyTokensQuery(n int) string {
	return "INSERT INTO bounty_dims(rowid, t) VALUES " + placeholders(n, 2)
}

// openSQLiteWriter opens the ingest connection to the database at path (which
// exists and is migrated) with the writer's settings (see openSQLite).
func openSQLiteWriter(w *sql.DB, path string, o sqliteOptions, chunkRows int) (*sqliteWriter, error) {
	c, err := zs.OpenConn(path, zs.OpenReadWrite)
	if err != nil {
		return nil, fmt.Errorf("store: cannot open the SQLite database %s for ingesting: %w", path, err)
	}
	c.SetBusyTimeout(o.busyTimeout)
	sw := &sqliteWriter{w: w, conn: c}
	pragmas := []string{
		"PRAGMA synchronous=" + o.synchronous,
		"PRAGMA temp_store=memory",
		"PRAGMA cache_size=-32768",
		"PRAGMA wal_autocheckpoint=" + strconv.Itoa(ckptBackstopPages),
		"PRAGMA journal_size_limit=" + strconv.Itoa(ckptJournalLimit),
	}
	for _, p := range pragmas {
		if err := runTransient(c, p); err != nil {
			c.Close()
			return nil, fmt.Errorf("store: cannot set %q on the SQLite database %s: %w", p, path, err)
		}
	}
	sw.logs = rowsStmt{query: sqliteLogsInsert, fullN: chunkRows}
	sw.tokens = rowsStmt{query: logsTokensQuery, fullN: tokensChunk}
	sw.bounty = rowsStmt{query: sqliteBountyInsert, fullN: chunkRows}
	sw.bountyTokens = rowsStmt{query: bountyTokensQuery, fullN: tokensChunk}
	type prep struct {
		dst   **zs.Stmt
		query string
	}
	prepared := []prep{
		{&sw.idOf, idOfQuery},
		{&sw.bountyID, bountyIDQuery},
		{&sw.maxBounty, maxBountyIDQuery},
		{&sw.bountyTokensOf, bountyTokensOfQuery},
		{&sw.cursor, setCursorSQLite},
		{&sw.totalChanges, "SELECT total_changes()"},
	}
	for _, rs := range sw.rowsStmts() {
		prepared = append(prepared, prep{&rs.full, rs.query(rs.fullN)})
	}
	for _, p := range prepared {
		if *p.dst, err = c.Prepare(p.query); err != nil {
			c.Close()
			return nil, fmt.Errorf("store: preparing the ingest statements on the SQLite database %s: %w", path, err)
		}
	}
	return sw, nil
}

// runTransient runs one statement that returns no rows the caller needs.
func runTransient(c *zs.Conn, query string) error {
	st, _, err := c.PrepareTransient(query)
	if err != nil {
		return err
	}
	defer st.Finalize()
	for {
		row, err := st.Step()
		if err != nil || !row {
			return err
		}
	}
}

var errWriterClosed = errors.New("store: the SQLite database is closed")

// use runs fn with the ingest connection while holding the database/sql writer
// connection; ctx's end interrupts what fn runs.
func (sw *sqliteWriter) use(ctx context.Context, fn func(c *zs.Conn) error) error {
	wc, err := sw.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: waiting for the SQLite writer connection: %w", err)
	}
	defer wc.Close()
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.conn == nil {
		return errWriterClosed
	}
	sw.conn.SetInterrupt(ctx.Done())
	defer sw.conn.SetInterrupt(nil)
	return fn(sw.conn)
}

func (sw *sqliteWriter) rowsStmts() []*rowsStmt {
	return []*rowsStmt{&sw.logs, &sw.tokens, &sw.bounty, &sw.bountyTokens}
}

// close closes the connection once the call using it, if any, has returned.
func (sw *sqliteWriter) close() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.conn == nil {
		return nil
	}
	for _, rs := range sw.rowsStmts() {
		rs.finalize()
	}
	sw.arena.free() // its statements are finalized, the connection still open
	err := sw.conn.Close()
	sw.conn = nil
	return err
}

// step runs st, which returns no row, and readies it for its next use (its bound
// values stay until the next use binds over them).
func step(st *zs.Stmt) error {
	_, err := st.Step()
	if rerr := st.Reset(); err == nil {
		err = rerr
	}
	return err
}

func sqliteLogsInsert(n int) string {
	return "INSERT OR IGNORE" + insertLogsHead[len("INSERT"):] + placeholders(n, 10)
}

func sqliteBountyInsert(n int) string {
	return "INSERT OR IGNORE" + insertBountyHead[len("INSERT"):] + placeholders(n, 8)
}

// ingestSQLite stores a batch on SQLite in one transaction: the logs rows (their
// ids in ids, 0 for a duplicate), their identifier tokens, the new bounty and its
// tokens, and the cursor. It returns how many bounty rows were new.
func (s *sqlStore) ingestSQLite(ctx context.Context, rows []encodedRow, ids []int64, bounty []Bounty, cursorName, cursor string) (newBounty int, err error) {
	err = s.sw.use(ctx, func(c *zs.Conn) (err error) {
		if err := runTransient(c, "BEGIN IMMEDIATE"); err != nil {
			return s.wrap("starting an ingest transaction", err)
		}
		defer func() {
			if err != nil && !c.AutocommitEnabled() {
				c.SetInterrupt(nil) // ROLLBACK runs even once ctx has ended
				runTransient(c, "ROLLBACK")
			}
		}()
		if err := s.sw.insertLogs(c, s, rows, ids); err != nil {
			return err
		}
		if err := s.sw.insertLogsTokens(c, s, rows, ids); err != nil {
			return err
		}
		if err := s.fail("logs"); err != nil {
			return err
		}
		if len(bounty) > 0 {
			if newBounty, err = s.sw.insertBounty(c, s, bounty); err != nil {
				return err
			}
		}
		if err := s.fail("bounty"); err != nil {
			return err
		}
		if cursorName != "" {
			st := s.sw.cursor
			st.BindText(1, cursorName)
			st.BindText(2, cursor)
			if err := step(st); err != nil {
				return s.wrap(fmt.Sprintf("saving cursor %q", cursorName), err)
			}
		}
		if err := s.fail("cursor"); err != nil {
			return err
		}
		if err := runTransient(c, "COMMIT"); err != nil {
			return s.wrap("committing an ingest batch", err)
		}
		return nil
	})
	if err != nil && ctx.Err() != nil && zs.ErrCode(err) == zs.ResultInterrupt {
		err = fmt.Errorf("store: ingest on the %s stopped: %w", s.what, ctx.Err())
	}
	return newBounty, err
}

// insertLogs inserts rows with one multi-row INSERT OR IGNORE per chunk and learns
// their ids without reading the rows back.
//
// logs.id is AUTOINCREMENT and this connection is the only writer while the
// transaction holds the write lock, so a statement assigns ids in VALUES order, each
// greater than every id stored before. When all n rows of a chunk were inserted they
// got last_insert_rowid()-n+1 … last_insert_rowid() (the first and last rows are
// looked up to confirm it). When k < n were inserted (the others are duplicates; an
// ignored row still uses up an id), the chunk's event_ids are looked up: the k
// largest ids found are the rows this statement inserted, the others events stored
// before, and an event_id not found at all is an error — a row never vanishes
// silently.
//
// INSERT OR IGNORE rather than ON CONFLICT(key) DO NOTHING: with every constraint
// resolved by IGNORE the statement can never abort halfway, so SQLite keeps no
// statement journal (a copy of every page the statement touches, to undo it on a
// constraint error). The only constraints these tables have are the unique keys and
// NOT NULL, and nothing here binds NULL, so "ignored" always means "duplicate key".
func (sw *sqliteWriter) insertLogs(c *zs.Conn, s *sqlStore, rows []encodedRow, ids []int64) error {
	return s.chunks(len(rows), func(i int) int { return rows[i].size }, func(lo, hi int) error {
		n := hi - lo
		st, err := sw.logs.get(c, n)
		if err != nil {
			return s.wrap("preparing the event insert", err)
		}
		a, p := &sw.arena, 1
		a.begin(st)
		for _, r := range rows[lo:hi] {
			rec := r.rec
			bindText(a, st, p, rec.ID)
			st.BindInt64(p+1, rec.Time.UnixMicro())
			bindText(a, st, p+2, rec.Decky)
			bindText(a, st, p+3, rec.Service)
			bindText(a, st, p+4, rec.Type)
			bindText(a, st, p+5, rec.AttackerIP)
			st.BindInt64(p+6, int64(rec.AttackerPort))
			bindText(a, st, p+7, r.fields)
			bindText(a, st, p+8, rec.Msg)
			bindText(a, st, p+9, r.raw)
			p += 10
		}
		if err := a.end(); err != nil {
			return s.wrap("binding events", err)
		}
		if err := step(st); err != nil {
			return s.wrap("inserting events", err)
		}
		k, last := int64(c.Changes()), c.LastInsertRowID()
		if k == 0 {
			last = 0 // last_insert_rowid() is the previous statement's: nothing is new
		}
		chunk := rows[lo:hi]
		if k == int64(n) {
			first, err := sw.chunkIDs(s, sw.idOf, "events", chunk[0].rec.ID, chunk[n-1].rec.ID, k, last)
			if err != nil {
				return err
			}
			for i := range chunk {
				ids[lo+i] = first + int64(i)
			}
			return nil
		}
		found, err := sw.lookupIDs(c, s, chunk)
		if err != nil {
			return err
		}
		return assignIDs(s, chunk, ids[lo:hi], found, k, last)
	})
}

// assignIDs sets ids[i] for the rows of chunk that its INSERT OR IGNORE stored: k
// rows, the last with id last. found holds the stored id of every event_id of the
// chunk (the k largest are the new ones).
func assignIDs(s *sqlStore, chunk []encodedRow, ids []int64, found map[string]int64, k, last int64) error {
	for _, r := range chunk {
		if _, ok := found[r.rec.ID]; !ok {
			return fmt.Errorf("store: event %q was neither inserted nor already stored in the %s", r.rec.ID, s.what)
		}
	}
	distinct := make([]int64, 0, len(found))
	for _, id := range found {
		distinct = append(distinct, id)
	}
	if int64(len(distinct)) < k {
		return fmt.Errorf("store: %d events were inserted into the %s but only %d of the batch's event ids are stored", k, s.what, len(distinct))
	}
	if k == 0 {
		return nil // all duplicates
	}
	slices.Sort(distinct)
	newFrom := distinct[int64(len(distinct))-k] // the k largest ids are this statement's
	taken := make(map[string]bool, k)
	for i, r := range chunk {
		if id := found[r.rec.ID]; id >= newFrom && !taken[r.rec.ID] {
			taken[r.rec.ID] = true // a repeat of the same event_id in the chunk is a duplicate
			ids[i] = id
		}
	}
	if distinct[len(distinct)-1] != last {
		return fmt.Errorf("store: the last event inserted into the %s has id %d, not the %d SQLite reported", s.what, distinct[len(distinct)-1], last)
	}
	return nil
}

// chunkIDs returns the first id of the n rows a multi-row INSERT just stored (all
// of its rows; last is last_insert_rowid()): they got last-n+1 … last, which the
// rows keyed firstKey and lastKey, looked up with st, must confirm. what names the
// rows in the error.
func (sw *sqliteWriter) chunkIDs(s *sqlStore, st *zs.Stmt, what, firstKey, lastKey string, n, last int64) (int64, error) {
	first := last - n + 1
	idFirst, err := sw.lookup(s, st, firstKey)
	if err != nil {
		return 0, err
	}
	idLast, err := sw.lookup(s, st, lastKey)
	if err != nil {
		return 0, err
	}
	if idFirst != first || idLast != last {
		return 0, fmt.Errorf("store: the %d %s just inserted into the %s did not get the ids %d-%d (first %d, last %d)", n, what, s.what, first, last, idFirst, idLast)
	}
	return first, nil
}

// lookup runs st, an id lookup by one key (idOfQuery, bountyIDQuery), and returns
// the id (0 if none).
func (sw *sqliteWriter) lookup(s *sqlStore, st *zs.Stmt, key string) (int64, error) {
	st.BindText(1, key)
	id, err := integer(st)
	return id, s.wrap("looking up a stored id", err)
}

// integer runs st, bound, and returns the integer in the first column of its
// first row (0 if none), readying st for its next use.
func integer(st *zs.Stmt) (int64, error) {
	row, err := st.Step()
	var n int64
	if row {
		n = st.ColumnInt64(0)
	}
	if rerr := st.Reset(); err == nil {
		err = rerr
	}
	return n, err
}

// lookupIDs returns the stored ids of chunk's event_ids (those stored).
func (sw *sqliteWriter) lookupIDs(c *zs.Conn, s *sqlStore, chunk []encodedRow) (map[string]int64, error) {
	found := make(map[string]int64, len(chunk))
	for lo := 0; lo < len(chunk); lo += lookupChunk {
		hi := min(lo+lookupChunk, len(chunk))
		q := "SELECT event_id, id FROM logs WHERE event_id IN (" + strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",") + ")"
		st, _, err := c.PrepareTransient(q)
		if err != nil {
			return nil, s.wrap("looking up stored event ids", err)
		}
		for i, r := range chunk[lo:hi] {
			st.BindText(i+1, r.rec.ID)
		}
		for {
			row, err := st.Step()
			if err != nil {
				st.Finalize()
				return nil, s.wrap("looking up stored event ids", err)
			}
			if !row {
				break
			}
			found[st.ColumnText(0)] = st.ColumnInt64(1)
		}
		st.Finalize()
	}
	return found, nil
}

// insertLogsTokens adds the logs_dims rows of the rows this transaction stored
// (ids[i] > 0), their texts made by Encode. Binding the text made in the reading
// goroutine costs the single writer less than making it from the stored rows with
// SQLite's hex() (SQLiteTokensStatement, bench/ingest's bare loop): 2.2 against
// 2.9 µs a row in a scratch loop of 300,000 rows.
func (sw *sqliteWriter) insertLogsTokens(c *zs.Conn, s *sqlStore, rows []encodedRow, ids []int64) error {
	stored := make([]int64, 0, len(ids))
	texts := make([]string, 0, len(ids))
	for i, id := range ids {
		if id > 0 {
			stored, texts = append(stored, id), append(texts, rows[i].tokens)
		}
	}
	return sw.insertTokens(c, s, &sw.tokens, stored, texts)
}

// insertTokens adds the token rows (ids[i], texts[i]) with rs (logs_dims or
// bounty_dims) in statements of tokensChunk rows.
func (sw *sqliteWriter) insertTokens(c *zs.Conn, s *sqlStore, rs *rowsStmt, ids []int64, texts []string) error {
	for lo := 0; lo < len(ids); lo += tokensChunk {
		hi := min(lo+tokensChunk, len(ids))
		st, err := rs.get(c, hi-lo)
		if err != nil {
			return s.wrap("preparing the identifier tokens insert", err)
		}
		a, p := &sw.arena, 1
		a.begin(st)
		for i := lo; i < hi; i++ {
			st.BindInt64(p, ids[i])
			bindText(a, st, p+1, texts[i])
			p += 2
		}
		if err := a.end(); err != nil {
			return s.wrap("binding identifier tokens", err)
		}
		if err := step(st); err != nil {
			return s.wrap("storing identifier tokens", err)
		}
	}
	return nil
}

// insertBounty inserts bounty (each with its DedupKey set), then the bounty_dims
// tokens of the new rows, and returns how many rows were new.
//
// As for logs (see insertLogs), a chunk whose rows were all inserted got the ids
// last_insert_rowid()-n+1 … last_insert_rowid() (its first and last rows are looked
// up to confirm it): their token texts are made here and bound, which costs the
// writer a third less than making them from the stored rows with SQL's hex(). The
// tokens of a chunk with duplicates are made from its stored rows, the ids after
// the chunk before it.
func (sw *sqliteWriter) insertBounty(c *zs.Conn, s *sqlStore, bounty []Bounty) (int, error) {
	prev, err := integer(sw.maxBounty) // the largest bounty id before the chunk
	if err != nil {
		return 0, s.wrap("reading the last bounty id", err)
	}
	var (
		total  int
		ids    []int64  // rows whose ids are known …
		texts  []string // … and their token texts
		ranges [][2]int64
		buf    []byte
	)
	err = s.chunks(len(bounty), func(i int) int { return len(bounty[i].Payload) + 256 }, func(lo, hi int) error {
		st, err := sw.bounty.get(c, hi-lo)
		if err != nil {
			return s.wrap("preparing the bounty insert", err)
		}
		a, p := &sw.arena, 1
		a.begin(st)
		for _, b := range bounty[lo:hi] {
			st.BindInt64(p, b.Time.UnixMicro())
			bindText(a, st, p+1, b.Decky)
			bindText(a, st, p+2, b.Service)
			bindText(a, st, p+3, b.AttackerIP)
			bindText(a, st, p+4, b.Type)
			bindText(a, st, p+5, unsafe.String(unsafe.SliceData(b.Payload), len(b.Payload))) // copied at once
			bindText(a, st, p+6, b.DedupKey)
			bindText(a, st, p+7, b.EventID)
			p += 8
		}
		if err := a.end(); err != nil {
			return s.wrap("binding bounty", err)
		}
		if err := step(st); err != nil {
			return s.wrap("inserting bounty", err)
		}
		k, n := int64(c.Changes()), int64(hi-lo)
		if k == 0 {
			return nil
		}
		total += int(k)
		last := c.LastInsertRowID()
		if k < n {
			ranges = append(ranges, [2]int64{prev, last})
			prev = last
			return nil
		}
		first, err := sw.chunkIDs(s, sw.bountyID, "bounty rows", bounty[lo].DedupKey, bounty[hi-1].DedupKey, n, last)
		if err != nil {
			return err
		}
		if first <= prev {
			return fmt.Errorf("store: the %d bounty rows just inserted into the %s got the ids %d-%d, not after %d", n, s.what, first, last, prev)
		}
		for i, b := range bounty[lo:hi] {
			buf = appendBountyTokens(buf[:0], b.Type, b.Decky, b.Service, b.AttackerIP)
			ids, texts = append(ids, first+int64(i)), append(texts, string(buf))
		}
		prev = last
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := sw.insertTokens(c, s, &sw.bountyTokens, ids, texts); err != nil {
		return 0, err
	}
	for _, r := range ranges {
		sw.bountyTokensOf.BindInt64(1, r[0])
		sw.bountyTokensOf.BindInt64(2, r[1])
		if err := step(sw.bountyTokensOf); err != nil {
			return 0, s.wrap("storing bounty tokens", err)
		}
	}
	return total, nil
}

// mergeStep does up to mergeStepPages pages of merging in table and reports whether
// there was any to do: FTS5's 'merge' command changes more than one row then.
func (sw *sqliteWriter) mergeStep(ctx context.Context, table string) (worked bool, err error) {
	err = sw.use(ctx, func(c *zs.Conn) error {
		st, err := c.Prepare("INSERT INTO " + table + "(" + table + ", rank) VALUES('merge', ?)")
		if err != nil {
			return err
		}
		before, err := integer(sw.totalChanges)
		if err != nil {
			return err
		}
		st.BindInt64(1, mergeStepPages)
		if err := step(st); err != nil {
			return err
		}
		after, err := integer(sw.totalChanges)
		worked = after-before > 1
		return err
	})
	return worked, err
}
