package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"decnet/internal/event"
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectMySQL
)

// Insert chunking: rows per multi-row INSERT, and a byte budget per statement so a
// batch of megabyte values never builds one giant packet.
const (
	defaultChunkRows  = 256
	defaultChunkBytes = 8 << 20
	lookupChunk       = 500 // event_ids per IN (…) lookup
)

const logColumns = "id, event_id, timestamp, decky, service, event_type, attacker_ip, attacker_port, fields, msg, raw_line"

// sqlStore is the Store for both engines; the few statements that differ are chosen
// by dialect.
type sqlStore struct {
	dialect    dialect
	w          *sql.DB       // the writer (SQLite: exactly one connection, held while sw is used)
	sw         *sqliteWriter // SQLite: the ingest connection (sqlitewriter.go)
	r          *sql.DB       // readers (SQLite: a separate query_only pool; MySQL: w)
	what       string        // "SQLite database /path" for error messages
	chunkRows  int
	chunkBytes int

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared full-chunk INSERTs on w
	// readStmts are prepared reads on r (see readStmt).
	readStmts map[string]*sql.Stmt
	closed    bool

	// failpoint, when set by a test, is called inside Ingest's transaction after
	// each stage ("logs", "bounty", "cursor"); an error aborts the batch there.
	failpoint func(stage string) error

	known       *storedKeys    // bounty dedup keys known to be stored
	ckpt        *checkpointer  // SQLite: checkpoints the WAL off the writer's path
	merge       *background    // SQLite: merges the token tables off the writer's path (merge.go)
	ver         *versionReader // SQLite: PRAGMA data_version (DataVersion)
	idx         *idIndex       // SQLite: LogIDs from memory
	commits     atomic.Uint64  // Ingest and SaveAnalysis commits (DataVersion)
	autoIncStep int64          // MySQL: @@auto_increment_increment

	foldMu          sync.Mutex    // FoldCounters and the fields below
	foldMarks       []foldMark    // MySQL: the newest ids at past folds
	foldSettle      time.Duration // MySQL: how old an id must be to be folded (mysqlFoldSettle)
	foldCursorsMade bool          // MySQL: the counters' cursor rows exist
}

func (s *sqlStore) init(ctx context.Context) error {
	if s.chunkRows == 0 {
		s.chunkRows = defaultChunkRows
	}
	if s.chunkBytes == 0 {
		s.chunkBytes = defaultChunkBytes
	}
	s.stmts = map[string]*sql.Stmt{}
	s.readStmts = map[string]*sql.Stmt{}
	s.known = newStoredKeys(storedKeysMax)
	return s.prepare(ctx)
}

// wrap turns a database error into one sentence naming the operation and database.
func (s *sqlStore) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	hint := ""
	if IsRetryable(err) {
		hint = " (temporary; retry)"
	}
	return fmt.Errorf("store: %s on the %s failed%s: %w", op, s.what, hint, err)
}

// migrate brings the schema to SchemaVersion.
func (s *sqlStore) migrate(ctx context.Context) error {
	if s.dialect == dialectSQLite {
		return s.migrateSQLite(ctx)
	}
	return s.migrateMySQL(ctx)
}

// logUpgrade says that an existing database's schema is about to be upgraded: some
// migrations rebuild an index over every row (7 and 8: ~4 s per million events), and
// a command that seems to hang at start is worse than one that says why.
func logUpgrade(current int, what string) {
	if latest := SchemaVersion(); current > 0 && current < latest {
		slog.Info("store: upgrading the database schema; this reads every stored event and can take a while", "database", what, "from", current, "to", latest)
	}
}

func checkVersion(current int, what string) error {
	if latest := SchemaVersion(); current > latest {
		return fmt.Errorf("store: the %s has schema version %d, newer than this decnet knows (%d); upgrade decnet", what, current, latest)
	}
	return nil
}

func (s *sqlStore) migrateSQLite(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: concurrent openers serialise here
	if err != nil {
		return s.wrap("starting the schema migration", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return s.wrap("creating schema_migrations", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return s.wrap("reading the schema version", err)
	}
	if err := checkVersion(current, s.what); err != nil {
		return err
	}
	logUpgrade(current, s.what)
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.sqlite {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return s.wrap(fmt.Sprintf("applying migration %d (%s)", m.version, m.name), err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return s.wrap(fmt.Sprintf("recording migration %d", m.version), err)
		}
	}
	return s.wrap("committing the schema migration", tx.Commit())
}

func (s *sqlStore) migrateMySQL(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return s.wrap("connecting for the schema migration", err)
	}
	defer conn.Close()
	// MySQL DDL is not transactional; a named lock keeps two openers from migrating at once.
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK('decnet_schema_migration', 60)`).Scan(&got); err != nil {
		return s.wrap("taking the schema migration lock", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("store: another process held the schema migration lock of the %s for 60s", s.what)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK('decnet_schema_migration')`)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`); err != nil {
		return s.wrap("creating schema_migrations", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return s.wrap("reading the schema version", err)
	}
	if err := checkVersion(current, s.what); err != nil {
		return err
	}
	logUpgrade(current, s.what)
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		stmts := m.mysql
		if m.mysqlApplied != "" {
			var applied int
			if err := conn.QueryRowContext(ctx, m.mysqlApplied).Scan(&applied); err != nil {
				return s.wrap(fmt.Sprintf("checking whether migration %d (%s) already ran", m.version, m.name), err)
			}
			if applied > 0 {
				stmts = nil // it ran; only its version row is missing
			}
		}
		for _, stmt := range stmts {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return s.wrap(fmt.Sprintf("applying migration %d (%s)", m.version, m.name), err)
			}
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return s.wrap(fmt.Sprintf("recording migration %d", m.version), err)
		}
	}
	return nil
}

// encodedRow is a Record ready to bind.
type encodedRow struct {
	rec *Record
	Encoded
}

// Encoded is a record validated and encoded for its logs row (see Encoder).
type Encoded struct {
	fields string
	tokens string // SQLite: the row's logs_dims text (appendDimsTokens)
	raw    string // what the raw_line column gets: "" when RawLine is the event's canonical line
	size   int
	ok     bool // made by Encode (Ingest encodes a zero Encoded itself)
}

// Encoder encodes records for Batch.Encoded; its zero value is ready, and it
// reuses its buffers from one record to the next (one goroutine at a time).
type Encoder struct{ buf, line []byte }

// Encode makes the checks Ingest makes on r (ValidateRecord, and the size of its
// encoded row) and encodes its row.
func (en *Encoder) Encode(r *Record) (Encoded, error) {
	return en.EncodeJSON(r, "")
}

// EncodeJSON is Encode for a record whose fields were read from fieldsJSON, a JSON
// object (spool.Record.FieldsJSON): when that is, byte for byte, the stored
// encoding of r.Fields (isStoredFields checks it), the row gets it as it is
// instead of an encoding of r.Fields made again. Any other text, "" included,
// changes nothing. Encoding the fields was an eighth of the ingester's reading
// goroutine in bench/ingest; checking them costs less than half of that
// (BenchmarkStoredFields).
func (en *Encoder) EncodeJSON(r *Record, fieldsJSON string) (Encoded, error) {
	if err := ValidateRecord(*r); err != nil {
		return Encoded{}, err
	}
	asItIs := fieldsJSON != "" && isStoredFields(fieldsJSON, r.Fields)
	en.buf = en.buf[:0]
	if !asItIs {
		en.buf = encodeFields(en.buf, r.Fields)
	}
	n := len(en.buf)
	en.buf = appendDimsTokens(en.buf, r.Decky, r.Service, r.Type, r.AttackerIP)
	both := string(en.buf) // one allocation for the fields (unless given) and tokens
	e := Encoded{fields: both[:n], tokens: both[n:], raw: r.RawLine, ok: true}
	if asItIs {
		e.fields = fieldsJSON
	}
	if canon, err := event.AppendFormat(en.line[:0], r.Event); err == nil {
		en.line = canon
		if string(canon) == r.RawLine {
			e.raw = "" // regenerated on read: see "raw_line" in migrations.go
		}
	}
	e.size = len(e.fields) + len(r.Msg) + len(r.RawLine) + len(r.ID) + len(r.Decky) + len(r.Service) + len(r.Type) + len(r.AttackerIP) + 64
	if e.size > MaxRecordBytes {
		return Encoded{}, invalidf("event %q is %d bytes once encoded, over the %d-byte limit", r.ID, e.size, MaxRecordBytes)
	}
	return e, nil
}

func bountyDedupKey(b Bounty) string {
	if b.DedupKey != "" {
		return b.DedupKey
	}
	h := sha256.New()
	h.Write([]byte(b.Type))
	h.Write([]byte{0})
	h.Write(b.Payload)
	return hex.EncodeToString(h.Sum(nil)[:16]) // 128 bits, as bounty.Key (migration 4)
}

// Ingest commits a batch in one transaction. See Store.
func (s *sqlStore) Ingest(ctx context.Context, b Batch) (IngestResult, error) {
	var res IngestResult
	if len(b.CursorName) > MaxCursorName {
		return res, invalidf("cursor name is %d bytes, over the %d-byte limit", len(b.CursorName), MaxCursorName)
	}
	rows := make([]encodedRow, len(b.Records))
	var en Encoder
	for i := range b.Records {
		r := &b.Records[i]
		e := Encoded{}
		if len(b.Encoded) == len(b.Records) {
			e = b.Encoded[i]
		}
		if !e.ok {
			var err error
			if e, err = en.Encode(r); err != nil {
				return res, err
			}
		}
		rows[i] = encodedRow{rec: r, Encoded: e}
	}
	for _, bo := range b.Bounty {
		if err := validateBounty(bo); err != nil {
			return res, err
		}
	}

	ids := make([]int64, len(rows))
	bounty := s.known.unknown(b.Bounty)
	var err error
	if s.dialect == dialectSQLite {
		res.NewBounty, err = s.ingestSQLite(ctx, rows, ids, bounty, b.CursorName, b.Cursor)
	} else {
		res.NewBounty, err = s.ingestMySQL(ctx, rows, ids, bounty, b.CursorName, b.Cursor)
	}
	if err != nil {
		return IngestResult{}, err
	}
	res.IDs = ids
	for _, id := range ids {
		if id > 0 {
			res.Inserted = append(res.Inserted, id)
		} else {
			res.Duplicates++
		}
	}
	s.known.stored(bounty)
	s.commits.Add(1)
	s.ckpt.kick()
	s.merge.kick()
	return res, nil
}

// ingestMySQL stores a batch on MySQL in one transaction: the logs rows (their ids
// in ids, 0 for a duplicate), the new bounty and the cursor. It returns how many
// bounty rows were new.
func (s *sqlStore) ingestMySQL(ctx context.Context, rows []encodedRow, ids []int64, bounty []Bounty, cursorName, cursor string) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap("starting an ingest transaction", err)
	}
	defer tx.Rollback()
	if err := s.insertLogsMySQL(ctx, tx, rows, ids); err != nil {
		return 0, err
	}
	if err := s.fail("logs"); err != nil {
		return 0, err
	}
	newBounty, err := s.insertBounty(ctx, tx, bounty)
	if err != nil {
		return 0, err
	}
	if err := s.fail("bounty"); err != nil {
		return 0, err
	}
	if cursorName != "" {
		if err := s.setCursor(ctx, tx, cursorName, cursor); err != nil {
			return 0, err
		}
	}
	if err := s.fail("cursor"); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, s.wrap("committing an ingest batch", err)
	}
	return newBounty, nil
}

// tokensChunk is the number of rows of one logs_dims insert: FTS5 writes what it
// holds in memory as a new segment at the end of each statement (its savepoint),
// so statements of 256 rows, like the logs inserts, made 78 segments to merge out
// of a transaction of 20,000 events. 16,000 rows (near SQLite's limit of 32,766
// bound values) measured no better in bench/ingest, and preparing its statement
// made Open 12 ms slower.
const tokensChunk = 4096

func logsTokensQuery(n int) string {
	return "INSERT INTO logs_dims(rowid, t) VALUES " + placeholders(n, 2)
}

func (s *sqlStore) fail(stage string) error {
	if s.failpoint == nil {
		return nil
	}
	return s.failpoint(stage)
}

// chunks splits rows into runs of at most chunkRows rows and about chunkBytes bytes.
func (s *sqlStore) chunks(n int, size func(i int) int, fn func(lo, hi int) error) error {
	lo, bytes := 0, 0
	for i := 0; i < n; i++ {
		sz := size(i)
		if i > lo && (i-lo >= s.chunkRows || bytes+sz > s.chunkBytes) {
			if err := fn(lo, i); err != nil {
				return err
			}
			lo, bytes = i, 0
		}
		bytes += sz
	}
	if lo < n {
		return fn(lo, n)
	}
	return nil
}

// stmt returns a prepared statement for query bound to tx: the one prepared at Open
// when query is a full chunk (the common case) or the id lookup, else one prepared
// for this transaction only. The caller calls the returned function when done with it.
func (s *sqlStore) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, func(), error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), func() {}, nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// mysqlLogsInsert is the INSERT of n logs rows (insertLogsMySQL).
func mysqlLogsInsert(n int) string {
	return insertLogsHead + placeholders(n, 10)
}

// mysqlBountyInsert is the INSERT of n bounty rows, a duplicate dedup key skipped
// (0 rows affected).
func mysqlBountyInsert(n int) string {
	return insertBountyHead + placeholders(n, 8) + " ON DUPLICATE KEY UPDATE id = id"
}

// prepare readies MySQL's full-chunk INSERT statements and id lookup (SQLite's
// ingest statements are prepared on its ingest connection: sqlitewriter.go).
func (s *sqlStore) prepare(ctx context.Context) error {
	if s.dialect == dialectSQLite {
		return nil
	}
	for _, q := range []string{mysqlLogsInsert(s.chunkRows), mysqlBountyInsert(s.chunkRows), idOfQuery} {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return s.wrap("preparing the insert statements", err)
		}
		s.stmts[q] = st
	}
	return nil
}

func placeholders(n, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var b strings.Builder
	b.Grow(n * (len(one) + 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// SQLiteTokensStatement adds the logs_dims tokens (migration 7) of the logs rows
// with ids from the first to the second argument, made from the stored rows:
// bench/ingest's bare insert loop runs it in each transaction. Ingest binds the
// same texts instead (insertLogsTokens).
const SQLiteTokensStatement = "INSERT INTO logs_dims(rowid, t) SELECT id, " + dimsTokens + " FROM logs WHERE id BETWEEN ? AND ?"

const insertLogsHead = "INSERT INTO logs (event_id, timestamp, decky, service, event_type, attacker_ip, attacker_port, fields, msg, raw_line) VALUES "

// appendLogArgs appends the arguments of r's logs row for MySQL (msg and raw_line
// are LONGBLOB: bound as bytes, never converted by a character set).
func appendLogArgs(args []any, r encodedRow) []any {
	rec := r.rec
	return append(args, rec.ID, rec.Time.UnixMicro(), rec.Decky, rec.Service, rec.Type, rec.AttackerIP,
		rec.AttackerPort, r.fields, []byte(rec.Msg), []byte(r.raw))
}

// insertLogsMySQL inserts rows optimistically, one plain multi-row INSERT per chunk:
// in the common case no event is stored yet and nothing is looked up beforehand. A
// chunk holding an event_id that is already stored (a replay after a crash, or the
// same event twice in the batch) fails with a duplicate-key error, after which InnoDB
// has rolled back that statement only; the chunk's event_ids are then looked up and
// the others inserted again. If a concurrent writer stores one of them meanwhile, the
// second attempt fails with the same error, which is retryable: the whole batch is
// retried and finds it stored. Ids come from LAST_INSERT_ID() when that can be
// confirmed (mysqlChunkIDs), else by reading them back — correct on MySQL and
// MariaDB whatever the auto-increment lock mode.
func (s *sqlStore) insertLogsMySQL(ctx context.Context, tx *sql.Tx, rows []encodedRow, ids []int64) error {
	args := make([]any, 0, 10*min(len(rows), s.chunkRows))
	at := make([]int, 0, min(len(rows), s.chunkRows))
	return s.chunks(len(rows), func(i int) int { return rows[i].size }, func(lo, hi int) error {
		at = at[:0]
		for i := lo; i < hi; i++ {
			at = append(at, i)
		}
		err := s.insertChunkMySQL(ctx, tx, rows[lo:hi], at, ids, &args)
		if !isDuplicateKey(err) {
			return err
		}
		stored := make(map[string]bool, hi-lo)
		if err := s.lookupIDs(ctx, tx, rows[lo:hi], func(eid string, _ int64) { stored[eid] = true }); err != nil {
			return err
		}
		var fresh []encodedRow
		at = at[:0]
		for i := lo; i < hi; i++ {
			if eid := rows[i].rec.ID; !stored[eid] {
				stored[eid] = true // a later copy in this chunk is a duplicate
				fresh = append(fresh, rows[i])
				at = append(at, i)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		err = s.insertChunkMySQL(ctx, tx, fresh, at, ids, &args)
		if isDuplicateKey(err) {
			return s.wrap("inserting events (another writer stored some of them meanwhile)", err)
		}
		return err
	})
}

func isDuplicateKey(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// insertChunkMySQL inserts chunk with one statement and sets ids[at[i]] to the id of
// chunk[i].
func (s *sqlStore) insertChunkMySQL(ctx context.Context, tx *sql.Tx, chunk []encodedRow, at []int, ids []int64, args *[]any) error {
	st, done, err := s.stmt(ctx, tx, mysqlLogsInsert(len(chunk)))
	if err != nil {
		return s.wrap("preparing the event insert", err)
	}
	defer done()
	a := (*args)[:0]
	for _, r := range chunk {
		a = appendLogArgs(a, r)
	}
	*args = a
	res, err := st.ExecContext(ctx, a...)
	if err != nil {
		if isDuplicateKey(err) {
			return err // unwrapped: the caller looks the chunk up
		}
		return s.wrap("inserting events", err)
	}
	if ok, err := s.mysqlChunkIDs(ctx, tx, res, chunk, at, ids); ok || err != nil {
		return err
	}
	pos := make(map[string]int, len(chunk))
	for i, r := range chunk {
		pos[r.rec.ID] = at[i]
	}
	return s.lookupIDs(ctx, tx, chunk, func(eid string, id int64) {
		if i, ok := pos[eid]; ok {
			ids[i] = id
		}
	})
}

// mysqlChunkIDs works out the ids of a chunk of rows one multi-row INSERT just
// stored, without reading them back: LAST_INSERT_ID() is the id of the first row,
// and the server assigns one statement's auto-increment values in row order,
// increasing, as offset + k·auto_increment_increment. So when the last row got
// first + (n-1)·step (one lookup), the n rows got exactly first, first+step, … in
// order. It reports false — the caller then looks every id up — whenever that cannot
// be confirmed (interleaved values under innodb_autoinc_lock_mode=2, a different
// increment), so it is never wrong, only sometimes not the fast path.
func (s *sqlStore) mysqlChunkIDs(ctx context.Context, tx *sql.Tx, res sql.Result, chunk []encodedRow, at []int, ids []int64) (bool, error) {
	n := int64(len(chunk))
	first, err := res.LastInsertId()
	if err != nil || first <= 0 {
		return false, nil
	}
	if k, err := res.RowsAffected(); err != nil || k != n {
		return false, nil
	}
	step := s.autoIncStep
	if step < 1 {
		step = 1
	}
	last, err := s.idOf(ctx, tx, chunk[n-1].rec.ID)
	if err != nil {
		return false, err
	}
	if last != first+(n-1)*step {
		return false, nil
	}
	for i := range chunk {
		ids[at[i]] = first + int64(i)*step
	}
	return true, nil
}

const idOfQuery = "SELECT id FROM logs WHERE event_id = ?"

// idOf returns the id of the stored event eid (0 if none) with a statement
// prepared once.
func (s *sqlStore) idOf(ctx context.Context, tx *sql.Tx, eid string) (int64, error) {
	st, done, err := s.stmt(ctx, tx, idOfQuery)
	if err != nil {
		return 0, s.wrap("preparing the event id lookup", err)
	}
	defer done()
	var id int64
	err = st.QueryRowContext(ctx, eid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, s.wrap("looking up a stored event id", err)
}

func (s *sqlStore) lookupIDs(ctx context.Context, tx *sql.Tx, rows []encodedRow, fn func(eid string, id int64)) error {
	args := make([]any, 0, lookupChunk)
	for lo := 0; lo < len(rows); lo += lookupChunk {
		hi := min(lo+lookupChunk, len(rows))
		args = args[:0]
		for _, r := range rows[lo:hi] {
			args = append(args, r.rec.ID)
		}
		q := "SELECT event_id, id FROM logs WHERE event_id IN (" + strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",") + ")"
		res, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return s.wrap("looking up stored event ids", err)
		}
		for res.Next() {
			var eid string
			var id int64
			if err := res.Scan(&eid, &id); err != nil {
				res.Close()
				return s.wrap("reading stored event ids", err)
			}
			fn(eid, id)
		}
		err = res.Err()
		res.Close()
		if err != nil {
			return s.wrap("looking up stored event ids", err)
		}
	}
	return nil
}

const insertBountyHead = "INSERT INTO bounty (timestamp, decky, service, attacker_ip, bounty_type, payload, dedup_key, event_id) VALUES "

// insertBounty inserts bounty (each with its DedupKey set) and returns how many rows
// were new.
func (s *sqlStore) insertBounty(ctx context.Context, tx *sql.Tx, bounty []Bounty) (int, error) {
	total := 0
	args := make([]any, 0, 8*min(len(bounty), s.chunkRows))
	err := s.chunks(len(bounty), func(i int) int { return len(bounty[i].Payload) + 256 }, func(lo, hi int) error {
		n := hi - lo
		st, done, err := s.stmt(ctx, tx, mysqlBountyInsert(n))
		if err != nil {
			return s.wrap("preparing the bounty insert", err)
		}
		defer done()
		args = args[:0]
		for _, b := range bounty[lo:hi] {
			args = append(args, b.Time.UnixMicro(), b.Decky, b.Service, b.AttackerIP, b.Type, string(b.Payload), b.DedupKey, b.EventID)
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return s.wrap("inserting bounty", err)
		}
		n64, err := res.RowsAffected()
		if err != nil {
			return s.wrap("counting inserted bounty", err)
		}
		total += int(n64)
		return nil
	})
	return total, err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *sqlStore) setCursor(ctx context.Context, ex execer, name, value string) error {
	q := setCursorSQLite
	var v any = value
	if s.dialect == dialectMySQL {
		q = `INSERT INTO state (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`
		v = []byte(value)
	}
	_, err := ex.ExecContext(ctx, q, name, v)
	return s.wrap(fmt.Sprintf("saving cursor %q", name), err)
}

// Cursor returns a worker cursor ("" when unset).
func (s *sqlStore) Cursor(ctx context.Context, name string) (string, error) {
	return s.readCursor(ctx, s.w, name, "")
}

// readCursor reads a worker cursor through q ("" when unset); lock is appended to
// the query (MySQL: " FOR UPDATE" inside a transaction).
func (s *sqlStore) readCursor(ctx context.Context, q querier, name, lock string) (string, error) {
	var v []byte
	err := q.QueryRowContext(ctx, "SELECT value FROM state WHERE name = ?"+lock, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.wrap(fmt.Sprintf("reading cursor %q", name), err)
	}
	return string(v), nil
}

// SetCursor sets a worker cursor outside a batch.
func (s *sqlStore) SetCursor(ctx context.Context, name, value string) error {
	if name == "" || len(name) > MaxCursorName {
		return invalidf("cursor name must be 1-%d bytes, got %d", MaxCursorName, len(name))
	}
	return s.setCursor(ctx, s.w, name, value)
}

// Close releases the connections.
func (s *sqlStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.idx != nil {
		s.idx.close() // before the readers it reads with
	}
	if s.merge != nil {
		s.merge.stop() // before the writer it writes with
	}
	var err error
	if s.sw != nil {
		err = s.sw.close()
	}
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	for _, st := range s.readStmts {
		st.Close()
	}
	s.readStmts = nil
	s.mu.Unlock()
	if s.ckpt != nil {
		if e := s.ckpt.close(); e != nil && err == nil {
			err = e
		}
	}
	if s.ver != nil {
		if e := s.ver.close(); e != nil && err == nil {
			err = e
		}
	}
	if s.r != s.w {
		if e := s.r.Close(); e != nil && err == nil {
			err = e
		}
	}
	if e := s.w.Close(); e != nil && err == nil {
		err = e
	}
	return err
}
