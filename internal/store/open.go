package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// DSN forms accepted by Open:
//
//	sqlite:///abs/path/decnet.db      SQLite (also "sqlite:/abs/path.db" or a plain path)
//	/abs/path/decnet.db?busy_timeout=5000&synchronous=NORMAL
//	mysql://user:pass@tcp(host:3306)/db?param=value   MySQL / MariaDB (go-sql-driver DSN after the scheme)
//
// SQLite options (query string): busy_timeout in milliseconds (default 5000) is how
// long a write waits for another writer's lock before failing with a retryable
// "database is locked" error; synchronous is NORMAL (default) or FULL.
//
// Durability. SQLite runs in WAL mode with synchronous=NORMAL by default: a committed
// transaction survives the process being killed (kill -9, a crash, OOM) because the
// WAL write happened before COMMIT returned; only an OS crash or power loss may roll
// back the last transactions. That loses nothing either: each batch commits its rows
// and the ingester's spool cursor in the same transaction, so a rolled-back commit
// rolls back the cursor with it and the ingester re-reads those events from the spool
// (and event_id dedup keeps a replay from doubling anything). synchronous=FULL, which
// fsyncs the WAL on every commit, is available for deployments where the spool itself
// is not on durable storage.
const (
	defaultBusyTimeout = 5 * time.Second
	sqliteScheme       = "sqlite:"
	mysqlScheme        = "mysql://"

	// sqlitePageSize is the page size of a new SQLite database (an existing one keeps
	// its own: SQLite fixes it when the file is created). 16 KiB rather than SQLite's
	// 4 KiB: the logs table and its six indexes split pages and log them to the WAL
	// four times less often; bench/ingest measured the bare insert loop 15-20% faster
	// (8 KiB: +8%, 32 KiB: +6%, 64 KiB: half the speed).
	sqlitePageSize = 16384

	// sqliteReaderMmap is how much of the database file each reading connection maps
	// into memory (SQLite's largest, 2 GiB; pages past it are read as before). A
	// search reads its rows from the mapping instead of copying each 16 KiB page out
	// of the kernel with pread into a small per-connection cache, which the writer's
	// every commit empties: bench/api, 1M events, 500 clients asking for pages at
	// random before_id, the store alone answered 1,976 → 3,811-3,872 pages/s.
	// The mapping is shared with the kernel's page cache, so it costs address space,
	// not memory. The writer keeps pread: mapped, it was no faster (bench/ingest).
	sqliteReaderMmap = 2147418112
)

// DefaultDSN is the embedded SQLite database in DECNET's state directory.
func DefaultDSN(stateDir string) string {
	return sqliteScheme + filepath.Join(stateDir, "decnet.db")
}

// Open connects to the database named by dsn (see the DSN forms above), creates or
// migrates its schema to SchemaVersion, and returns the Store.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, mysqlScheme):
		return openMySQL(ctx, strings.TrimPrefix(dsn, mysqlScheme))
	case strings.HasPrefix(dsn, sqliteScheme+"//"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, sqliteScheme+"//"))
	case strings.HasPrefix(dsn, sqliteScheme):
		return openSQLite(ctx, strings.TrimPrefix(dsn, sqliteScheme))
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return nil, fmt.Errorf("store: unknown database scheme %q in the DSN; use sqlite:///path/decnet.db or mysql://user:pass@tcp(host:3306)/db", scheme)
	case dsn == "":
		return nil, errors.New("store: the database DSN is empty")
	default:
		return openSQLite(ctx, dsn)
	}
}

type sqliteOptions struct {
	busyTimeout time.Duration
	synchronous string
}

func parseSQLiteDSN(s string) (path string, o sqliteOptions, err error) {
	o = sqliteOptions{busyTimeout: defaultBusyTimeout, synchronous: "NORMAL"}
	path, rawQuery, hasQuery := strings.Cut(s, "?")
	if path == "" {
		return "", o, errors.New("store: the SQLite DSN has no file path")
	}
	if hasQuery {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return "", o, fmt.Errorf("store: the SQLite DSN options %q are not a valid query string: %w", rawQuery, err)
		}
		for k, vs := range q {
			v := vs[len(vs)-1]
			switch k {
			case "busy_timeout", "_busy_timeout":
				ms, err := strconv.Atoi(v)
				if err != nil || ms < 0 {
					return "", o, fmt.Errorf("store: SQLite busy_timeout %q is not a number of milliseconds", v)
				}
				o.busyTimeout = time.Duration(ms) * time.Millisecond
			case "synchronous", "_synchronous":
				switch strings.ToUpper(v) {
				case "NORMAL", "FULL", "EXTRA":
					o.synchronous = strings.ToUpper(v)
				default:
					return "", o, fmt.Errorf("store: SQLite synchronous %q must be NORMAL, FULL or EXTRA", v)
				}
			default:
				return "", o, fmt.Errorf("store: unknown SQLite DSN option %q (known: busy_timeout, synchronous)", k)
			}
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", o, fmt.Errorf("store: cannot resolve the SQLite path %q: %w", path, err)
	}
	return abs, o, nil
}

func openSQLite(ctx context.Context, s string) (Store, error) {
	path, o, err := parseSQLiteDSN(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: cannot create the directory of the SQLite database %s: %w", path, err)
	}
	// The database holds captured credentials: create it private. SQLite gives its
	// -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: cannot open the SQLite database %s: %w", path, err)
	}
	f.Close()

	common := "?_busy_timeout=" + strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	w, err := sql.Open("sqlite", path+common+
		"&_journal_mode=WAL&_synchronous="+o.synchronous+"&_txlock=immediate"+
		"&_pragma=page_size("+strconv.Itoa(sqlitePageSize)+")"+
		"&_pragma=temp_store(memory)&_pragma=cache_size(-32768)"+
		"&_pragma=wal_autocheckpoint("+strconv.Itoa(ckptBackstopPages)+")"+
		"&_pragma=journal_size_limit("+strconv.Itoa(ckptJournalLimit)+")")
	if err != nil {
		return nil, fmt.Errorf("store: cannot open the SQLite database %s: %w", path, err)
	}
	// One writer connection: SQLite has one writer at a time anyway, and a single
	// connection keeps prepared statements warm and lock waits inside busy_timeout.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	st := &sqlStore{dialect: dialectSQLite, w: w, r: w, what: "SQLite database " + path}
	if err := st.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)&_pragma=temp_store(memory)"+
		"&_pragma=mmap_size("+strconv.Itoa(sqliteReaderMmap)+")")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: cannot open the SQLite database %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	st.r = r
	ck, err := sql.Open("sqlite", path+common+"&_synchronous="+o.synchronous)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: cannot open the SQLite database %s for checkpoints: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxIdleTime(0)
	st.ckpt = startCheckpointer(ck)
	vdb, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store: cannot open the SQLite database %s for its data version: %w", path, err)
	}
	vdb.SetMaxOpenConns(1)
	st.ver = &versionReader{db: vdb}
	st.idx = newIDIndex(st)
	if err := st.init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if st.sw, err = openSQLiteWriter(w, path, o, st.chunkRows); err != nil {
		st.Close()
		return nil, err
	}
	st.merge = startMerger(st.sw)
	return st, nil
}

func openMySQL(ctx context.Context, dsn string) (Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: the MySQL DSN is not valid (expected mysql://user:pass@tcp(host:3306)/db?…): %w", err)
	}
	if cfg.DBName == "" {
		return nil, errors.New("store: the MySQL DSN names no database (mysql://user:pass@tcp(host:3306)/DB)")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = false
	cfg.Collation = "utf8mb4_bin"
	cfg.MaxAllowedPacket = 0 // ask the server, so large values are split correctly
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 2 * time.Minute
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 2 * time.Minute
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Strict mode: an over-long or invalid value is an error, never silently cut.
	cfg.Params["sql_mode"] = "'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"
	cfg.Params["time_zone"] = "'+00:00'"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: the MySQL DSN is not usable: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxLifetime(30 * time.Minute)
	what := fmt.Sprintf("MySQL database %s on %s", cfg.DBName, cfg.Addr)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cannot connect to the %s: %w", what, err)
	}
	st := &sqlStore{dialect: dialectMySQL, w: db, r: db, what: what, foldSettle: mysqlFoldSettle}
	if err := st.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	var packet int64
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err == nil && packet > 0 {
		st.chunkBytes = int(min(packet/4, 8<<20))
	}
	// Only a hint for the fast id path (mysqlChunkIDs checks every use of it).
	if err := db.QueryRowContext(ctx, "SELECT @@auto_increment_increment").Scan(&st.autoIncStep); err != nil {
		st.autoIncStep = 1
	}
	if err := st.init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
