package store

// Users and sessions of the API (internal/api): accounts with a role and a
// password hash, server-side login sessions keyed by the hash of their id, and
// named server secrets generated once and kept in the state table.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// ErrExists is returned (wrapped) by CreateUser for a username already taken.
var ErrExists = errors.New("already exists")

// Roles of an API user.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// Limits of a user row.
const (
	MaxUsernameLen = 64
	MaxHashLen     = 255
)

// User is an API account. PasswordHash is a self-describing hash string (the API
// writes argon2id PHC strings); the store never sees a password.
type User struct {
	Username           string
	Role               string // RoleAdmin or RoleViewer
	PasswordHash       string
	MustChangePassword bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Session is a server-side login session. IDHash is the hex SHA-256 of the random
// session id the client holds in its cookie; the id itself is never stored.
type Session struct {
	IDHash    string
	Username  string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute expiry
}

// ValidUsername reports whether name can be a username: 1-64 bytes of letters,
// digits, '.', '_', '-' and '@', so it is safe in logs, URLs and the dashboard.
func ValidUsername(name string) bool {
	if name == "" || len(name) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return false
		}
	}
	return true
}

func validateUser(u User) error {
	switch {
	case !ValidUsername(u.Username):
		return invalidf("username %q must be 1-%d letters, digits, '.', '_', '-' or '@'", u.Username, MaxUsernameLen)
	case u.Role != RoleAdmin && u.Role != RoleViewer:
		return invalidf("role %q of user %s is neither %s nor %s", u.Role, u.Username, RoleAdmin, RoleViewer)
	case u.PasswordHash == "" || len(u.PasswordHash) > MaxHashLen || !utf8.ValidString(u.PasswordHash):
		return invalidf("the password hash of user %s is empty, over %d bytes or not UTF-8", u.Username, MaxHashLen)
	}
	return nil
}

func micro(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().UnixMicro()
	}
	return t.UnixMicro()
}

// CreateUser stores a new user; a taken username is ErrExists.
func (s *sqlStore) CreateUser(ctx context.Context, u User) error {
	if err := validateUser(u); err != nil {
		return err
	}
	created := micro(u.CreatedAt)
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (username, role, password_hash, must_change_password, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, u.Username, u.Role, u.PasswordHash, boolInt(u.MustChangePassword), created, created)
	if err != nil {
		if isDuplicateKey(err) || isSQLiteConstraint(err) {
			return fmt.Errorf("store: user %s: %w", u.Username, ErrExists)
		}
		return s.wrap("creating user "+u.Username, err)
	}
	return nil
}

const userColumns = "username, role, password_hash, must_change_password, created_at, updated_at"

func scanUser(r rowScanner) (User, error) {
	var (
		u                    User
		name, role, hash     []byte
		must                 int64
		created, updatedTime int64
	)
	if err := r.Scan(&name, &role, &hash, &must, &created, &updatedTime); err != nil {
		return u, err
	}
	u.Username, u.Role, u.PasswordHash, u.MustChangePassword = string(name), string(role), string(hash), must != 0
	u.CreatedAt, u.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updatedTime).UTC()
	return u, nil
}

// User returns the user named username, or nil when there is none. It reads from
// the writer so a login right after a password change sees the new hash.
func (s *sqlStore) User(ctx context.Context, username string) (*User, error) {
	u, err := scanUser(s.w.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE username = ?", username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("reading user "+username, err)
	}
	return &u, nil
}

// Users returns every user, by username.
func (s *sqlStore) Users(ctx context.Context) ([]User, error) {
	rows, err := s.w.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY username")
	if err != nil {
		return nil, s.wrap("listing users", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.wrap("reading users", err)
		}
		out = append(out, u)
	}
	return out, s.wrap("reading users", rows.Err())
}

// SetPassword replaces a user's password hash and must-change flag; it reports
// whether the user exists.
func (s *sqlStore) SetPassword(ctx context.Context, username, hash string, mustChange bool) (bool, error) {
	if hash == "" || len(hash) > MaxHashLen {
		return false, invalidf("the password hash of user %s is empty or over %d bytes", username, MaxHashLen)
	}
	res, err := s.w.ExecContext(ctx, "UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE username = ?",
		hash, boolInt(mustChange), time.Now().UnixMicro(), username)
	if err != nil {
		return false, s.wrap("changing the password of user "+username, err)
	}
	n, err := res.RowsAffected()
	return n > 0, s.wrap("changing the password of user "+username, err)
}

// DeleteUser removes a user and all of its sessions in one transaction; it
// reports whether the user existed.
func (s *sqlStore) DeleteUser(ctx context.Context, username string) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, s.wrap("deleting user "+username, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = ?", username); err != nil {
		return false, s.wrap("deleting the sessions of user "+username, err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE username = ?", username)
	if err != nil {
		return false, s.wrap("deleting user "+username, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("deleting user "+username, err)
	}
	return n > 0, s.wrap("committing the deletion of user "+username, tx.Commit())
}

// CreateSession stores a new session.
func (s *sqlStore) CreateSession(ctx context.Context, se Session) error {
	if se.IDHash == "" || len(se.IDHash) > 64 || !ValidUsername(se.Username) || se.ExpiresAt.IsZero() {
		return invalidf("a session needs an id hash of 1-64 bytes, a valid username and an expiry")
	}
	created := micro(se.CreatedAt)
	last := created
	if !se.LastSeen.IsZero() {
		last = se.LastSeen.UnixMicro()
	}
	_, err := s.w.ExecContext(ctx, "INSERT INTO sessions (id_hash, username, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)",
		se.IDHash, se.Username, created, last, se.ExpiresAt.UnixMicro())
	return s.wrap("creating a session for "+se.Username, err)
}

// Session returns the session with this id hash, or nil when there is none.
// Expiry is the caller's decision (it knows the idle timeout).
func (s *sqlStore) Session(ctx context.Context, idHash string) (*Session, error) {
	var (
		se                      Session
		id, user                []byte
		created, last, expireAt int64
	)
	err := s.w.QueryRowContext(ctx, "SELECT id_hash, username, created_at, last_seen, expires_at FROM sessions WHERE id_hash = ?", idHash).
		Scan(&id, &user, &created, &last, &expireAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("reading a session", err)
	}
	se.IDHash, se.Username = string(id), string(user)
	se.CreatedAt, se.LastSeen, se.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(last).UTC(), time.UnixMicro(expireAt).UTC()
	return &se, nil
}

// TouchSession records activity on a session.
func (s *sqlStore) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", at.UnixMicro(), idHash)
	return s.wrap("recording session activity", err)
}

// DeleteSession removes one session (logout).
func (s *sqlStore) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
	return s.wrap("deleting a session", err)
}

// DeleteUserSessions removes every session of username except the one whose id
// hash is except ("" removes all): a password change logs out the other sessions.
func (s *sqlStore) DeleteUserSessions(ctx context.Context, username, except string) (int64, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE username = ? AND id_hash <> ?", username, except)
	if err != nil {
		return 0, s.wrap("deleting the sessions of user "+username, err)
	}
	n, err := res.RowsAffected()
	return n, s.wrap("deleting the sessions of user "+username, err)
}

// PruneSessions removes sessions past their absolute expiry or idle since before
// idleBefore, and reports how many.
func (s *sqlStore) PruneSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen < ?", now.UnixMicro(), idleBefore.UnixMicro())
	if err != nil {
		return 0, s.wrap("pruning expired sessions", err)
	}
	n, err := res.RowsAffected()
	return n, s.wrap("pruning expired sessions", err)
}

// secretPrefix names server secrets in the state table.
const secretPrefix = "secret:"

// Secret returns the server secret called name, creating it with gen on first use.
// Two processes racing on first use agree on one value: the first insert wins and
// both read it back.
func (s *sqlStore) Secret(ctx context.Context, name string, gen func() (string, error)) (string, error) {
	key := secretPrefix + name
	if v, err := s.Cursor(ctx, key); err != nil || v != "" {
		return v, err
	}
	v, err := gen()
	if err != nil {
		return "", fmt.Errorf("store: generating secret %s: %w", name, err)
	}
	if v == "" {
		return "", invalidf("secret %s generated empty", name)
	}
	q := "INSERT OR IGNORE INTO state (name, value) VALUES (?, ?)"
	var val any = v
	if s.dialect == dialectMySQL {
		q = "INSERT INTO state (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = name"
		val = []byte(v)
	}
	if _, err := s.w.ExecContext(ctx, q, key, val); err != nil {
		return "", s.wrap("storing secret "+name, err)
	}
	got, err := s.Cursor(ctx, key)
	if err == nil && got == "" {
		err = fmt.Errorf("store: secret %s vanished right after it was stored", name)
	}
	return got, err
}

// isSQLiteConstraint reports a SQLite constraint violation (SQLITE_CONSTRAINT and
// its extended codes, e.g. a duplicate primary key).
func isSQLiteConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 19
}
