// Package query owns DECNET's search syntax: the text an analyst types into the
// dashboard or `decnet logs` to select events, parsed into a store.LogQuery.
//
// Syntax: terms separated by white space, all of which must match.
//
//	decky:NAME        events of that decky
//	service:SLUG      events of that service
//	event:TYPE        events of that event type (also event_type:)
//	attacker:IP       events from that attacker address (also ip:, src_ip:)
//	since:WHEN        events at or after WHEN
//	until:WHEN        events before WHEN
//	KEY:VALUE         events whose field KEY equals VALUE exactly
//	"free text"       events whose message, raw line or a field contains the text
//	word              the same for one word
//
// A value may be quoted: user_agent:"curl/8.5 (x)". Inside quotes `\"` is a quote,
// `\\` a backslash and `\xHH` the byte 0xHH (so any byte can be searched, and text
// copied from `decnet logs`, which escapes the same way, finds itself); any other
// backslash is kept as it is. A bare word containing ':' is a KEY:VALUE term; quote
// it to search it as text ("2001:db8::1"). The key is split at the first ':', so
// attacker:2001:db8::1 works. WHEN is RFC 3339 (2026-03-14T15:09:26Z, with or
// without fractional seconds), a date (2026-03-14, midnight UTC), or a duration back
// from now: 30s, 15m, 2h, 7d, 2w (digits and one unit, or Go durations like 1h30m).
//
// The parser is bounded (MaxQueryLen bytes, MaxTerms terms) and builds no SQL: the
// store binds every value as a parameter.
package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"decnet/internal/store"
)

// Bounds on one query.
const (
	MaxQueryLen = 64 << 10
	MaxTerms    = 64
)

// Error is a syntax error at a byte offset of the query.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("search query: %s (at byte %d)", e.Msg, e.Offset)
}

// Parse parses q relative to the current time.
func Parse(q string) (store.LogQuery, error) { return ParseAt(q, time.Now()) }

// ParseAt parses q; relative times (since:15m) count back from now.
func ParseAt(q string, now time.Time) (store.LogQuery, error) {
	var out store.LogQuery
	if len(q) > MaxQueryLen {
		return out, &Error{Offset: MaxQueryLen, Msg: fmt.Sprintf("the query is %d bytes, over the %d-byte limit", len(q), MaxQueryLen)}
	}
	p := parser{s: q}
	seen := map[string]bool{}
	terms := 0
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		if terms++; terms > MaxTerms {
			return out, &Error{Offset: p.i, Msg: fmt.Sprintf("more than %d terms", MaxTerms)}
		}
		start := p.i
		if p.s[p.i] == '"' {
			text, err := p.quoted()
			if err != nil {
				return out, err
			}
			if text != "" {
				out.Text = append(out.Text, text)
			}
			continue
		}
		word := p.bare()
		key, val, isPair := strings.Cut(word, ":")
		if !isPair || key == "" {
			out.Text = append(out.Text, word)
			continue
		}
		valAt := start + len(key) + 1
		if val == "" && p.i < len(p.s) && p.s[p.i] == '"' {
			v, err := p.quoted()
			if err != nil {
				return out, err
			}
			val = v
		}
		if val == "" {
			return out, &Error{Offset: valAt, Msg: fmt.Sprintf("%q has no value", key+":")}
		}
		name := strings.ToLower(key)
		switch name {
		case "event_type":
			name = "event"
		case "ip", "src_ip":
			name = "attacker"
		}
		switch name {
		case "decky", "service", "event", "attacker", "since", "until":
			if seen[name] {
				return out, &Error{Offset: start, Msg: fmt.Sprintf("%s: is given twice; one event has one %s", name, name)}
			}
			seen[name] = true
		}
		switch name {
		case "decky":
			out.Decky = val
		case "service":
			out.Service = val
		case "event":
			out.EventType = val
		case "attacker":
			out.AttackerIP = val
		case "since", "until":
			t, err := parseWhen(val, now)
			if err != nil {
				return out, &Error{Offset: valAt, Msg: fmt.Sprintf("%s:%s: %v", name, val, err)}
			}
			if name == "since" {
				out.Since = t
			} else {
				out.Until = t
			}
		default:
			if out.Fields == nil {
				out.Fields = map[string]string{}
			}
			if old, ok := out.Fields[key]; ok && old != val {
				return out, &Error{Offset: start, Msg: fmt.Sprintf("field %q is given two different values", key)}
			}
			out.Fields[key] = val
		}
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && !out.Until.After(out.Since) {
		return out, &Error{Offset: 0, Msg: "until: is not after since:, so nothing can match"}
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// bare reads up to white space or a quote that follows "key:".
func (p *parser) bare() string {
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) {
		if p.s[p.i] == '"' && p.i > start && p.s[p.i-1] == ':' && strings.IndexByte(p.s[start:p.i], ':') == p.i-start-1 {
			break // key:"quoted value"
		}
		p.i++
	}
	return p.s[start:p.i]
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// quoted reads a "…" string starting at p.i.
func (p *parser) quoted() (string, error) {
	open := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if p.i < len(p.s) && !isSpace(p.s[p.i]) {
				return "", &Error{Offset: p.i, Msg: "a closing quote must be followed by a space or the end"}
			}
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s):
			n := p.s[p.i+1]
			switch n {
			case '"', '\\':
				b.WriteByte(n)
				p.i += 2
				continue
			case 'x':
				if p.i+3 < len(p.s) {
					hi, ok1 := unhex(p.s[p.i+2])
					lo, ok2 := unhex(p.s[p.i+3])
					if ok1 && ok2 {
						b.WriteByte(hi<<4 | lo)
						p.i += 4
						continue
					}
				}
			}
			b.WriteByte(c)
			p.i++
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", &Error{Offset: open, Msg: "unterminated quote"}
}

var errWhen = errors.New("want RFC 3339 (2026-03-14T15:09:26Z), a date (2026-03-14) or a duration back from now (15m, 2h, 7d, 2w)")

// maxAgo bounds relative times so now-d cannot overflow.
const maxAgo = 100 * 365 * 24 * time.Hour

func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if len(v) >= 2 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[len(v)-1]]
		if unit != 0 {
			n, err := strconv.ParseUint(v[:len(v)-1], 10, 32)
			if err != nil {
				return time.Time{}, errWhen
			}
			if time.Duration(n) > maxAgo/unit {
				return time.Time{}, fmt.Errorf("%s is more than 100 years back", v)
			}
			return now.Add(-time.Duration(n) * unit).UTC(), nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, errWhen
	}
	if d > maxAgo {
		return time.Time{}, fmt.Errorf("%s is more than 100 years back", v)
	}
	return now.Add(-d).UTC(), nil
}
