// Command ingest-bench measures the ingester: N synthetic events are written to a
// spool, then (1) a bare loop inserts the same rows into the logs table with
// multi-row INSERTs in transactions of the same batch size (no spool, no decoding,
// no bounty, no cursor, values prepared in memory beforehand) and (2) the real
// ingester stores them from the spool (reading, decoding, validating, bounty,
// cursor, dedup). On SQLite the bare loop runs twice: through database/sql (what a
// hand-written loader would use) and through SQLite's own API, as the store's
// ingest connection does (with zombiezen's BindText, as a hand-written loader on
// that API would; the store's connection binds its texts from buffers it keeps:
// internal/store/sqlitebind.go). It prints events/s of each, the ingester's
// ratios, and the CPU time this process spent per event in each (the ingester's
// reading and writing goroutines together can keep both cores of a small machine
// busy), for SQLite and, when DECNET_TEST_MYSQL_DSN is set, for MariaDB/MySQL. On
// SQLite the bare loop also gives each transaction's rows their identifier tokens
// (logs_dims, the store's index of decky, service, event type and attacker: see
// migration 7 in internal/store) with the store's own statement, as it would
// otherwise insert into a table without its index. The process runs with decnet
// ingest's garbage collector setting (GOGC=400, ingest.DefaultGCPercent) unless
// GOGC is set. For SQLite it also times the bare loop into the logs table without
// any secondary index (no timestamp index, no tokens): the ceiling of this engine
// on this machine for the data alone. Run it through bench/ingest.sh.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"
	zs "zombiezen.com/go/sqlite"

	"decnet/bench/internal/synth"
	"decnet/internal/event"
	"decnet/internal/ingest"
	"decnet/internal/spool"
	"decnet/internal/store"
)

func main() {
	n := flag.Int("n", 1_000_000, "events")
	batch := flag.Int("batch", ingest.DefaultBatchSize, "events per transaction (both loops)")
	chunk := flag.Int("chunk", 256, "rows per INSERT statement in the bare loop (the store's chunk size)")
	work := flag.String("dir", "", "work directory (default: a temporary one, removed after)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := flag.String("memprofile", "", "write a profile of the memory allocated during the whole run to this file")
	ceiling := flag.Bool("ceiling", true, "also time the SQLite bare loop without any secondary index")
	flag.Parse()
	// The garbage collector as decnet ingest and decnet run set it (their --gogc),
	// unless GOGC in the environment asks for another.
	if env := os.Getenv("GOGC"); env != "" {
		fmt.Printf("garbage collector: GOGC=%s (from the environment)\n", env)
	} else {
		debug.SetGCPercent(ingest.DefaultGCPercent)
		fmt.Printf("garbage collector: GOGC=%d (decnet ingest's --gogc default)\n", ingest.DefaultGCPercent)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingest-bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	err := run(*n, *batch, *chunk, *work, *ceiling)
	if err == nil && *memprofile != "" {
		err = writeHeapProfile(*memprofile)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "ingest-bench:", err)
		os.Exit(1)
	}
}

// writeHeapProfile writes the heap profile, whose alloc_space and alloc_objects
// samples are what the run allocated, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(n, batch, chunk int, work string, ceiling bool) error {
	if work == "" {
		d, err := os.MkdirTemp("", "decnet-bench-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	spoolDir := filepath.Join(work, "spool")
	t0 := time.Now()
	if err := writeSpool(spoolDir, n); err != nil {
		return err
	}
	fi, _ := spool.Segments(spoolDir)
	fmt.Printf("events: %d, spool written in %s (%d segments)\n", n, time.Since(t0).Round(time.Millisecond), len(fi))

	// The bare loops' rows are made before each loop's CPU time is taken (it counted
	// their making: 16 µs per event instead of 10) and dropped after it, so that the
	// ingester runs without the benchmark's data in its heap, as a real one does.
	rs := rows(n)
	if err := bench("SQLite", n, []bareRun{
		{"database/sql", func() (float64, error) {
			return bareSQLite(filepath.Join(work, "bare.db"), rs, batch, chunk, false)
		}},
		{"SQLite API", func() (float64, error) {
			r, err := bareSQLiteDirect(filepath.Join(work, "bare-direct.db"), rs, batch, chunk)
			rs = nil
			return r, err
		}},
	}, func() (float64, error) {
		return ingestRun("sqlite://"+filepath.Join(work, "ingest.db"), spoolDir, n, batch)
	}); err != nil {
		return err
	}
	if ceiling {
		r, err := bareSQLite(filepath.Join(work, "bare-noindex.db"), rows(n), batch, chunk, true)
		if err != nil {
			return fmt.Errorf("SQLite bare insert without secondary indexes: %w", err)
		}
		fmt.Printf("SQLite   bare batched INSERT through database/sql without the timestamp index and the identifier tokens (ceiling): %9.0f events/s\n", r)
	}
	if dsn := os.Getenv("DECNET_TEST_MYSQL_DSN"); dsn != "" {
		dsn = strings.TrimPrefix(dsn, "mysql://")
		unlock, err := lockMySQL(dsn)
		if err != nil {
			return err
		}
		defer unlock()
		rs := rows(n)
		if err := bench("MariaDB", n, []bareRun{{"database/sql", func() (float64, error) {
			r, err := bareMySQL(dsn, rs, batch, chunk)
			rs = nil
			return r, err
		}}}, func() (float64, error) {
			if err := resetMySQL(dsn); err != nil {
				return 0, err
			}
			return ingestRun("mysql://"+dsn, spoolDir, n, batch)
		}); err != nil {
			return err
		}
	} else {
		fmt.Println("MariaDB: skipped (DECNET_TEST_MYSQL_DSN is not set)")
	}
	return nil
}

// bareRun is one bare insert loop: the API it goes through, and the loop.
type bareRun struct {
	api string
	run func() (float64, error)
}

// bench times the bare loops, then the ingester, and prints each one's events/s
// and CPU per event, and the ingester's ratio to each bare loop.
func bench(name string, n int, bares []bareRun, ing func() (float64, error)) error {
	perEvent := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }
	rates := make([]float64, len(bares))
	for i, b := range bares {
		c0 := cpuTime()
		r, err := b.run()
		if err != nil {
			return fmt.Errorf("%s bare insert through %s: %w", name, b.api, err)
		}
		rates[i] = r
		fmt.Printf("%-8s bare batched INSERT, %-14s %9.0f events/s   CPU of this process %.1f µs/event\n", name, b.api+":", r, perEvent(cpuTime()-c0))
	}
	runtime.GC() // the bare loops' rows, dropped
	c0 := cpuTime()
	r, err := ing()
	if err != nil {
		return fmt.Errorf("%s ingest: %w", name, err)
	}
	ratios := make([]string, len(bares))
	for i, b := range bares {
		ratios[i] = fmt.Sprintf("%.2f to the %s loop", r/rates[i], b.api)
	}
	fmt.Printf("%-8s ingester (spool → store):     %9.0f events/s   CPU of this process %.1f µs/event (with its garbage collection; a database server's CPU is not included)\n", name, r, perEvent(cpuTime()-c0))
	fmt.Printf("%-8s ratio %s\n", name, strings.Join(ratios, ", "))
	return nil
}

// cpuTime is the user and system CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// record makes synthetic event i with its canonical line.
func record(i int) *spool.Record {
	e := synth.Event(i, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Millisecond)
	line, err := event.Format(e)
	if err != nil {
		panic(err)
	}
	return &spool.Record{Event: e, RawLine: string(line)}
}

func writeSpool(dir string, n int) error {
	w, err := spool.OpenWriter(dir, 0)
	if err != nil {
		return err
	}
	for i := range n {
		if _, err := w.Append(record(i)); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// ingestRun times the real ingester from start until it has stored n events.
func ingestRun(dsn, spoolDir string, n, batch int) (float64, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	in := ingest.New(ingest.Config{Store: st, SpoolDir: spoolDir, BatchSize: batch, KeepSegments: -1,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- in.Run(ctx) }()
	for in.Stats().Inserted < uint64(n) {
		select {
		case err := <-done:
			return 0, fmt.Errorf("the ingester stopped: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	el := time.Since(start)
	cancel()
	<-done
	if s := in.Stats(); s.Inserted != uint64(n) || s.Duplicates != 0 {
		return 0, fmt.Errorf("the ingester stored %d events (%d duplicates), want %d", s.Inserted, s.Duplicates, n)
	}
	s := in.Stats()
	fmt.Printf("  ingester: %s wall, %s inside Store.Ingest, %d transactions, %d new bounty\n", el.Round(time.Millisecond), s.StoreTime.Round(time.Millisecond), s.Batches, s.Bounty)
	return float64(n) / el.Seconds(), nil
}

// row is one logs row with every value ready to bind.
type row struct {
	id, decky, service, typ, ip, fields, msg, raw string
	ts                                            int64
	port                                          int
}

// rows prepares the rows as the store writes them: a raw line that is the event's
// canonical line is stored as "" (the store regenerates it on read), so the bare
// loop writes exactly the bytes the ingester writes.
func rows(n int) []row {
	out := make([]row, n)
	for i := range out {
		r := record(i)
		f, _ := json.Marshal(r.Fields)
		raw := r.RawLine
		if line, err := event.Format(r.Event); err == nil && string(line) == raw {
			raw = ""
		}
		out[i] = row{r.ID, r.Decky, r.Service, r.Type, r.AttackerIP, string(f), r.Msg, raw, r.Time.UnixMicro(), r.AttackerPort}
	}
	return out
}

const insertHead = "INSERT INTO logs (event_id, timestamp, decky, service, event_type, attacker_ip, attacker_port, fields, msg, raw_line) VALUES "

func insertSQL(k int) string {
	return insertHead + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?),", k), ",")
}

// bareLoop inserts rs in transactions of batch rows, chunk rows per statement,
// into an empty logs table (so the rows get ids 1, 2, …); when tokens is set, each
// transaction then runs it with its first and last id.
func bareLoop(db *sql.DB, rs []row, batch, chunk int, tokens string) (float64, error) {
	ctx := context.Background()
	full, err := db.PrepareContext(ctx, insertSQL(chunk))
	if err != nil {
		return 0, err
	}
	defer full.Close()
	args := make([]any, 0, 10*chunk)
	start := time.Now()
	for lo := 0; lo < len(rs); lo += batch {
		hi := min(lo+batch, len(rs))
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for c := lo; c < hi; c += chunk {
			ce := min(c+chunk, hi)
			args = args[:0]
			for _, r := range rs[c:ce] {
				args = append(args, r.id, r.ts, r.decky, r.service, r.typ, r.ip, r.port, r.fields, r.msg, r.raw)
			}
			if ce-c == chunk {
				_, err = tx.StmtContext(ctx, full).ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insertSQL(ce-c), args...)
			}
			if err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if tokens != "" {
			if _, err := tx.ExecContext(ctx, tokens, lo+1, hi); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(len(rs)) / time.Since(start).Seconds(), nil
}

// sqliteWriterPragmas are the store's settings for its writer connection (see
// internal/store/open.go): WAL, synchronous=NORMAL, immediate transactions, a 32 MiB
// page cache, temp tables in memory, automatic checkpoints every 16384 pages (the
// store's backstop; it checkpoints in the background besides) and the WAL file cut
// back to 64 MiB after each reset. The bare loop runs with exactly these.
const sqliteWriterPragmas = "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate" +
	"&_pragma=temp_store(memory)&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(16384)&_pragma=journal_size_limit(67108864)"

// bareSQLite creates the store's schema in a new file, then times the bare loop
// with the store's writer settings, with the identifier tokens, or without them and
// without the timestamp index when noIndexes.
func bareSQLite(path string, rs []row, batch, chunk int, noIndexes bool) (float64, error) {
	st, err := store.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		return 0, err
	}
	st.Close()
	db, err := sql.Open("sqlite", path+sqliteWriterPragmas)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if noIndexes {
		if _, err := db.Exec("DROP INDEX logs_timestamp"); err != nil {
			return 0, err
		}
		return bareLoop(db, rs, batch, chunk, "")
	}
	// The store merges its token table's segments in the background (see merge.go
	// in internal/store); here FTS5 merges them within the writes, its default, so
	// that the bare loop does that work too.
	if _, err := db.Exec("INSERT INTO logs_dims(logs_dims, rank) VALUES('automerge', 4)"); err != nil {
		return 0, err
	}
	return bareLoop(db, rs, batch, chunk, store.SQLiteTokensStatement)
}

// bareSQLiteDirect is bareSQLite's loop (with the identifier tokens) through
// SQLite's own API, as the store's ingest connection writes (zombiezen.com/go/sqlite:
// see internal/store/sqlitewriter.go), with the same settings.
func bareSQLiteDirect(path string, rs []row, batch, chunk int) (float64, error) {
	st, err := store.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		return 0, err
	}
	st.Close()
	c, err := zs.OpenConn(path, zs.OpenReadWrite)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetBusyTimeout(5 * time.Second)
	for _, q := range []string{"PRAGMA synchronous=NORMAL", "PRAGMA temp_store=memory", "PRAGMA cache_size=-32768",
		"PRAGMA wal_autocheckpoint=16384", "PRAGMA journal_size_limit=67108864",
		"INSERT INTO logs_dims(logs_dims, rank) VALUES('automerge', 4)"} { // as bareSQLite
		if err := exec(c, q); err != nil {
			return 0, err
		}
	}
	full, err := c.Prepare(insertSQL(chunk))
	if err != nil {
		return 0, err
	}
	tokens, err := c.Prepare(store.SQLiteTokensStatement)
	if err != nil {
		return 0, err
	}
	step := func(st *zs.Stmt) error {
		_, err := st.Step()
		if rerr := st.Reset(); err == nil {
			err = rerr
		}
		return err
	}
	start := time.Now()
	for lo := 0; lo < len(rs); lo += batch {
		hi := min(lo+batch, len(rs))
		if err := exec(c, "BEGIN IMMEDIATE"); err != nil {
			return 0, err
		}
		for ck := lo; ck < hi; ck += chunk {
			ce := min(ck+chunk, hi)
			st := full
			if ce-ck != chunk {
				if st, _, err = c.PrepareTransient(insertSQL(ce - ck)); err != nil {
					return 0, err
				}
			}
			p := 1
			for _, r := range rs[ck:ce] {
				st.BindText(p, r.id)
				st.BindInt64(p+1, r.ts)
				st.BindText(p+2, r.decky)
				st.BindText(p+3, r.service)
				st.BindText(p+4, r.typ)
				st.BindText(p+5, r.ip)
				st.BindInt64(p+6, int64(r.port))
				st.BindText(p+7, r.fields)
				st.BindText(p+8, r.msg)
				st.BindText(p+9, r.raw)
				p += 10
			}
			err := step(st)
			if st != full {
				st.Finalize()
			}
			if err != nil {
				return 0, err
			}
		}
		tokens.BindInt64(1, int64(lo+1))
		tokens.BindInt64(2, int64(hi))
		if err := step(tokens); err != nil {
			return 0, err
		}
		if err := exec(c, "COMMIT"); err != nil {
			return 0, err
		}
	}
	return float64(len(rs)) / time.Since(start).Seconds(), nil
}

// exec runs one statement that returns no rows on c.
func exec(c *zs.Conn, query string) error {
	st, _, err := c.PrepareTransient(query)
	if err != nil {
		return err
	}
	defer st.Finalize()
	_, err = st.Step()
	return err
}

func bareMySQL(dsn string, rs []row, batch, chunk int) (float64, error) {
	if err := resetMySQL(dsn); err != nil {
		return 0, err
	}
	st, err := store.Open(context.Background(), "mysql://"+dsn)
	if err != nil {
		return 0, err
	}
	st.Close()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return bareLoop(db, rs, batch, chunk, "")
}

// lockMySQL takes the lock the store tests take on the shared test database, so the
// benchmark does not drop tables under a running test (and the other way round).
func lockMySQL(dsn string) (func(), error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to MariaDB: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(context.Background(), "SELECT GET_LOCK('decnet_test_database', 600)").Scan(&got); err != nil || got.Int64 != 1 {
		db.Close()
		return nil, fmt.Errorf("take the test database lock: %v (got %v)", err, got)
	}
	return func() { conn.Close(); db.Close() }, nil
}

// resetMySQL drops every table of the (test) database.
func resetMySQL(dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	rs, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		return err
	}
	var names []string
	for rs.Next() {
		var s string
		if rs.Scan(&s) == nil {
			names = append(names, s)
		}
	}
	rs.Close()
	for _, t := range names {
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + strings.ReplaceAll(t, "`", "``") + "`"); err != nil {
			return err
		}
	}
	return nil
}
