package store

// Overview counters (migration 6). Stats over everything was a GROUP BY over every
// logs row and a JSON extraction from every credential: 2.5 s at a million events,
// ten times that at ten million, for the first page a user opens (and the API
// refreshes it in the background at a tenth of a core: at ten million events the
// overview would be minutes old).
//
// FoldCounters adds the counts of the rows stored since its last call to the
// counters table and moves its two cursors (the last logs and bounty ids it
// counted) in the same transaction. Stats over everything is then those counters
// plus the same counts over the rows after the cursors, read in one snapshot: exact
// whenever it is read, whether or not anything folded recently, and as cheap as the
// rows after the cursors are few. Ingest does not count (it stays as fast as it
// was); the API folds before it computes the overview.
//
// A counters row is (dim, vkey, v1, v2, n): n rows have value v1 (and, for a
// credential, password v2) in dimension dim. vkey is the first 16 bytes of the
// SHA-256 of the value, so that MySQL can key values of any length (a hostile
// username may be a megabyte).

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Counter dimensions.
const (
	dimEvents     = "events"      // v1 ""
	dimService    = "service"     // logs.service
	dimDecky      = "decky"       // logs.decky
	dimEventType  = "event_type"  // logs.event_type
	dimAttackerIP = "attacker_ip" // logs.attacker_ip; "" is not counted
	dimBounty     = "bounty"      // bounty.bounty_type
	dimUsername   = "username"    // a credential's username; "" is not counted
	dimCredential = "credential"  // a credential's username (v1) and password (v2)
)

// The worker cursors (see Store.Cursor) holding the last logs and bounty ids the
// overview counters hold.
const (
	CountersLogsCursor   = "counters.logs_id"
	CountersBountyCursor = "counters.bounty_id"
)

// mysqlFoldSettle is how old a MySQL id must be before FoldCounters counts it. On
// MySQL a transaction that took id 100 may commit after one that took 101: had the
// cursor moved past 101, row 100 would never be counted. A batch transaction lasts
// seconds (InnoDB gives up lock waits after 50); the rows of the last minute are
// counted at read time instead. SQLite has one writer: its ids are committed in
// order, and it folds up to the newest.
const mysqlFoldSettle = time.Minute

type counterKey struct{ dim, v1, v2 string }

// counts are counter increments.
type counts map[counterKey]int64

func (c counts) add(dim, v1, v2 string, n int64) {
	c[counterKey{dim, v1, v2}] += n
}

func counterVKey(k counterKey) []byte {
	h := sha256.New()
	h.Write([]byte(strconv.Itoa(len(k.v1))))
	h.Write([]byte{':'})
	h.Write([]byte(k.v1))
	h.Write([]byte(k.v2))
	return h.Sum(nil)[:16]
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// countRows counts the logs rows with ids in (logsFrom, logsTo] and the bounty rows
// with ids in (bountyFrom, bountyTo] (a bound of -1: no upper bound) into c, as the
// Since queries of Stats count them. One pass over each range, in id order.
func (s *sqlStore) countRows(ctx context.Context, q querier, c counts, logsFrom, logsTo, bountyFrom, bountyTo int64) error {
	cond := func(from, to int64) (string, []any) {
		if to < 0 {
			return " WHERE id > ?", []any{from}
		}
		return " WHERE id > ? AND id <= ?", []any{from, to}
	}
	where, args := cond(logsFrom, logsTo)
	rows, err := q.QueryContext(ctx, "SELECT service, decky, event_type, attacker_ip FROM logs"+where, args...)
	if err != nil {
		return s.wrap("counting new events for the overview", err)
	}
	var svc, decky, typ, ip []byte
	for rows.Next() {
		if err := rows.Scan(&svc, &decky, &typ, &ip); err != nil {
			rows.Close()
			return s.wrap("counting new events for the overview", err)
		}
		c.add(dimEvents, "", "", 1)
		c.add(dimService, string(svc), "", 1)
		c.add(dimDecky, string(decky), "", 1)
		c.add(dimEventType, string(typ), "", 1)
		if len(ip) > 0 {
			c.add(dimAttackerIP, string(ip), "", 1)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap("counting new events for the overview", err)
	}
	user, pass := s.credentialExprs()
	where, args = cond(bountyFrom, bountyTo)
	rows, err = q.QueryContext(ctx, "SELECT bounty_type, CASE WHEN bounty_type = 'credential' THEN "+user+" ELSE '' END, "+
		"CASE WHEN bounty_type = 'credential' THEN "+pass+" ELSE '' END FROM bounty"+where, args...)
	if err != nil {
		return s.wrap("counting new bounty for the overview", err)
	}
	defer rows.Close()
	var u, p []byte
	for rows.Next() {
		if err := rows.Scan(&typ, &u, &p); err != nil {
			return s.wrap("counting new bounty for the overview", err)
		}
		c.add(dimBounty, string(typ), "", 1)
		if string(typ) == "credential" {
			if len(u) > 0 {
				c.add(dimUsername, string(u), "", 1)
			}
			c.add(dimCredential, string(u), string(p), 1)
		}
	}
	return s.wrap("counting new bounty for the overview", rows.Err())
}

// credentialExprs are the SQL expressions for a credential bounty row's username
// and password, compared byte for byte on both engines: on MySQL JSON_UNQUOTE gives
// utf8mb4_bin text, which MariaDB compares PAD SPACE ("root" and "root " would be
// one group, and "root\x00x" would sort before "root").
func (s *sqlStore) credentialExprs() (user, pass string) {
	if s.dialect == dialectMySQL {
		return "CAST(COALESCE(JSON_UNQUOTE(JSON_EXTRACT(payload, '$.username')), '') AS BINARY)",
			"CAST(COALESCE(JSON_UNQUOTE(JSON_EXTRACT(payload, '$.password')), '') AS BINARY)"
	}
	return "COALESCE(json_extract(payload, '$.username'), '')", "COALESCE(json_extract(payload, '$.password'), '')"
}

// foldMark is the newest logs and bounty ids seen at a time (MySQL folds up to a
// mark older than mysqlFoldSettle).
type foldMark struct {
	at           time.Time
	logs, bounty int64
}

// foldRows is how many logs (and bounty) ids one fold transaction counts at most,
// so that a fold of a long backlog (the first, after an upgrade: about 5 s at a
// million events) never holds SQLite's write lock for more than a fraction of a
// second at a time. (A variable so that a test can make folds take many steps.)
var foldRows int64 = 50000

// FoldCounters adds the rows stored since the last fold to the overview counters.
// See the top of this file.
func (s *sqlStore) FoldCounters(ctx context.Context) error {
	s.foldMu.Lock() // one fold at a time in this process; the database serialises processes
	defer s.foldMu.Unlock()
	if s.dialect == dialectMySQL && !s.foldCursorsMade {
		// The cursor rows must exist before a fold locks them (FOR UPDATE on a
		// missing row would let two first folds both count everything).
		for _, name := range []string{CountersLogsCursor, CountersBountyCursor} {
			if _, err := s.w.ExecContext(ctx, "INSERT IGNORE INTO state (name, value) VALUES (?, '0')", name); err != nil {
				return s.wrap("creating the overview counters' cursors", err)
			}
		}
		s.foldCursorsMade = true
	}
	var target foldMark
	if err := s.w.QueryRowContext(ctx, "SELECT (SELECT COALESCE(MAX(id), 0) FROM logs), (SELECT COALESCE(MAX(id), 0) FROM bounty)").Scan(&target.logs, &target.bounty); err != nil {
		return s.wrap("reading the newest ids", err)
	}
	if s.dialect == dialectMySQL {
		target.at = time.Now()
		var ok bool
		if target, ok = s.settledMark(target); !ok {
			return nil
		}
	}
	for {
		more, err := s.foldStep(ctx, target)
		if err != nil || !more {
			return err
		}
	}
}

// foldStep counts up to foldRows ids of each table after the cursors and no
// further than target, in one transaction; more reports that target is not reached.
func (s *sqlStore) foldStep(ctx context.Context, target foldMark) (more bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, s.wrap("starting an overview counters fold", err)
	}
	defer tx.Rollback()
	lock := ""
	if s.dialect == dialectMySQL {
		lock = " FOR UPDATE"
	}
	var from, to [2]int64
	for i, name := range []string{CountersLogsCursor, CountersBountyCursor} {
		if from[i], err = s.readCursorID(ctx, tx, name, lock); err != nil {
			return false, err
		}
	}
	to[0] = max(from[0], min(target.logs, from[0]+foldRows))
	to[1] = max(from[1], min(target.bounty, from[1]+foldRows))
	if to == from {
		return false, nil
	}
	c := counts{}
	if err := s.countRows(ctx, tx, c, from[0], to[0], from[1], to[1]); err != nil {
		return false, err
	}
	if err := s.saveCounts(ctx, tx, c); err != nil {
		return false, err
	}
	for i, name := range []string{CountersLogsCursor, CountersBountyCursor} {
		if err := s.setCursor(ctx, tx, name, strconv.FormatInt(to[i], 10)); err != nil {
			return false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return false, s.wrap("committing an overview counters fold", err)
	}
	return to[0] < target.logs || to[1] < target.bounty, nil
}

// settledMark records newest and returns the newest mark at least
// mysqlFoldSettle old, forgetting older ones.
func (s *sqlStore) settledMark(newest foldMark) (foldMark, bool) {
	s.foldMarks = append(s.foldMarks, newest)
	i := -1
	for j, m := range s.foldMarks {
		if newest.at.Sub(m.at) >= s.foldSettle {
			i = j
		}
	}
	if i < 0 {
		return foldMark{}, false
	}
	m := s.foldMarks[i]
	s.foldMarks = slices.Delete(s.foldMarks, 0, i+1)
	return m, true
}

func (s *sqlStore) readCursorID(ctx context.Context, q querier, name, lock string) (int64, error) {
	v, err := s.readCursor(ctx, q, name, lock)
	if err != nil || v == "" {
		return 0, err
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("store: the overview counters' cursor %s is %q, not an id; delete it and the counters rows to count again", name, v)
	}
	return id, nil
}

// saveCounts adds c to the counters table within tx, in key order (two MySQL
// writers adding to the same rows lock them in the same order: no deadlock).
func (s *sqlStore) saveCounts(ctx context.Context, tx *sql.Tx, c counts) error {
	type row struct {
		k    counterKey
		vkey []byte
		n    int64
	}
	rows := make([]row, 0, len(c))
	for k, n := range c {
		rows = append(rows, row{k, counterVKey(k), n})
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.k.dim, b.k.dim), strings.Compare(string(a.vkey), string(b.vkey)))
	})
	args := make([]any, 0, 5*min(len(rows), s.chunkRows))
	return s.chunks(len(rows), func(i int) int { return len(rows[i].k.v1) + len(rows[i].k.v2) + 64 }, func(lo, hi int) error {
		args = args[:0]
		for _, r := range rows[lo:hi] {
			args = append(args, r.k.dim, r.vkey, []byte(r.k.v1), []byte(r.k.v2), r.n)
		}
		q := "INSERT INTO counters (dim, vkey, v1, v2, n) VALUES " + placeholders(hi-lo, 5)
		if s.dialect == dialectMySQL {
			q += " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
		} else {
			q += " ON CONFLICT(dim, vkey) DO UPDATE SET n = n + excluded.n"
		}
		_, err := tx.ExecContext(ctx, q, args...)
		return s.wrap("adding to the overview counters", err)
	})
}

// maxTailKeys is how many values of one dimension the rows after the cursors may
// hold before Stats reads all of the dimension's counters rather than looking each
// value up.
const maxTailKeys = 256

// statsFromCounters is Stats over everything: the counters plus the rows after
// their cursors, in one read transaction.
func (s *sqlStore) statsFromCounters(ctx context.Context, top int) (*Stats, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap("starting the overview read", err)
	}
	defer tx.Rollback()
	var from [2]int64
	for i, name := range []string{CountersLogsCursor, CountersBountyCursor} {
		if from[i], err = s.readCursorID(ctx, tx, name, ""); err != nil {
			return nil, err
		}
	}
	tail := counts{}
	if err := s.countRows(ctx, tx, tail, from[0], -1, from[1], -1); err != nil {
		return nil, err
	}
	byDim := map[string]map[counterKey]int64{}
	for k, n := range tail {
		if byDim[k.dim] == nil {
			byDim[k.dim] = map[counterKey]int64{}
		}
		byDim[k.dim][k] = n
	}
	out := &Stats{}
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM attackers").Scan(&out.Attackers); err != nil {
		return nil, s.wrap("counting attackers", err)
	}
	totals, err := s.topCounts(ctx, tx, dimEvents, byDim[dimEvents], 1)
	if err != nil {
		return nil, err
	}
	if len(totals) > 0 {
		out.Events = totals[0].n
	}
	types, err := s.topCounts(ctx, tx, dimBounty, byDim[dimBounty], 1000)
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		out.setBountyTotal(t.k.v1, t.n)
	}
	for _, g := range []struct {
		dst *[]Count
		dim string
	}{
		{&out.ByService, dimService},
		{&out.ByDecky, dimDecky},
		{&out.ByEventType, dimEventType},
		{&out.TopSources, dimAttackerIP},
		{&out.TopUsernames, dimUsername},
	} {
		list, err := s.topCounts(ctx, tx, g.dim, byDim[g.dim], top)
		if err != nil {
			return nil, err
		}
		*g.dst = make([]Count, len(list))
		for i, e := range list {
			(*g.dst)[i] = Count{Key: e.k.v1, Count: e.n}
		}
	}
	creds, err := s.topCounts(ctx, tx, dimCredential, byDim[dimCredential], top)
	if err != nil {
		return nil, err
	}
	for _, e := range creds {
		out.TopCredentials = append(out.TopCredentials, CredentialCount{Username: e.k.v1, Password: e.k.v2, Count: e.n})
	}
	return out, nil
}

type counted struct {
	k counterKey
	n int64
}

// topCounts returns the top entries of dim, counters plus tail (the counts of the
// rows after the cursors), by count, then by value in byte order.
//
// A value absent from tail that is not in the counters' own top is not in the
// merged top either (each of the counters' top ranks above it and only grows), so
// the counters' top and tail's values, looked up, are all the candidates.
func (s *sqlStore) topCounts(ctx context.Context, q querier, dim string, tail map[counterKey]int64, top int) ([]counted, error) {
	merged := map[counterKey]int64{}
	read := func(query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return s.wrap("reading the overview counters", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v1, v2 []byte
			var n int64
			if err := rows.Scan(&v1, &v2, &n); err != nil {
				return s.wrap("reading the overview counters", err)
			}
			merged[counterKey{dim, string(v1), string(v2)}] = n
		}
		return s.wrap("reading the overview counters", rows.Err())
	}
	if len(tail) > maxTailKeys {
		if err := read("SELECT v1, v2, n FROM counters WHERE dim = ?", dim); err != nil {
			return nil, err
		}
	} else {
		if err := read("SELECT v1, v2, n FROM counters WHERE dim = ? ORDER BY n DESC, v1, v2 LIMIT ?", dim, top); err != nil {
			return nil, err
		}
		for k := range tail {
			if _, ok := merged[k]; !ok {
				if err := read("SELECT v1, v2, n FROM counters WHERE dim = ? AND vkey = ?", dim, counterVKey(k)); err != nil {
					return nil, err
				}
			}
		}
	}
	for k, n := range tail {
		merged[k] += n
	}
	out := make([]counted, 0, len(merged))
	for k, n := range merged {
		if n > 0 {
			out = append(out, counted{k, n})
		}
	}
	slices.SortFunc(out, func(a, b counted) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.k.v1, b.k.v1), strings.Compare(a.k.v2, b.k.v2))
	})
	return out[:min(len(out), top)], nil
}
