package store

// Aggregates for the API's overview: counts by service, decky and event type, the
// most frequent credentials, usernames and sources, and event histograms. Every
// value is a bound parameter. Over everything, Stats reads the overview counters
// (counters.go); from a time on, its GROUP BY queries read the indexes of migration 1.

import (
	"context"
	"time"
)

// Count is one group of an aggregate.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// CredentialCount is one username/password pair and how many credential rows
// (distinct service and attacker combinations) hold it.
type CredentialCount struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Count    int64  `json:"count"`
}

// StatsQuery selects what Stats counts: rows at or after Since (zero: everything),
// Top entries per list (0 = 10, at most 1000).
type StatsQuery struct {
	Since time.Time
	Top   int
}

// Stats are the overview counters.
type Stats struct {
	Events, Attackers, Credentials, Fingerprints, Artifacts int64

	ByService, ByDecky, ByEventType []Count
	TopCredentials                  []CredentialCount
	TopUsernames, TopSources        []Count
}

// setBountyTotal sets the total of one bounty type.
func (st *Stats) setBountyTotal(typ string, n int64) {
	switch typ {
	case "credential":
		st.Credentials = n
	case "fingerprint":
		st.Fingerprints = n
	case "artifact":
		st.Artifacts = n
	}
}

// Bucket is one interval of a histogram: events at or after Start and before
// Start + the interval.
type Bucket struct {
	Start time.Time
	Count int64
}

// MaxHistogramBuckets bounds the buckets one Histogram call may produce.
const MaxHistogramBuckets = 100000

// Stats computes the overview counters.
func (s *sqlStore) Stats(ctx context.Context, q StatsQuery) (*Stats, error) {
	top := q.Top
	switch {
	case top <= 0:
		top = 10
	case top > 1000:
		top = 1000
	}
	if q.Since.IsZero() {
		return s.statsFromCounters(ctx, top)
	}
	since := []any{q.Since.UnixMicro()}
	logsCond, bountyCond, attCond := " AND timestamp >= ?", " AND timestamp >= ?", " WHERE last_seen >= ?"
	out := &Stats{}
	scalar := func(what, query string, dst *int64, args ...any) error {
		if err := s.r.QueryRowContext(ctx, query, args...).Scan(dst); err != nil {
			return s.wrap("counting "+what, err)
		}
		return nil
	}
	if err := scalar("events", "SELECT COUNT(*) FROM logs WHERE 1 = 1"+logsCond, &out.Events, since...); err != nil {
		return nil, err
	}
	if err := scalar("attackers", "SELECT COUNT(*) FROM attackers"+attCond, &out.Attackers, since...); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT bounty_type, COUNT(*) FROM bounty WHERE 1 = 1"+bountyCond+" GROUP BY bounty_type", since...)
	if err != nil {
		return nil, s.wrap("counting bounty", err)
	}
	for rows.Next() {
		var typ []byte
		var n int64
		if err := rows.Scan(&typ, &n); err != nil {
			rows.Close()
			return nil, s.wrap("counting bounty", err)
		}
		out.setBountyTotal(string(typ), n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("counting bounty", err)
	}
	for _, g := range []struct {
		dst   *[]Count
		col   string
		extra string
	}{
		{&out.ByService, "service", ""},
		{&out.ByDecky, "decky", ""},
		{&out.ByEventType, "event_type", ""},
		{&out.TopSources, "attacker_ip", " AND attacker_ip <> ''"},
	} {
		list, err := s.counts(ctx, "events by "+g.col,
			"SELECT "+g.col+", COUNT(*) AS n FROM logs WHERE 1 = 1"+logsCond+g.extra+" GROUP BY "+g.col+" ORDER BY n DESC, "+g.col+" LIMIT ?", append(since, top)...)
		if err != nil {
			return nil, err
		}
		*g.dst = list
	}
	user, pass := s.credentialExprs()
	if out.TopUsernames, err = s.counts(ctx, "usernames",
		"SELECT "+user+" AS u, COUNT(*) AS n FROM bounty WHERE bounty_type = ?"+bountyCond+" GROUP BY u HAVING u <> '' ORDER BY n DESC, u LIMIT ?",
		append(append([]any{"credential"}, since...), top)...); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, "SELECT "+user+" AS u, "+pass+" AS p, COUNT(*) AS n FROM bounty WHERE bounty_type = ?"+bountyCond+
		" GROUP BY u, p ORDER BY n DESC, u, p LIMIT ?", append(append([]any{"credential"}, since...), top)...)
	if err != nil {
		return nil, s.wrap("counting credentials", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u, p []byte
		var c CredentialCount
		if err := rows.Scan(&u, &p, &c.Count); err != nil {
			return nil, s.wrap("counting credentials", err)
		}
		c.Username, c.Password = string(u), string(p)
		out.TopCredentials = append(out.TopCredentials, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("counting credentials", err)
	}
	return out, nil
}

func (s *sqlStore) counts(ctx context.Context, what, query string, args ...any) ([]Count, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("counting "+what, err)
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var k []byte
		var c Count
		if err := rows.Scan(&k, &c.Count); err != nil {
			return nil, s.wrap("counting "+what, err)
		}
		c.Key = string(k)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("counting "+what, err)
	}
	return out, nil
}

// Histogram counts the events q selects per interval (q.Limit and order are
// ignored); buckets are aligned to multiples of interval since the Unix epoch and
// only non-empty ones are returned, oldest first. q.Since and q.Until bound the
// range; when both are set, more than MaxHistogramBuckets intervals is ErrInvalid.
func (s *sqlStore) Histogram(ctx context.Context, q LogQuery, interval time.Duration) ([]Bucket, error) {
	step := interval.Microseconds()
	if step <= 0 {
		return nil, invalidf("a histogram interval must be at least 1µs, got %s", interval)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Sub(q.Since)/interval > MaxHistogramBuckets {
		return nil, invalidf("%s to %s at %s is more than %d buckets; use a larger interval", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339), interval, MaxHistogramBuckets)
	}
	f, err := s.where(q)
	if err != nil {
		return nil, err
	}
	div := "timestamp / ?"
	if s.dialect == dialectMySQL {
		div = "timestamp DIV ?"
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+div+" AS b, COUNT(*)"+f.from+f.where+" GROUP BY b ORDER BY b LIMIT ?",
		append(append([]any{step}, f.args...), MaxHistogramBuckets+1)...)
	if err != nil {
		return nil, s.wrap("computing an event histogram", err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, s.wrap("computing an event histogram", err)
		}
		out = append(out, Bucket{Start: time.UnixMicro(b * step).UTC(), Count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("computing an event histogram", err)
	}
	if len(out) > MaxHistogramBuckets {
		return nil, invalidf("the histogram has more than %d buckets at %s; use a larger interval or a time range", MaxHistogramBuckets, interval)
	}
	return out, nil
}
