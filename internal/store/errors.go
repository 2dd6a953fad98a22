package store

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	zs "zombiezen.com/go/sqlite"
)

// ErrInvalid marks a batch or query the store refuses whatever the database's state:
// retrying it cannot help. Test with errors.Is.
var ErrInvalid = errors.New("invalid input")

// Limits on what one stored event may hold. They are the same on every engine, so a
// batch accepted by SQLite is accepted by MySQL and the other way round.
const (
	MaxEventIDLen  = 128      // event_id bytes
	MaxNameLen     = 255      // decky, service, event_type, bounty type bytes
	MaxIPLen       = 64       // attacker_ip bytes
	MaxDedupKeyLen = 255      // bounty dedup key bytes
	MaxCursorName  = 191      // state name bytes
	MaxRecordBytes = 24 << 20 // encoded fields + msg + raw_line of one event
	MaxTextTerms   = 32       // free-text terms in one LogQuery
	MaxFieldTerms  = 32       // field filters in one LogQuery
	MaxTermLen     = 2048     // bytes of one free-text term
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("store: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidateRecord reports whether r can be stored (the checks Ingest makes), so a
// caller can set an unstorable record aside instead of failing its whole batch.
func ValidateRecord(r Record) error {
	switch {
	case r.ID == "":
		return invalidf("an event has no event_id")
	case len(r.ID) > MaxEventIDLen:
		return invalidf("event_id is %d bytes, over the %d-byte limit", len(r.ID), MaxEventIDLen)
	case r.Time.IsZero():
		return invalidf("event %q has no timestamp", r.ID)
	case r.Time.Year() < 1 || r.Time.Year() > 9999:
		return invalidf("event %q has timestamp %s outside years 1-9999", r.ID, r.Time)
	case len(r.Decky) > MaxNameLen || len(r.Service) > MaxNameLen || len(r.Type) > MaxNameLen:
		return invalidf("event %q has a decky, service or event_type over %d bytes", r.ID, MaxNameLen)
	case len(r.AttackerIP) > MaxIPLen:
		return invalidf("event %q has an attacker_ip of %d bytes, over the %d-byte limit", r.ID, len(r.AttackerIP), MaxIPLen)
	case r.AttackerPort < 0 || r.AttackerPort > 65535:
		return invalidf("event %q has attacker_port %d outside 0-65535", r.ID, r.AttackerPort)
	}
	return nil
}

func validateBounty(b Bounty) error {
	switch {
	case b.Type == "" || len(b.Type) > MaxNameLen:
		return invalidf("a bounty type must be 1-%d bytes, got %d", MaxNameLen, len(b.Type))
	case len(b.Decky) > MaxNameLen || len(b.Service) > MaxNameLen:
		return invalidf("bounty of event %q has a decky or service over %d bytes", b.EventID, MaxNameLen)
	case len(b.AttackerIP) > MaxIPLen:
		return invalidf("bounty of event %q has an attacker_ip over %d bytes", b.EventID, MaxIPLen)
	case len(b.DedupKey) > MaxDedupKeyLen:
		return invalidf("bounty dedup key is %d bytes, over the %d-byte limit", len(b.DedupKey), MaxDedupKeyLen)
	case len(b.EventID) > MaxEventIDLen:
		return invalidf("bounty event_id is %d bytes, over the %d-byte limit", len(b.EventID), MaxEventIDLen)
	case b.Time.IsZero() || b.Time.Year() < 1 || b.Time.Year() > 9999:
		return invalidf("bounty of event %q has no valid timestamp", b.EventID)
	case len(b.Payload) == 0:
		return invalidf("bounty of event %q has an empty payload", b.EventID)
	case !validCompactObject(b.Payload) && (!utf8.Valid(b.Payload) || !json.Valid(b.Payload)):
		return invalidf("bounty payload of event %q is not valid UTF-8 JSON", b.EventID)
	}
	return nil
}

// IsRetryable reports whether err is a transient database condition — a locked or
// busy SQLite database, a lost or refused MySQL connection, a deadlock or lock wait
// timeout, a server shutting down — after which the same call may succeed. Ingest
// is idempotent (events dedup by event_id, bounty by dedup key, the cursor is set to
// the same value), so a retried batch never doubles anything.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrInvalid) {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6, 10: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR
			return true
		}
		return false
	}
	switch zs.ErrCode(err).ToPrimary() { // the ingest connection's errors (sqlitewriter.go)
	case zs.ResultBusy, zs.ResultLocked, zs.ResultIOErr:
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, // too many connections
			1053, // server shutdown in progress
			1062, // duplicate key: a concurrent writer stored the same event first; the retry sees it
			1205, // lock wait timeout
			1213, // deadlock
			1927, // connection killed (MariaDB)
			2006, // server has gone away
			2013, // lost connection
			3024: // query execution interrupted (timeout)
			return true
		}
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
