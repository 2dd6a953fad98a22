package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// DataVersion identifies the state of the database's contents. Two DataVersions
// read at different moments are equal only if nothing was stored in between: an
// Ingest or SaveAnalysis of this Store changes it as soon as its commit returns, a
// commit by any other connection or process within VersionPoll. Only equality is
// meaningful.
type DataVersion struct{ local, conn, n uint64 }

// VersionPoll is how stale DataVersion may be about other processes' commits:
// PRAGMA data_version is read at most this often (each read is a statement on one
// shared connection, ~15 µs; read on every API request it was a fifth of the
// server's CPU at 15,000 requests/s).
const VersionPoll = time.Millisecond

// versionReader reads SQLite's PRAGMA data_version, which changes on a connection
// whenever another connection (of any process) has committed since its last read.
// The value is per connection, so one pinned connection answers; when it fails it
// is replaced and the new connection's values get a new epoch (conn), so they never
// equal an old one.
type versionReader struct {
	db *sql.DB

	mu     sync.Mutex
	conn   *sql.Conn
	stmt   *sql.Stmt
	epoch  uint64
	last   DataVersion
	lastAt time.Time
}

func (v *versionReader) read(ctx context.Context) (DataVersion, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if v.conn != nil && now.Sub(v.lastAt) < VersionPoll {
		return v.last, true
	}
	if v.conn == nil {
		c, err := v.db.Conn(ctx)
		if err != nil {
			return DataVersion{}, false
		}
		st, err := c.PrepareContext(ctx, "PRAGMA data_version")
		if err != nil {
			c.Close()
			return DataVersion{}, false
		}
		v.conn, v.stmt = c, st
		v.epoch++
	}
	var n uint64
	if err := v.stmt.QueryRowContext(ctx).Scan(&n); err != nil {
		v.closeLocked()
		return DataVersion{}, false
	}
	v.last, v.lastAt = DataVersion{conn: v.epoch, n: n}, now
	return v.last, true
}

func (v *versionReader) closeLocked() {
	if v.conn != nil {
		v.stmt.Close()
		v.conn.Close()
		v.conn, v.stmt = nil, nil
	}
}

func (v *versionReader) close() error {
	v.mu.Lock()
	v.closeLocked()
	v.mu.Unlock()
	return v.db.Close()
}

// DataVersion reports the current DataVersion. ok is false when it cannot be known:
// always on MySQL/MariaDB (which has no cheap equivalent), and on SQLite when the
// read fails.
func (s *sqlStore) DataVersion(ctx context.Context) (DataVersion, bool) {
	if s.ver == nil {
		return DataVersion{}, false
	}
	local := s.commits.Load() // before the read: a commit in between shows next time
	v, ok := s.ver.read(ctx)
	v.local = local
	return v, ok
}
