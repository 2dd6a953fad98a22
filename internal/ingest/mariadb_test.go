package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"decnet/internal/store"
	"decnet/internal/testenv"
)

// privateMariaDB is a MariaDB server of the test's own — its own data directory,
// socket and loopback port — so the test can stop, kill and restart it without
// touching the shared test server other packages use.
type privateMariaDB struct {
	t       *testing.T
	bin     string // mariadbd
	dir     string
	port    int
	dsn     string // mysql://… for the dnt user and database
	cmd     *exec.Cmd
	exited  chan struct{}
	starts  int
	logFile *os.File
}

// findTool returns the first of names found on PATH or as an absolute path.
func findTool(names ...string) string {
	for _, n := range names {
		if filepath.IsAbs(n) {
			if st, err := os.Stat(n); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPrivateMariaDB initialises a data directory, starts mariadbd on it and
// creates the database "dnt" and its user. The server is killed and its directory
// removed when the test ends.
func startPrivateMariaDB(t *testing.T) *privateMariaDB {
	t.Helper()
	testenv.RequireRoot(t)
	server := findTool("mariadbd", "mysqld", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	install := findTool("mariadb-install-db", "mysql_install_db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	if server == "" || install == "" {
		testenv.Missing(t, "this test needs a MariaDB server binary (mariadbd) and mariadb-install-db (Debian package mariadb-server)")
	}
	m := &privateMariaDB{t: t, bin: server, dir: t.TempDir(), port: freePort(t)}
	out, err := exec.Command(install, "--no-defaults", "--user=root", "--datadir="+filepath.Join(m.dir, "data"),
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db failed: %v\n%s", err, out)
	}
	m.logFile, err = os.Create(filepath.Join(m.dir, "mariadbd.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if m.running() {
			m.cmd.Process.Kill()
			<-m.exited
		}
		m.logFile.Close()
	})
	m.start()

	root, err := sql.Open("mysql", "root@unix("+m.sock()+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE DATABASE dnt",
		"CREATE USER 'dnt'@'127.0.0.1' IDENTIFIED BY 'dnt-test'",
		"GRANT ALL ON dnt.* TO 'dnt'@'127.0.0.1'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("set up the private MariaDB (%s): %v", q, err)
		}
	}
	m.dsn = fmt.Sprintf("mysql://dnt:dnt-test@tcp(127.0.0.1:%d)/dnt", m.port)
	return m
}

func (m *privateMariaDB) sock() string { return filepath.Join(m.dir, "sock") }

func (m *privateMariaDB) running() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// start runs mariadbd on the data directory and waits until it accepts
// connections; it fails the test if it cannot (call it from the test goroutine).
func (m *privateMariaDB) start() {
	m.t.Helper()
	if err := m.startErr(); err != nil {
		m.t.Fatal(err)
	}
}

func (m *privateMariaDB) startErr() error {
	m.starts++
	fmt.Fprintf(m.logFile, "=== start %d at %s\n", m.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(m.bin, "--no-defaults", "--user=root",
		"--datadir="+filepath.Join(m.dir, "data"), "--socket="+m.sock(), "--pid-file="+filepath.Join(m.dir, "mariadbd.pid"),
		"--port="+strconv.Itoa(m.port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--innodb-buffer-pool-size=64M", "--log-error="+filepath.Join(m.dir, "error.log"))
	cmd.Stdout, cmd.Stderr = m.logFile, m.logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(m.exited)
	db, err := sql.Open("mysql", "root@unix("+m.sock()+")/?timeout=1s")
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := db.Ping(); err == nil {
			return nil
		}
		if !m.running() || time.Now().After(deadline) {
			elog, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
			return fmt.Errorf("the private mariadbd did not come up (running %v)\n%s", m.running(), elog)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig (SIGTERM: clean shutdown; SIGKILL: a crash) and waits for the exit.
func (m *privateMariaDB) stop(sig syscall.Signal) {
	fmt.Fprintf(m.logFile, "=== %s at %s\n", sig, time.Now().Format(time.RFC3339Nano))
	m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(60 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
		m.t.Errorf("mariadbd did not stop within 60 s of %s; killed it", sig)
	}
}

// TestCrashMariaDBRestart: the ingester is kill -9'd at random moments while the
// generator writes K events to the spool, AND its MariaDB server — a private one,
// so the shared test server is never disturbed — is restarted mid-stream, cleanly
// (SIGTERM) and by a crash (SIGKILL), repeatedly. Before that, an ingester started
// while the server is down must wait for it instead of exiting. At the end exactly
// K events are stored, each once.
func TestCrashMariaDBRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash tests run subprocesses for a while; skipped with -short")
	}
	m := startPrivateMariaDB(t)
	c := newCrashRun(t, m.dsn)
	c.pause = 60 * time.Millisecond // ~12 s of generating: the restarts land mid-stream

	// The schema exists (the store creates it); then the server goes away and an
	// ingester is started: it must wait, log why, and not exit.
	st, err := store.Open(context.Background(), m.dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	m.stop(syscall.SIGTERM)
	early := c.start(100)
	exited := make(chan error, 1)
	go func() { exited <- early.Wait() }()
	select {
	case err := <-exited:
		log, _ := os.ReadFile(filepath.Join(c.state, "ingest-100.log"))
		t.Fatalf("decnet ingest exited (%v) while its database was down instead of waiting\n%s", err, log)
	case <-time.After(2 * time.Second):
	}
	if !c.logsMention("the database is unreachable; retrying") {
		log, _ := os.ReadFile(filepath.Join(c.state, "ingest-100.log"))
		t.Fatalf("the ingester started while the database was down did not say it is waiting:\n%s", log)
	}
	m.start()
	early.Process.Signal(syscall.SIGKILL)
	<-exited

	var terms, kills atomic.Int32
	// The server takes seconds to come back, so runs live long enough to be
	// connected when it goes away; and the disturbance goes on until one did.
	c.life = 3 * time.Second
	c.more = func() bool {
		return terms.Load() < 2 || kills.Load() < 2 || !c.logsMention("database operation failed; retrying")
	}
	c.disturb = func(ctx context.Context) {
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(500+rand.IntN(1000)) * time.Millisecond):
			}
			sig := syscall.SIGTERM
			if i%2 == 1 {
				sig = syscall.SIGKILL
			}
			m.stop(sig)
			time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond) // down for a while
			if err := m.startErr(); err != nil {                             // always back up, even when ctx ended
				t.Error(err)
				return
			}
			if sig == syscall.SIGTERM {
				terms.Add(1)
			} else {
				kills.Add(1)
			}
		}
	}
	c.run()
	if !c.logsMention("database operation failed; retrying") {
		t.Fatal("no running ingester had to retry although its database was restarted under it")
	}
	t.Logf("MariaDB restarted %d times cleanly (SIGTERM) and %d times after SIGKILL while ingesters were kill -9'd %d times; "+
		"%d ingester runs retried a database operation, %d waited for the database at start",
		terms.Load(), kills.Load(), c.kills, c.runsMentioning("database operation failed; retrying"), c.runsMentioning("the database is unreachable"))
}
