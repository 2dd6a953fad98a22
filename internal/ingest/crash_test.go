package ingest

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"decnet/internal/event"
	"decnet/internal/spool"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
	"decnet/internal/testenv"
)

// crashRun drives `decnet ingest` as a subprocess that is kill -9'd at random moments
// while a generator appends K known records to a rotating spool; then one last run
// drains the spool. disturb, when set, runs concurrently (locks, killed connections,
// database restarts); more, when set, keeps the generator (past K, a hundred records
// at a time, so the disturbance always meets a stream to disturb) and the kill loop
// going while it is true. K is then the number generated.
type crashRun struct {
	t       *testing.T
	bin     string
	state   string
	spool   string
	dsn     string
	k       int
	kills   int
	pause   time.Duration // the generator's pause after every 100 records (random up to 8 ms when 0)
	life    time.Duration // an ingester run lasts from life/5 to life before its kill (750 ms when 0)
	disturb func(ctx context.Context)
	more    func() bool
}

func newCrashRun(t *testing.T, dsn string) *crashRun {
	if testing.Short() {
		t.Skip("crash tests run subprocesses for a while; skipped with -short")
	}
	state := t.TempDir()
	if dsn == "" {
		dsn = store.DefaultDSN(state) + "?busy_timeout=100"
	}
	return &crashRun{t: t, bin: testenv.BuildDecnet(t), state: state, spool: filepath.Join(state, "spool"), dsn: dsn, k: 20000, kills: 8}
}

// record i of the generator; every 50th has no event_id (a legacy line).
func crashRecord(i int) *spool.Record {
	e := event.Event{ID: fmt.Sprintf("crash-%06d", i), Time: time.Unix(1700000000, int64(i)*1000).UTC(), Decky: "decky-03",
		Service: "ssh", Type: "auth", AttackerIP: fmt.Sprintf("10.1.%d.%d", i/200%200, i%200+1), AttackerPort: 1024 + i%60000,
		Fields: map[string]string{"username": "root", "password": fmt.Sprintf("pw-%d", i%13), "ja3": fmt.Sprintf("%032x", i%5)}}
	line, _ := event.Format(e)
	r := &spool.Record{Event: e, RawLine: string(line)}
	if i%50 == 0 {
		r.ID = ""
	}
	return r
}

func (c *crashRun) generate(ctx context.Context, done chan<- error) {
	w, err := spool.OpenWriter(c.spool, 64<<10) // ~150 records per segment: constant rotation
	if err != nil {
		done <- err
		return
	}
	defer w.Close()
	i := 0
	for ; i < c.k || i%100 != 0 || (c.more != nil && ctx.Err() == nil && c.more()); i++ {
		if _, err := w.Append(crashRecord(i)); err != nil {
			done <- err
			return
		}
		if i%100 == 99 {
			if err := w.Sync(); err != nil {
				done <- err
				return
			}
			if c.pause > 0 {
				time.Sleep(c.pause/2 + rand.N(c.pause))
			} else {
				time.Sleep(time.Duration(rand.IntN(8)) * time.Millisecond)
			}
		}
	}
	c.k = i // read by run only after it receives from done
	done <- w.Sync()
}

func (c *crashRun) start(n int) *exec.Cmd {
	logf, err := os.Create(filepath.Join(c.state, fmt.Sprintf("ingest-%02d.log", n)))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "ingest", "--state-dir", c.state, "--db", c.dsn, "--batch-size", "300", "--flush-interval", "20ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	return cmd
}

func (c *crashRun) run() {
	t := c.t
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gen := make(chan error, 1)
	go c.generate(ctx, gen)
	disturbed := make(chan struct{})
	if c.disturb != nil {
		go func() { defer close(disturbed); c.disturb(ctx) }()
	} else {
		close(disturbed)
	}
	genDone := false
	n := 0
	for ; n < c.kills || !genDone || (c.more != nil && c.more()); n++ {
		cmd := c.start(n)
		life := cmp.Or(c.life, 750*time.Millisecond)
		time.Sleep(life/5 + rand.N(life*4/5))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		select {
		case err := <-gen:
			if err != nil {
				t.Fatalf("generator: %v", err)
			}
			genDone = true
		default:
		}
		if n > 400 {
			t.Fatal("the generator never finished (or, with more set, the disturbance never took effect)")
		}
	}
	c.kills = n
	cancel() // stop disturbing; the last run must converge
	<-disturbed
	// Last run: drain, then stop it cleanly.
	cmd := c.start(999)
	st, err := store.Open(context.Background(), c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		n, err := st.CountLogs(context.Background(), store.LogQuery{})
		if err == nil && n >= int64(c.k) {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(c.state, "ingest-999.log"))
			t.Fatalf("after the last restart only %d of %d events are stored (err %v)\n%s", n, c.k, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a late duplicate would show now
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the last ingester did not stop cleanly: %v", err)
	}
	c.verify(st)
}

// verify: exactly K rows, each expected event_id once.
func (c *crashRun) verify(st store.Store) {
	t := c.t
	want := map[string]bool{}
	for i := 0; i < c.k; i++ {
		r := crashRecord(i)
		id := r.ID
		if id == "" {
			id = DerivedID(r)
		}
		want[id] = true
	}
	seen := map[string]int{}
	var after int64
	for {
		rows, err := st.Logs(context.Background(), store.LogQuery{AfterID: after, Ascending: true, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			seen[r.Event.ID]++
			after = r.ID
		}
	}
	total := 0
	for id, n := range seen {
		total += n
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
		if !want[id] {
			t.Errorf("unexpected event %s stored", id)
		}
	}
	if total != c.k || len(seen) != c.k {
		t.Fatalf("stored %d rows with %d distinct event ids, want exactly %d", total, len(seen), c.k)
	}
	n, err := st.CountLogs(context.Background(), store.LogQuery{})
	if err != nil || n != int64(c.k) {
		t.Fatalf("CountLogs = %d, %v", n, err)
	}
	// Bounty: 13 passwords and 5 ja3 per attacker IP, each stored once.
	bs, err := st.Bounty(context.Background(), store.BountyQuery{Type: "fingerprint", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, b := range bs {
		if keys[b.DedupKey] {
			t.Errorf("bounty %s stored twice", b.DedupKey)
		}
		keys[b.DedupKey] = true
	}
	cur, _ := st.Cursor(context.Background(), CursorName)
	t.Logf("%d events stored exactly once across %d kill -9 restarts; final cursor %s", c.k, c.kills, cur)
}

// logsMention reports whether any ingester run logged s.
func (c *crashRun) logsMention(s string) bool { return c.runsMentioning(s) > 0 }

// runsMentioning counts the ingester runs that logged s.
func (c *crashRun) runsMentioning(s string) int {
	logs, _ := filepath.Glob(filepath.Join(c.state, "ingest-*.log"))
	n := 0
	for _, l := range logs {
		if b, _ := os.ReadFile(l); strings.Contains(string(b), s) {
			n++
		}
	}
	return n
}

func TestCrashKill9SQLite(t *testing.T) {
	newCrashRun(t, "").run()
}

// TestCrashKill9SQLiteLocked also holds the database with BEGIN EXCLUSIVE from another
// process's connection for ~2 s at a time, repeatedly, while the ingester is killed.
func TestCrashKill9SQLiteLocked(t *testing.T) {
	c := newCrashRun(t, "")
	c.k = 10000
	path := strings.TrimSuffix(strings.TrimPrefix(c.dsn, "sqlite:"), "?busy_timeout=100")
	// The store creates the schema; open it once first.
	st, err := store.Open(context.Background(), c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	locks := 0
	c.disturb = func(ctx context.Context) {
		db, err := sql.Open("sqlite", path+"?_busy_timeout=10000")
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		for ctx.Err() == nil {
			conn, err := db.Conn(ctx)
			if err != nil {
				return
			}
			if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err == nil {
				locks++
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				conn.ExecContext(context.Background(), "ROLLBACK")
			}
			conn.Close()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	c.run()
	if locks == 0 || !c.logsMention("locked") {
		t.Fatalf("the database was locked %d times and no ingester reported it", locks)
	}
	t.Logf("the database was held exclusively %d times for 2 s", locks)
}

// TestCrashKill9MariaDB runs the crash test against MariaDB and, meanwhile, kills the
// ingester's database connections (KILL CONNECTION) every few hundred milliseconds,
// which is what a MariaDB restart looks like to a client: the connection is gone
// mid-transaction. Restarting the shared server itself would break every other test
// process using it and drop the test-database lock storetest holds, so this test
// kills connections instead (every connection of the decnet user except the one
// holding that lock); TestCrashMariaDBRestart restarts a private server for real.
func TestCrashKill9MariaDB(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	c := newCrashRun(t, dsn)
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	c.disturb = func(ctx context.Context) {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(200+rand.IntN(500)) * time.Millisecond):
			}
			rows, err := db.QueryContext(ctx, `SELECT id FROM information_schema.processlist
				WHERE user = SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND db = DATABASE() AND id <> CONNECTION_ID()
				AND id <> COALESCE(IS_USED_LOCK(?), 0)`, storetest.LockName)
			if err != nil {
				continue
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if rows.Scan(&id) == nil {
					ids = append(ids, id)
				}
			}
			rows.Close()
			for _, id := range ids {
				if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err == nil {
					killed++
				}
			}
		}
	}
	c.run()
	if killed == 0 || !c.logsMention("retrying") {
		t.Fatalf("%d connections killed and no ingester had to retry", killed)
	}
	t.Logf("killed %d ingester database connections mid-stream", killed)
}
