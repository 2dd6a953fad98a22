// Package storetest gives tests a database to run the store against: a fresh SQLite
// file, or the test MariaDB/MySQL named by DECNET_TEST_MYSQL_DSN emptied for the test.
package storetest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// EnvMySQL names the test MySQL/MariaDB database, as a go-sql-driver DSN with or
// without the mysql:// scheme, e.g. decnet:decnet-test@tcp(127.0.0.1:3306)/decnet_test.
const EnvMySQL = "DECNET_TEST_MYSQL_DSN"

// LockName is the server-wide named lock (GET_LOCK) that a test process holds while
// it uses the test MySQL database, so test binaries running in parallel (go test
// ./... runs packages concurrently) take turns instead of dropping each other's tables.
const LockName = "decnet_test_database"

// SQLiteDSN returns the DSN of a new SQLite database file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "decnet.db")
}

var (
	lockMu   sync.Mutex
	lockConn *sql.Conn // held for the life of the test process; the server frees the lock when it exits
)

// MySQLDSN returns a mysql:// DSN for the test database with every table in it
// dropped. The first call in a process waits (up to 10 minutes) for LockName and keeps
// it until the process exits. Without DECNET_TEST_MYSQL_DSN the test is skipped, or
// fails when DECNET_FULL_SUITE=1.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(EnvMySQL)
	if raw == "" {
		if os.Getenv("DECNET_FULL_SUITE") == "1" {
			t.Fatalf("%s is not set; the full suite needs a MySQL/MariaDB test database", EnvMySQL)
		}
		t.Skipf("%s is not set; skipping the MySQL/MariaDB store tests", EnvMySQL)
	}
	dsn := strings.TrimPrefix(raw, "mysql://")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s is not a valid MySQL DSN: %v", EnvMySQL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 11*time.Minute)
	defer cancel()

	lockMu.Lock()
	defer lockMu.Unlock()
	if lockConn == nil {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatalf("open the test MySQL database: %v", err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("connect to the test MySQL database %s: %v", cfg.Addr, err)
		}
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 600)", LockName).Scan(&got); err != nil || got.Int64 != 1 {
			t.Fatalf("take the test database lock %s: %v (got %v)", LockName, err, got)
		}
		lockConn = conn
	}
	var tables []string
	rows, err := lockConn.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		t.Fatalf("list the tables of the test MySQL database: %v", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		// Table names come from information_schema of our own test database; quote them anyway.
		if _, err := lockConn.ExecContext(ctx, "DROP TABLE IF EXISTS `"+strings.ReplaceAll(name, "`", "``")+"`"); err != nil {
			t.Fatalf("drop table %s of the test MySQL database: %v", name, err)
		}
	}
	return "mysql://" + dsn
}
