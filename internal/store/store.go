// Package store is DECNET's repository: events (logs), harvested bounty, attackers
// and their profiles, and worker cursors, behind one interface with two implementations selected by DSN — SQLite
// (embedded default, WAL) and MySQL/MariaDB (shared deployments). Both pass the same
// test suite. Filtering inside JSON uses the engine's JSON functions with bound
// parameters only.
package store

import (
	"context"
	"encoding/json"
	"time"

	"decnet/internal/event"
)

// Record is one event as stored: the parsed event and the raw line it came from.
// A RawLine that is exactly event.Format(Event) is not stored but regenerated on
// read; an empty RawLine reads back as that canonical line too.
type Record struct {
	event.Event
	RawLine string
}

// Bounty is one harvested artifact: a credential, a fingerprint, a captured file…
type Bounty struct {
	Time       time.Time
	Decky      string
	Service    string
	AttackerIP string
	Type       string          // "credential", "fingerprint", "artifact"
	Payload    json.RawMessage // JSON object (valid UTF-8; binary data belongs base64-encoded in it)
	// DedupKey identifies the same artifact seen again (e.g. a hash of
	// type|service|username|secret); a duplicate is not stored twice. Empty means
	// the first 128 bits, in hex, of the SHA-256 of Type, a NUL byte and Payload.
	DedupKey string
	EventID  string // the event it came from
}

// Batch is what the ingester commits at once: events, their bounty, and the
// ingester's cursor — all in ONE transaction, so a crash never separates rows from
// the cursor that covers them.
type Batch struct {
	Records []Record
	// Encoded, when it has one entry per record, holds Encoder.Encode of each: Ingest
	// then skips that work (a writer's transaction is single-file; the caller's
	// goroutine may run beside it). A record must not change once encoded.
	Encoded    []Encoded
	Bounty     []Bounty
	CursorName string // worker name in the state table, e.g. "ingester"
	Cursor     string // its new value
}

// IngestResult says what a batch changed.
type IngestResult struct {
	Inserted   []int64 // ids of newly stored logs rows, in batch order (duplicates omitted)
	IDs        []int64 // one per record of the batch, in order: its new id, or 0 for a duplicate
	Duplicates int     // events whose event_id was already stored
	NewBounty  int
}

// LogRow is a stored event.
type LogRow struct {
	ID int64
	Record
}

// LogQuery selects events. Zero fields do not filter. Decky, Service, EventType,
// AttackerIP and Fields values match byte for byte; each Text term must occur byte for
// byte (case-sensitive) in msg, raw_line or a field; Since is inclusive, Until
// exclusive. Package query parses the search syntax into a LogQuery.
type LogQuery struct {
	Decky, Service, EventType, AttackerIP string
	Fields                                map[string]string // key:value terms, exact match on fields.key
	Text                                  []string          // free-text terms: each must occur in msg, raw_line or fields
	Since, Until                          time.Time
	AfterID                               int64 // only rows with id > AfterID (follow / pagination)
	BeforeID                              int64 // only rows with id < BeforeID (pagination backwards)
	Limit                                 int   // 0 = 100; capped at 10000
	Ascending                             bool  // default newest first
}

// BountyQuery selects bounty. Zero fields do not filter.
type BountyQuery struct {
	Type, Decky, Service, AttackerIP string
	EventID                          string // bounty harvested from this event
	AfterID                          int64  // only rows with id > AfterID
	BeforeID                         int64  // only rows with id < BeforeID
	Limit                            int    // 0 = 100; capped at 10000
	Ascending                        bool   // default newest first
}

// BountyRow is stored bounty.
type BountyRow struct {
	ID int64
	Bounty
}

// Store is the repository.
type Store interface {
	// Ingest commits a batch atomically (events deduplicated by event_id, bounty by
	// dedup key, the cursor set in the same transaction). On error nothing of the
	// batch is stored: errors.Is(err, ErrInvalid) means the batch can never be stored
	// (see ValidateRecord); IsRetryable(err) means retry the same batch later (a
	// locked SQLite file, a MySQL server restarting); a retry never doubles anything.
	Ingest(ctx context.Context, b Batch) (IngestResult, error)
	// Cursor returns a worker cursor ("" when unset).
	Cursor(ctx context.Context, name string) (string, error)
	// SetCursor sets a worker cursor outside a batch.
	SetCursor(ctx context.Context, name, value string) error
	Logs(ctx context.Context, q LogQuery) ([]LogRow, error)
	// LogIDs returns the ids of the events Logs(q) returns, in the same order,
	// without reading the events.
	LogIDs(ctx context.Context, q LogQuery) ([]int64, error)
	// LogsByID returns the stored events with these ids, in the order given; an id
	// that is not stored is left out.
	LogsByID(ctx context.Context, ids []int64) ([]LogRow, error)
	CountLogs(ctx context.Context, q LogQuery) (int64, error)
	Bounty(ctx context.Context, q BountyQuery) ([]BountyRow, error)

	// SaveAnalysis commits the analysis worker's attackers (upserted by IP),
	// their profiles (by attacker UUID) and its cursor in one transaction (see
	// attackers.go). Errors follow Ingest's rules (ErrInvalid, IsRetryable).
	SaveAnalysis(ctx context.Context, b AnalysisBatch) error
	// Attackers lists the attackers q selects, without their analysis state.
	Attackers(ctx context.Context, q AttackerQuery) ([]Attacker, error)
	// CountAttackers counts the attackers q selects.
	CountAttackers(ctx context.Context, q AttackerQuery) (int64, error)
	// Attacker returns one attacker by IP or UUID (nil when unknown).
	Attacker(ctx context.Context, ipOrUUID string) (*Attacker, error)
	// Behavior returns an attacker's profile by attacker UUID (nil when none yet).
	Behavior(ctx context.Context, attackerUUID string) (*Behavior, error)

	// Stats computes the overview counters (see stats.go).
	Stats(ctx context.Context, q StatsQuery) (*Stats, error)
	// FoldCounters adds what was stored since its last call to the counters that
	// Stats over everything reads, so that it stays fast (see counters.go). Stats
	// is exact whether or not it was called.
	FoldCounters(ctx context.Context) error
	// Histogram counts the events q selects per interval, oldest bucket first.
	Histogram(ctx context.Context, q LogQuery, interval time.Duration) ([]Bucket, error)
	// DataVersion identifies the database's current contents (see version.go), so
	// a reader can tell that an answer it computed is still the answer.
	DataVersion(ctx context.Context) (DataVersion, bool)

	// API users and sessions (see users.go). User and Session return nil when
	// there is none; CreateUser returns ErrExists for a taken username.
	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, username string) (*User, error)
	Users(ctx context.Context) ([]User, error)
	SetPassword(ctx context.Context, username, hash string, mustChange bool) (bool, error)
	DeleteUser(ctx context.Context, username string) (bool, error)
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, idHash string) (*Session, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, username, exceptIDHash string) (int64, error)
	PruneSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
	// Secret returns the named server secret, generating and storing it with gen
	// on first use (concurrent first users agree on one value).
	Secret(ctx context.Context, name string, gen func() (string, error)) (string, error)

	Close() error
}
