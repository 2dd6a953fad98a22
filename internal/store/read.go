package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
)

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// simpleKey reports whether a field key can be written into a JSON path as $."key"
// without any escaping (it still travels as a bound parameter).
func simpleKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// appendEq appends "column = ?" and its value for each column and value of
// colValues (pairs) whose value is set.
func appendEq(conds []string, args []any, colValues ...string) ([]string, []any) {
	for i := 0; i+1 < len(colValues); i += 2 {
		if v := colValues[i+1]; v != "" {
			conds = append(conds, colValues[i]+" = ?")
			args = append(args, v)
		}
	}
	return conds, args
}

// logsFilter is a logs query's FROM and WHERE clauses.
type logsFilter struct {
	// from is " FROM logs", or on SQLite, when the query filters on an identifier,
	// " FROM logs_dims JOIN logs ON logs.id = logs_dims.rowid": the identifiers'
	// tokens select the rows (migration 7), newest or oldest first, and logs gives
	// their columns.
	from string
	// id is the column to order and page by: "id", or "logs_dims.rowid" in the
	// join, which FTS5 walks in order without sorting the matches.
	id    string
	where string // " WHERE …", or "" for every row
	args  []any
	// tokensOnly: every condition is on logs_dims (the tokens and id bounds), so
	// a count needs no logs row.
	tokensOnly bool
}

// tokensMatch is the MATCH expression (an implicit AND of terms) of a tokens
// table (logs_dims, bounty_dims) for the filters given as pairs of a column's token
// letter and a value, those with a value only; "" when none has one. Each term is
// the letter and the hex of the value's bytes, as dimsTokens writes it, quoted as
// an FTS5 string: [a-z0-9] only, nothing of a value reaches the query syntax.
func tokensMatch(letterValues ...string) string {
	var b []byte
	for i := 0; i+1 < len(letterValues); i += 2 {
		if v := letterValues[i+1]; v != "" {
			if b != nil {
				b = append(b, ' ')
			}
			b = append(b, '"')
			b = append(b, letterValues[i]...)
			b = hex.AppendEncode(b, []byte(v))
			b = append(b, '"')
		}
	}
	return string(b)
}

// where renders q's filters as the FROM and WHERE clauses of a logs query with bound
// parameters only: no value from q is ever part of the SQL text.
//
// Matching rules (identical on both engines):
//   - Decky, Service, EventType, AttackerIP and Fields compare byte for byte;
//   - each Text term must occur, byte for byte (case-sensitive), in msg, in a stored
//     raw_line, in the stored fields JSON (where the term is looked up in its
//     JSON-escaped form, so `a"b` finds the value a"b) or in decky, service,
//     event_type, attacker_ip or event_id — together what a raw line holds, since
//     the canonical raw line is not stored (see "raw_line" in migrations.go);
//   - Since is inclusive, Until exclusive.
func (s *sqlStore) where(q LogQuery) (logsFilter, error) {
	f := logsFilter{from: " FROM logs", id: "id"}
	if len(q.Text) > MaxTextTerms {
		return f, invalidf("a query may have at most %d free-text terms, got %d", MaxTextTerms, len(q.Text))
	}
	if len(q.Fields) > MaxFieldTerms {
		return f, invalidf("a query may have at most %d field filters, got %d", MaxFieldTerms, len(q.Fields))
	}
	var conds []string
	var args []any
	if m := tokensMatch("d", q.Decky, "s", q.Service, "t", q.EventType, "a", q.AttackerIP); m != "" && s.dialect == dialectSQLite {
		f.from, f.id = " FROM logs_dims JOIN logs ON logs.id = logs_dims.rowid", "logs_dims.rowid"
		conds = append(conds, "logs_dims MATCH ?")
		args = append(args, m)
	} else {
		conds, args = appendEq(conds, args, "decky", q.Decky, "service", q.Service, "event_type", q.EventType, "attacker_ip", q.AttackerIP)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "timestamp >= ?")
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		conds = append(conds, "timestamp < ?")
		args = append(args, q.Until.UnixMicro())
	}
	if q.AfterID > 0 {
		conds = append(conds, f.id+" > ?")
		args = append(args, q.AfterID)
	}
	if q.BeforeID > 0 {
		conds = append(conds, f.id+" < ?")
		args = append(args, q.BeforeID)
	}
	keys := make([]string, 0, len(q.Fields))
	for k := range q.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ek, ev := encodeString(k), encodeString(q.Fields[k])
		switch {
		case s.dialect == dialectMySQL:
			// The path is $."key" with the key as a JSON string literal (MySQL and
			// MariaDB unescape it), bound as a parameter. JSON_UNQUOTE decodes the
			// stored value; the comparison is binary. (JSON_CONTAINS would be simpler
			// but MariaDB compares escaped forms: "\u001b" ≠ "\u001B".)
			conds = append(conds, "CAST(JSON_UNQUOTE(JSON_EXTRACT(fields, ?)) AS BINARY) = ?")
			args = append(args, "$."+string(appendJSONString(nil, ek)), []byte(ev))
		case simpleKey(ek):
			conds = append(conds, "json_extract(fields, ?) = ?")
			args = append(args, `$."`+ek+`"`, ev)
		default:
			conds = append(conds, "EXISTS (SELECT 1 FROM json_each(logs.fields) AS f WHERE f.key = ? AND f.value = ?)")
			args = append(args, ek, ev)
		}
	}
	for _, t := range q.Text {
		if t == "" {
			continue
		}
		if len(t) > MaxTermLen {
			return f, invalidf("a free-text term is %d bytes, over the %d-byte limit", len(t), MaxTermLen)
		}
		if s.dialect == dialectSQLite {
			conds = append(conds, "(instr(CAST(msg AS BLOB), ?) > 0 OR instr(CAST(raw_line AS BLOB), ?) > 0 OR instr(CAST(fields AS BLOB), ?) > 0"+
				" OR instr(CAST(decky AS BLOB), ?) > 0 OR instr(CAST(service AS BLOB), ?) > 0 OR instr(CAST(event_type AS BLOB), ?) > 0"+
				" OR instr(CAST(attacker_ip AS BLOB), ?) > 0 OR instr(CAST(event_id AS BLOB), ?) > 0)")
		} else {
			conds = append(conds, "(INSTR(msg, ?) > 0 OR INSTR(raw_line, ?) > 0 OR INSTR(CAST(fields AS BINARY), ?) > 0"+
				" OR INSTR(decky, ?) > 0 OR INSTR(service, ?) > 0 OR INSTR(event_type, ?) > 0 OR INSTR(attacker_ip, ?) > 0 OR INSTR(event_id, ?) > 0)")
		}
		bt := []byte(t)
		args = append(args, bt, bt, []byte(jsonEscapeFragment(t)), bt, bt, bt, bt, bt)
	}
	if len(conds) > 0 {
		f.where, f.args = " WHERE "+strings.Join(conds, " AND "), args
	}
	f.tokensOnly = f.id != "id" && len(q.Fields) == 0 && len(q.Text) == 0 && q.Since.IsZero() && q.Until.IsZero()
	return f, nil
}

// Logs returns the events q selects, newest first unless q.Ascending.
func (s *sqlStore) Logs(ctx context.Context, q LogQuery) ([]LogRow, error) {
	sel, args, empty, err := s.logsSelect(ctx, q, logColumns)
	if err != nil || empty {
		return nil, err
	}
	rows, err := s.query(ctx, sel, args...)
	if err != nil {
		return nil, s.wrap("querying events", err)
	}
	return s.scanLogs(rows, min(clampLimit(q.Limit), DefaultLimit))
}

// logsSelect is the SELECT of cols from the rows q selects, in q's order, with its
// arguments; empty reports a query known to select nothing.
func (s *sqlStore) logsSelect(ctx context.Context, q LogQuery, cols string) (sel string, args []any, empty bool, err error) {
	f, err := s.where(q)
	if err != nil {
		return "", nil, false, err
	}
	order := " ORDER BY " + f.id + " DESC"
	if q.Ascending {
		order = " ORDER BY " + f.id + " ASC"
	}
	where, args := f.where, f.args
	cond, condArgs, empty, err := s.timeRange(ctx, q)
	if err != nil || empty {
		return "", nil, empty, err
	}
	if cond != "" {
		if where == "" {
			where = " WHERE " + cond
		} else {
			where += " AND " + cond
		}
		args = append(args, condArgs...)
	}
	args = append(args, clampLimit(q.Limit))
	return "SELECT " + cols + f.from + where + order + " LIMIT ?", args, false, nil
}

// scanLogs reads rows of logColumns and closes them.
func (s *sqlStore) scanLogs(rows *sql.Rows, capacity int) ([]LogRow, error) {
	defer rows.Close()
	out := make([]LogRow, 0, capacity)
	var line []byte // the regenerated raw lines' buffer, reused
	for rows.Next() {
		var (
			r      LogRow
			ts     int64
			fields []byte
			err    error
		)
		// Text columns scan into strings: SQLite's driver hands over a string, kept
		// as is (scanning into []byte copied it twice).
		if err := rows.Scan(&r.ID, &r.Event.ID, &ts, &r.Decky, &r.Service, &r.Type, &r.AttackerIP, &r.AttackerPort, &fields, &r.Msg, &r.RawLine); err != nil {
			return nil, s.wrap("reading events", err)
		}
		r.Time = time.UnixMicro(ts).UTC()
		if r.Fields, err = decodeFields(fields); err != nil {
			return nil, fmt.Errorf("%w (logs row %d)", err, r.ID)
		}
		if len(r.RawLine) == 0 {
			if l, err := event.AppendFormat(line[:0], r.Event); err == nil {
				line = l
				r.RawLine = string(l)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading events", err)
	}
	return out, nil
}

// LogIDs returns the ids of the events Logs(q) returns, in the same order, without
// reading the events: on SQLite from memory when it can (see idIndex), else from
// the database, where the ids come back as one group_concat string: one row through
// database/sql instead of one per id (the per-row cost of the driver is most of an
// id list's).
func (s *sqlStore) LogIDs(ctx context.Context, q LogQuery) ([]int64, error) {
	if s.idx != nil {
		if ids, ok := s.idx.lookup(ctx, q); ok {
			return ids, nil
		}
	}
	return s.logIDsSQL(ctx, q)
}

// logIDsSQL is LogIDs asking the database.
func (s *sqlStore) logIDsSQL(ctx context.Context, q LogQuery) ([]int64, error) {
	sel, args, empty, err := s.logsSelect(ctx, q, "id")
	if err != nil || empty {
		return nil, err
	}
	var ids []int64
	if s.dialect == dialectSQLite {
		var list sql.NullString
		if err := s.queryRow(ctx, "SELECT group_concat(id) FROM ("+sel+")", args...).Scan(&list); err != nil {
			return nil, s.wrap("querying event ids", err)
		}
		if ids, err = parseIDList(list.String); err != nil {
			return nil, err
		}
		// group_concat's order is not defined: put the ids in q's.
		if q.Ascending {
			slices.Sort(ids)
		} else {
			slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
		}
		return ids, nil
	}
	rows, err := s.query(ctx, sel, args...)
	if err != nil {
		return nil, s.wrap("querying event ids", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap("reading event ids", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading event ids", err)
	}
	return ids, nil
}

// parseIDList parses group_concat's comma-separated ids.
func parseIDList(list string) ([]int64, error) {
	if list == "" {
		return nil, nil
	}
	ids := make([]int64, 0, strings.Count(list, ",")+1)
	for f := range strings.SplitSeq(list, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("store: reading event ids: %q is not an id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// byIDChunk is the most ids one LogsByID statement asks for. A statement asks for
// a power of two of ids (the last one repeated to fill it), so that a handful of
// prepared shapes serve every list.
const byIDChunk = 512

// LogsByID returns the stored events with these ids, in the order of ids; an id
// that is not stored is left out.
//
// Ids that lie close together (a page of events in a row) are read as one id range,
// other rows of the range skipped: walking a range reads each page of rows once,
// where a list seeks every id from the root.
func (s *sqlStore) LogsByID(ctx context.Context, ids []int64) ([]LogRow, error) {
	byID := make(map[int64]LogRow, len(ids))
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	args := make([]any, 0, min(len(sorted), byIDChunk))
	for lo := 0; lo < len(sorted); lo += byIDChunk {
		chunk := sorted[lo:min(lo+byIDChunk, len(sorted))]
		var (
			rows *sql.Rows
			err  error
		)
		if span := chunk[len(chunk)-1] - chunk[0]; span >= 0 && span < 2*int64(len(chunk)) {
			rows, err = s.query(ctx, "SELECT "+logColumns+" FROM logs WHERE id BETWEEN ? AND ?", chunk[0], chunk[len(chunk)-1])
		} else {
			n := 1
			for n < len(chunk) {
				n *= 2
			}
			args = args[:0]
			for i := range n {
				args = append(args, chunk[min(i, len(chunk)-1)])
			}
			rows, err = s.query(ctx, "SELECT "+logColumns+" FROM logs WHERE id IN ("+strings.TrimSuffix(strings.Repeat("?,", n), ",")+")", args...)
		}
		if err != nil {
			return nil, s.wrap("querying events by id", err)
		}
		got, err := s.scanLogs(rows, len(chunk))
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			if _, found := slices.BinarySearch(chunk, r.ID); found {
				byID[r.ID] = r
			}
		}
	}
	out := make([]LogRow, 0, len(byID))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// timeProbeRows is how many rows a time range may hold for Logs to find them
// through the timestamp index (see timeRange).
const timeProbeRows = 4096

// timeRange is an extra condition for a Logs query with a time range on SQLite:
// when the range holds at most timeProbeRows rows, "id IN (the ids of the range,
// read from the timestamp index alone)". Newest-first order is by id, so without it
// SQLite's planner walks the table backwards from the newest row and tests each
// timestamp: a range with few or no rows (a quiet last hour, a day long ago) made
// it read every row, 0.5 s for a million events. With the id list (a covering
// index read, no row) SQLite walks those ids in order and reads only the rows it
// returns or filters; reading every row of the range through the index and sorting
// them took 6x as long (20 ms vs 3 ms for 8,840 rows). One probe of at most
// timeProbeRows index entries tells the cases apart (a range with more rows is
// dense enough for the backwards walk, in the usual case of a recent range); empty
// reports a range without any row, whose answer is known without another query.
func (s *sqlStore) timeRange(ctx context.Context, q LogQuery) (cond string, args []any, empty bool, err error) {
	if s.dialect != dialectSQLite || (q.Since.IsZero() && q.Until.IsZero()) {
		return "", nil, false, nil
	}
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !q.Since.IsZero() {
		lo = q.Since.UnixMicro()
	}
	if !q.Until.IsZero() {
		hi = q.Until.UnixMicro()
	}
	var n int
	err = s.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM logs INDEXED BY logs_timestamp WHERE timestamp >= ? AND timestamp < ? LIMIT ?)",
		lo, hi, timeProbeRows+1).Scan(&n)
	switch {
	case err != nil:
		return "", nil, false, s.wrap("counting events in the time range", err)
	case n == 0:
		return "", nil, true, nil
	case n <= timeProbeRows:
		return "id IN (SELECT id FROM logs INDEXED BY logs_timestamp WHERE timestamp >= ? AND timestamp < ?)", []any{lo, hi}, false, nil
	}
	return "", nil, false, nil
}

// CountLogs counts the events q selects (Limit and order are ignored).
func (s *sqlStore) CountLogs(ctx context.Context, q LogQuery) (int64, error) {
	f, err := s.where(q)
	if err != nil {
		return 0, err
	}
	from := f.from
	if f.tokensOnly {
		from = " FROM logs_dims" // 10x faster than joining each row (100,000 rows: 10 vs 97 ms)
	}
	var n int64
	if err := s.queryRow(ctx, "SELECT COUNT(*)"+from+f.where, f.args...).Scan(&n); err != nil {
		return 0, s.wrap("counting events", err)
	}
	return n, nil
}

// Bounty returns the bounty q selects, newest first unless q.Ascending.
func (s *sqlStore) Bounty(ctx context.Context, q BountyQuery) ([]BountyRow, error) {
	sel, args := s.bountySelect(q)
	rows, err := s.query(ctx, sel, args...)
	if err != nil {
		return nil, s.wrap("querying bounty", err)
	}
	defer rows.Close()
	var out []BountyRow
	for rows.Next() {
		var (
			b                                 BountyRow
			ts                                int64
			decky, service, ip, typ, key, eid []byte
			payload                           []byte
		)
		if err := rows.Scan(&b.ID, &ts, &decky, &service, &ip, &typ, &payload, &key, &eid); err != nil {
			return nil, s.wrap("reading bounty", err)
		}
		b.Time = time.UnixMicro(ts).UTC()
		b.Decky, b.Service, b.AttackerIP, b.Type, b.DedupKey, b.EventID = string(decky), string(service), string(ip), string(typ), string(key), string(eid)
		b.Payload = payload
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading bounty", err)
	}
	return out, nil
}

// bountySelect is the SELECT of the bounty rows q selects, in q's order, with its
// arguments.
func (s *sqlStore) bountySelect(q BountyQuery) (string, []any) {
	var conds []string
	var args []any
	from, id := " FROM bounty", "id"
	if m := tokensMatch("y", q.Type, "d", q.Decky, "s", q.Service, "a", q.AttackerIP); m != "" && s.dialect == dialectSQLite {
		// See migration 8 and logsFilter.
		from, id = " FROM bounty_dims JOIN bounty ON bounty.id = bounty_dims.rowid", "bounty_dims.rowid"
		conds, args = append(conds, "bounty_dims MATCH ?"), append(args, m)
	} else {
		conds, args = appendEq(conds, args, "bounty_type", q.Type, "decky", q.Decky, "service", q.Service, "attacker_ip", q.AttackerIP)
	}
	conds, args = appendEq(conds, args, "event_id", q.EventID)
	if q.AfterID > 0 {
		conds = append(conds, id+" > ?")
		args = append(args, q.AfterID)
	}
	if q.BeforeID > 0 {
		conds = append(conds, id+" < ?")
		args = append(args, q.BeforeID)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	order := " ORDER BY " + id + " DESC"
	if q.Ascending {
		order = " ORDER BY " + id + " ASC"
	}
	args = append(args, clampLimit(q.Limit))
	return "SELECT id, timestamp, decky, service, attacker_ip, bounty_type, payload, dedup_key, event_id" + from + where + order + " LIMIT ?", args
}
