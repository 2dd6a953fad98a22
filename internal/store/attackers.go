package store

// Attackers and their profiles: the tables the analysis worker (internal/analysis)
// maintains from the logs, and the queries the CLI and API read them with.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Attacker is one row of the attackers table: everything DECNET knows about one
// source address, accumulated incrementally from the logs.
type Attacker struct {
	UUID            string                `json:"uuid"`
	IP              string                `json:"ip"`
	FirstSeen       time.Time             `json:"first_seen"`
	LastSeen        time.Time             `json:"last_seen"`
	EventCount      int64                 `json:"event_count"`
	Deckies         []string              `json:"deckies"`        // distinct deckies in first-touch order
	Services        []string              `json:"services"`       // distinct services in first-seen order
	IsTraversal     bool                  `json:"is_traversal"`   // touched two or more deckies
	TraversalPath   string                `json:"traversal_path"` // "decky-A -> decky-B -> …" (first-touch order)
	Fingerprints    []AttackerFingerprint `json:"fingerprints"`
	Commands        []AttackerCommand     `json:"commands"`         // the most recent commands (bounded by the engine)
	CommandCount    int64                 `json:"command_count"`    // all commands ever seen
	CredentialCount int64                 `json:"credential_count"` // credential attempts ever seen
	Credentials     []AttackerCredential  `json:"credentials"`      // the most recent attempts (bounded)
	// AnalysisState is the analysis engine's opaque resume state (JSON); Attackers
	// (the list) leaves it empty, Attacker (one) fills it.
	AnalysisState json.RawMessage `json:"-"`
	UpdatedAt     time.Time       `json:"updated_at"`

	// Read from attacker_behavior by Attackers and Attacker; SaveAnalysis ignores them.
	BehaviorClass string `json:"behavior_class"`
	OSGuess       string `json:"os_guess"`
}

// AttackerFingerprint is one distinct fingerprint an attacker showed.
type AttackerFingerprint struct {
	Kind      string    `json:"kind"` // ja3, ja4, hassh, client_version, user_agent, tcp_syn, jarm, …
	Value     string    `json:"value"`
	Service   string    `json:"service,omitempty"`
	Decky     string    `json:"decky,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int64     `json:"count"`
}

// AttackerCommand is one command an attacker typed or sent.
type AttackerCommand struct {
	Time     time.Time `json:"time"`
	Decky    string    `json:"decky"`
	Service  string    `json:"service"`
	Command  string    `json:"command"`
	Username string    `json:"username,omitempty"`
}

// AttackerCredential is one credential attempt (the printable form; the bounty
// table keeps the exact bytes).
type AttackerCredential struct {
	Time       time.Time `json:"time"`
	Decky      string    `json:"decky"`
	Service    string    `json:"service"`
	Username   string    `json:"username,omitempty"`
	Secret     string    `json:"secret,omitempty"`
	SecretKind string    `json:"secret_kind,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
}

// Behavior is one row of attacker_behavior: the profile of an attacker.
type Behavior struct {
	AttackerUUID  string      `json:"attacker_uuid"`
	OSGuess       string      `json:"os_guess"`       // "Linux", "Windows", "macOS", "FreeBSD", … ("" = unknown)
	OSConfidence  float64     `json:"os_confidence"`  // 0–1
	BehaviorClass string      `json:"behavior_class"` // scanner, brute_forcer, interactive, beacon, lateral_mover, unknown
	ToolGuesses   []ToolGuess `json:"tool_guesses"`
	Timing        TimingStats `json:"timing_stats"`
	Phases        []Phase     `json:"phases"`
	Evidence      []string    `json:"evidence"` // why the class (and OS) were chosen
	UpdatedAt     time.Time   `json:"updated_at"`
}

// ToolGuess is one tool the attacker probably used.
type ToolGuess struct {
	Tool       string   `json:"tool"`
	Confidence float64  `json:"confidence"` // 0–1
	Evidence   []string `json:"evidence"`
}

// TimingStats describe the intervals between an attacker's consecutive events.
type TimingStats struct {
	Events       int64   `json:"events"`
	Intervals    int64   `json:"intervals"`
	MeanS        float64 `json:"mean_s"`
	MedianS      float64 `json:"median_s"`
	StdevS       float64 `json:"stdev_s"`
	CV           float64 `json:"cv"` // stdev / mean
	MinS         float64 `json:"min_s"`
	MaxS         float64 `json:"max_s"`
	Bursts       int64   `json:"bursts"`        // runs of ≥ 2 events less than 1 s apart
	LongestBurst int64   `json:"longest_burst"` // events in the longest run
	EventsPerMin float64 `json:"events_per_min"`
}

// Phase is one stage of an attack (recon, access, execution, lateral…) and when
// it happened.
type Phase struct {
	Name   string    `json:"name"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Events int64     `json:"events"`
}

// AnalysisBatch is what the analysis worker commits at once: attacker rows (upserted
// by IP), their profiles (upserted by attacker UUID) and the worker's cursor, in ONE
// transaction.
type AnalysisBatch struct {
	Attackers  []Attacker
	Behaviors  []Behavior
	CursorName string
	Cursor     string
}

// Attacker sort orders.
const (
	SortLastSeen  = "last_seen" // default
	SortFirstSeen = "first_seen"
	SortEvents    = "events"
	SortDeckies   = "deckies"
)

// AttackerQuery selects attackers. Zero fields do not filter. Decky, Service, IP
// and BehaviorClass match byte for byte.
type AttackerQuery struct {
	IP            string
	Decky         string // touched this decky
	Service       string // touched this service
	BehaviorClass string
	TraversalOnly bool      // only attackers that touched two or more deckies
	Since         time.Time // last seen at or after
	Sort          string    // SortLastSeen (default), SortFirstSeen, SortEvents, SortDeckies
	Ascending     bool      // default: largest/newest first
	Limit         int       // 0 = 100; capped at 10000
	Offset        int
}

// Limits of what one attacker row may hold.
const (
	MaxAttackerUUIDLen = 64
	MaxAttackerJSON    = 16 << 20 // bytes of one JSON column
	maxTagsPerKind     = 4096
)

const (
	tagDecky   = "decky"
	tagService = "service"
)

func validUTF8(vals ...string) bool {
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

func validateAttacker(a *Attacker) error {
	switch {
	case a.UUID == "" || len(a.UUID) > MaxAttackerUUIDLen:
		return invalidf("an attacker's uuid must be 1-%d bytes, got %d", MaxAttackerUUIDLen, len(a.UUID))
	case a.IP == "" || len(a.IP) > MaxIPLen:
		return invalidf("attacker %s has an ip of %d bytes (1-%d allowed)", a.UUID, len(a.IP), MaxIPLen)
	case a.FirstSeen.IsZero() || a.LastSeen.IsZero() || a.FirstSeen.Year() < 1 || a.LastSeen.Year() > 9999:
		return invalidf("attacker %s has no valid first/last seen time", a.IP)
	case len(a.Deckies) > maxTagsPerKind || len(a.Services) > maxTagsPerKind:
		return invalidf("attacker %s has more than %d deckies or services", a.IP, maxTagsPerKind)
	case !validUTF8(a.UUID, a.IP, a.TraversalPath):
		return invalidf("attacker %s has a uuid, ip or traversal path that is not valid UTF-8", a.IP)
	case len(a.AnalysisState) > 0 && !json.Valid(a.AnalysisState):
		return invalidf("attacker %s has an analysis state that is not valid JSON", a.IP)
	}
	for _, list := range [][]string{a.Deckies, a.Services} {
		for _, v := range list {
			if v == "" || len(v) > MaxNameLen || !utf8.ValidString(v) {
				return invalidf("attacker %s has a decky or service name that is empty, over %d bytes or not UTF-8", a.IP, MaxNameLen)
			}
		}
	}
	return nil
}

func validateBehavior(b *Behavior) error {
	switch {
	case b.AttackerUUID == "" || len(b.AttackerUUID) > MaxAttackerUUIDLen:
		return invalidf("a behavior's attacker uuid must be 1-%d bytes, got %d", MaxAttackerUUIDLen, len(b.AttackerUUID))
	case len(b.OSGuess) > MaxNameLen || len(b.BehaviorClass) > 64:
		return invalidf("behavior of %s has an over-long os guess or class", b.AttackerUUID)
	case !validUTF8(b.OSGuess, b.BehaviorClass):
		return invalidf("behavior of %s has an os guess or class that is not valid UTF-8", b.AttackerUUID)
	}
	return nil
}

// jsonText marshals v (lists default to []) and bounds its size.
func jsonText(what, ip string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", invalidf("attacker %s: %s cannot be encoded: %v", ip, what, err)
	}
	if string(b) == "null" {
		b = []byte("[]")
	}
	if len(b) > MaxAttackerJSON {
		return "", invalidf("attacker %s: %s is %d bytes, over the %d-byte limit", ip, what, len(b), MaxAttackerJSON)
	}
	return string(b), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SaveAnalysis commits attackers, behaviors and the cursor in one transaction. An
// attacker is matched by IP: a stored IP keeps its UUID, and an Attacker whose
// UUID differs from the stored one for its IP is refused (ErrInvalid) — load the
// row with Attacker first. Behaviors are matched by attacker UUID.
func (s *sqlStore) SaveAnalysis(ctx context.Context, b AnalysisBatch) error {
	if len(b.CursorName) > MaxCursorName {
		return invalidf("cursor name is %d bytes, over the %d-byte limit", len(b.CursorName), MaxCursorName)
	}
	type encAttacker struct {
		a                                                           *Attacker
		deckies, services, fps, cmds, creds, state, traversal, uuid string
	}
	enc := make([]encAttacker, len(b.Attackers))
	for i := range b.Attackers {
		a := &b.Attackers[i]
		if err := validateAttacker(a); err != nil {
			return err
		}
		e := encAttacker{a: a, traversal: a.TraversalPath, uuid: a.UUID}
		var err error
		if e.deckies, err = jsonText("deckies", a.IP, a.Deckies); err != nil {
			return err
		}
		if e.services, err = jsonText("services", a.IP, a.Services); err != nil {
			return err
		}
		if e.fps, err = jsonText("fingerprints", a.IP, a.Fingerprints); err != nil {
			return err
		}
		if e.cmds, err = jsonText("commands", a.IP, a.Commands); err != nil {
			return err
		}
		if e.creds, err = jsonText("credentials", a.IP, a.Credentials); err != nil {
			return err
		}
		e.state = "{}"
		if len(a.AnalysisState) > 0 {
			if len(a.AnalysisState) > MaxAttackerJSON {
				return invalidf("attacker %s: the analysis state is %d bytes, over the %d-byte limit", a.IP, len(a.AnalysisState), MaxAttackerJSON)
			}
			e.state = string(a.AnalysisState)
		}
		enc[i] = e
	}
	type encBehavior struct {
		b                               *Behavior
		tools, timing, phases, evidence string
	}
	encB := make([]encBehavior, len(b.Behaviors))
	for i := range b.Behaviors {
		bh := &b.Behaviors[i]
		if err := validateBehavior(bh); err != nil {
			return err
		}
		e := encBehavior{b: bh}
		var err error
		if e.tools, err = jsonText("tool guesses", bh.AttackerUUID, bh.ToolGuesses); err != nil {
			return err
		}
		if e.timing, err = jsonText("timing stats", bh.AttackerUUID, bh.Timing); err != nil {
			return err
		}
		if e.phases, err = jsonText("phases", bh.AttackerUUID, bh.Phases); err != nil {
			return err
		}
		if e.evidence, err = jsonText("evidence", bh.AttackerUUID, bh.Evidence); err != nil {
			return err
		}
		encB[i] = e
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("starting an analysis transaction", err)
	}
	defer tx.Rollback()
	now := time.Now().UnixMicro()
	tagQ := "INSERT OR IGNORE INTO attacker_tags (kind, value, attacker_uuid) VALUES (?, ?, ?)"
	behQ := `INSERT INTO attacker_behavior (attacker_uuid, os_guess, os_confidence, behavior_class, tool_guesses, timing_stats, phases, evidence, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(attacker_uuid) DO UPDATE SET os_guess = excluded.os_guess, os_confidence = excluded.os_confidence,
			behavior_class = excluded.behavior_class, tool_guesses = excluded.tool_guesses, timing_stats = excluded.timing_stats,
			phases = excluded.phases, evidence = excluded.evidence, updated_at = excluded.updated_at`
	if s.dialect == dialectMySQL {
		tagQ = "INSERT INTO attacker_tags (kind, value, attacker_uuid) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE kind = kind"
		behQ = `INSERT INTO attacker_behavior (attacker_uuid, os_guess, os_confidence, behavior_class, tool_guesses, timing_stats, phases, evidence, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE os_guess = VALUES(os_guess), os_confidence = VALUES(os_confidence),
			behavior_class = VALUES(behavior_class), tool_guesses = VALUES(tool_guesses), timing_stats = VALUES(timing_stats),
			phases = VALUES(phases), evidence = VALUES(evidence), updated_at = VALUES(updated_at)`
	}
	// Each statement is prepared once per transaction, not once per attacker.
	var st struct{ lookup, insert, update, tag, behavior *sql.Stmt }
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&st.lookup, "SELECT uuid, deckies, services FROM attackers WHERE ip = ?"}, {&st.insert, insertAttackerQ},
		{&st.update, updateAttackerQ}, {&st.tag, tagQ}, {&st.behavior, behQ}} {
		stmt, err := tx.PrepareContext(ctx, p.q)
		if err != nil {
			return s.wrap("preparing the analysis statements", err)
		}
		defer stmt.Close()
		*p.dst = stmt
	}
	for _, e := range enc {
		a := e.a
		var stored, oldDeckies, oldServices []byte
		err := st.lookup.QueryRowContext(ctx, a.IP).Scan(&stored, &oldDeckies, &oldServices)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = st.insert.ExecContext(ctx,
				a.UUID, a.IP, a.FirstSeen.UnixMicro(), a.LastSeen.UnixMicro(), a.EventCount, len(a.Deckies), e.deckies, e.services,
				boolInt(a.IsTraversal), e.traversal, e.fps, e.cmds, a.CommandCount, a.CredentialCount, e.creds, e.state, now)
			if err != nil {
				return s.wrap(fmt.Sprintf("inserting attacker %s", a.IP), err)
			}
		case err != nil:
			return s.wrap(fmt.Sprintf("looking up attacker %s", a.IP), err)
		case string(stored) != a.UUID:
			return invalidf("attacker %s is stored with uuid %s, not %s; load it before saving", a.IP, stored, a.UUID)
		default:
			_, err = st.update.ExecContext(ctx,
				a.FirstSeen.UnixMicro(), a.LastSeen.UnixMicro(), a.EventCount, len(a.Deckies), e.deckies, e.services,
				boolInt(a.IsTraversal), e.traversal, e.fps, e.cmds, a.CommandCount, a.CredentialCount, e.creds, e.state, now, a.UUID)
			if err != nil {
				return s.wrap(fmt.Sprintf("updating attacker %s", a.IP), err)
			}
		}
		for _, tag := range []struct {
			kind     string
			vals     []string
			enc, old string
		}{{tagDecky, a.Deckies, e.deckies, string(oldDeckies)}, {tagService, a.Services, e.services, string(oldServices)}} {
			if tag.enc == tag.old {
				continue // unchanged since the last save: its tags are stored
			}
			for _, v := range tag.vals {
				if _, err := st.tag.ExecContext(ctx, tag.kind, v, a.UUID); err != nil {
					return s.wrap(fmt.Sprintf("indexing attacker %s", a.IP), err)
				}
			}
		}
	}
	if err := s.fail("attackers"); err != nil {
		return err
	}
	for _, e := range encB {
		bh := e.b
		if _, err := st.behavior.ExecContext(ctx, bh.AttackerUUID, bh.OSGuess, bh.OSConfidence, bh.BehaviorClass,
			e.tools, e.timing, e.phases, e.evidence, now); err != nil {
			return s.wrap(fmt.Sprintf("saving the profile of attacker %s", bh.AttackerUUID), err)
		}
	}
	if err := s.fail("behavior"); err != nil {
		return err
	}
	if b.CursorName != "" {
		if err := s.setCursor(ctx, tx, b.CursorName, b.Cursor); err != nil {
			return err
		}
	}
	if err := s.fail("analysis-cursor"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("committing an analysis batch", err)
	}
	s.commits.Add(1)
	s.ckpt.kick()
	return nil
}

const (
	insertAttackerQ = `INSERT INTO attackers (uuid, ip, first_seen, last_seen, event_count, decky_count, deckies, services,
				is_traversal, traversal_path, fingerprints, commands, command_count, credential_count, credentials, analysis_state, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateAttackerQ = `UPDATE attackers SET first_seen = ?, last_seen = ?, event_count = ?, decky_count = ?, deckies = ?,
				services = ?, is_traversal = ?, traversal_path = ?, fingerprints = ?, commands = ?, command_count = ?, credential_count = ?,
				credentials = ?, analysis_state = ?, updated_at = ? WHERE uuid = ?`
)

const attackerListColumns = `a.uuid, a.ip, a.first_seen, a.last_seen, a.event_count, a.deckies, a.services, a.is_traversal,
	a.traversal_path, a.fingerprints, a.commands, a.command_count, a.credential_count, a.credentials, a.updated_at,
	COALESCE(b.behavior_class, ''), COALESCE(b.os_guess, '')`

func (s *sqlStore) attackerWhere(q AttackerQuery) (string, []any) {
	var conds []string
	var args []any
	if q.IP != "" {
		conds = append(conds, "a.ip = ?")
		args = append(args, q.IP)
	}
	if q.BehaviorClass != "" {
		conds = append(conds, "b.behavior_class = ?")
		args = append(args, q.BehaviorClass)
	}
	if q.TraversalOnly {
		conds = append(conds, "a.is_traversal = 1")
	}
	if !q.Since.IsZero() {
		conds = append(conds, "a.last_seen >= ?")
		args = append(args, q.Since.UnixMicro())
	}
	for _, tag := range []struct{ kind, v string }{{tagDecky, q.Decky}, {tagService, q.Service}} {
		if tag.v != "" {
			conds = append(conds, "EXISTS (SELECT 1 FROM attacker_tags t WHERE t.kind = ? AND t.value = ? AND t.attacker_uuid = a.uuid)")
			args = append(args, tag.kind, tag.v)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Attackers returns the attackers q selects (without their analysis state).
func (s *sqlStore) Attackers(ctx context.Context, q AttackerQuery) ([]Attacker, error) {
	col := "a.last_seen"
	switch q.Sort {
	case "", SortLastSeen:
	case SortFirstSeen:
		col = "a.first_seen"
	case SortEvents:
		col = "a.event_count"
	case SortDeckies:
		col = "a.decky_count"
	default:
		return nil, invalidf("unknown attacker sort %q (use %s, %s, %s or %s)", q.Sort, SortLastSeen, SortFirstSeen, SortEvents, SortDeckies)
	}
	if q.Offset < 0 {
		return nil, invalidf("attacker query offset %d is negative", q.Offset)
	}
	dir := " DESC"
	if q.Ascending {
		dir = " ASC"
	}
	where, args := s.attackerWhere(q)
	args = append(args, clampLimit(q.Limit), q.Offset)
	rows, err := s.query(ctx, "SELECT "+attackerListColumns+
		" FROM attackers a LEFT JOIN attacker_behavior b ON b.attacker_uuid = a.uuid"+where+
		" ORDER BY "+col+dir+", a.ip"+dir+" LIMIT ? OFFSET ?", args...)
	if err != nil {
		return nil, s.wrap("querying attackers", err)
	}
	defer rows.Close()
	var out []Attacker
	for rows.Next() {
		a, err := s.scanAttacker(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading attackers", err)
	}
	return out, nil
}

// CountAttackers counts the attackers q selects (Limit, Offset and Sort are ignored).
func (s *sqlStore) CountAttackers(ctx context.Context, q AttackerQuery) (int64, error) {
	where, args := s.attackerWhere(q)
	var n int64
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM attackers a LEFT JOIN attacker_behavior b ON b.attacker_uuid = a.uuid"+where, args...).Scan(&n); err != nil {
		return 0, s.wrap("counting attackers", err)
	}
	return n, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func (s *sqlStore) scanAttacker(r rowScanner, withState bool) (Attacker, error) {
	var (
		a                                  Attacker
		uuid, ip, class, osGuess           []byte
		first, last, updated               int64
		deckies, services, path, fps, cmds []byte
		creds, state                       []byte
		trav                               int64
		dest                               []any
	)
	dest = []any{&uuid, &ip, &first, &last, &a.EventCount, &deckies, &services, &trav, &path, &fps, &cmds,
		&a.CommandCount, &a.CredentialCount, &creds, &updated, &class, &osGuess}
	if withState {
		dest = append(dest, &state)
	}
	if err := r.Scan(dest...); err != nil {
		return a, s.wrap("reading an attacker", err)
	}
	a.UUID, a.IP, a.BehaviorClass, a.OSGuess, a.TraversalPath = string(uuid), string(ip), string(class), string(osGuess), string(path)
	a.FirstSeen, a.LastSeen, a.UpdatedAt = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC(), time.UnixMicro(updated).UTC()
	a.IsTraversal = trav != 0
	for _, c := range []struct {
		what string
		raw  []byte
		dst  any
	}{{"deckies", deckies, &a.Deckies}, {"services", services, &a.Services}, {"fingerprints", fps, &a.Fingerprints},
		{"commands", cmds, &a.Commands}, {"credentials", creds, &a.Credentials}} {
		if err := json.Unmarshal(c.raw, c.dst); err != nil {
			return a, fmt.Errorf("store: the stored %s of attacker %s are not valid JSON: %w", c.what, a.IP, err)
		}
	}
	if withState {
		a.AnalysisState = json.RawMessage(state)
	}
	return a, nil
}

// Attacker returns the attacker whose IP or UUID is key, with its analysis state,
// or nil when there is none.
func (s *sqlStore) Attacker(ctx context.Context, key string) (*Attacker, error) {
	if key == "" {
		return nil, nil
	}
	for _, col := range []string{"a.ip", "a.uuid"} {
		row := s.queryRow(ctx, "SELECT "+attackerListColumns+", a.analysis_state"+
			" FROM attackers a LEFT JOIN attacker_behavior b ON b.attacker_uuid = a.uuid WHERE "+col+" = ?", key)
		a, err := s.scanAttacker(row, true)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &a, nil
	}
	return nil, nil
}

// Behavior returns the profile of the attacker with this UUID, or nil when there is none.
func (s *sqlStore) Behavior(ctx context.Context, uuid string) (*Behavior, error) {
	var (
		b                               Behavior
		id, osGuess, class              []byte
		tools, timing, phases, evidence []byte
		updated                         int64
	)
	err := s.queryRow(ctx, `SELECT attacker_uuid, os_guess, os_confidence, behavior_class, tool_guesses, timing_stats, phases, evidence, updated_at
		FROM attacker_behavior WHERE attacker_uuid = ?`, uuid).Scan(&id, &osGuess, &b.OSConfidence, &class, &tools, &timing, &phases, &evidence, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("reading an attacker profile", err)
	}
	b.AttackerUUID, b.OSGuess, b.BehaviorClass = string(id), string(osGuess), string(class)
	b.UpdatedAt = time.UnixMicro(updated).UTC()
	for _, c := range []struct {
		what string
		raw  []byte
		dst  any
	}{{"tool guesses", tools, &b.ToolGuesses}, {"timing stats", timing, &b.Timing}, {"phases", phases, &b.Phases}, {"evidence", evidence, &b.Evidence}} {
		if err := json.Unmarshal(c.raw, c.dst); err != nil {
			return nil, fmt.Errorf("store: the stored %s of attacker %s are not valid JSON: %w", c.what, b.AttackerUUID, err)
		}
	}
	return &b, nil
}
