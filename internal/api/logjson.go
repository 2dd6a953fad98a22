package api

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"unicode/utf8"

	"decnet/internal/store"
)

// A search page is written by hand rather than through encoding/json, whose
// reflection over 100 events with their field maps was ~15% of a 100-event
// search's CPU (perf on the API under wrk). The bytes are exactly those of
// writeJSON(logsPage{…}): FuzzAppendLogJSON and TestLogsPageJSON hold them equal.

// appendLogsPage appends the JSON of the page of rows, as writeJSON encodes a
// logsPage (newline included); without raw, each event is left without its raw
// line (see appendLogEntry).
func appendLogsPage(b []byte, rows []store.LogRow, next *int64, raw bool) []byte {
	b = append(b, `{"items":[`...)
	var keys []string
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		var rawAt int
		b, keys, rawAt = appendLogJSON(b, &rows[i], keys[:0])
		if !raw {
			b = append(b[:rawAt], '}')
		}
	}
	return appendPageEnd(b, next)
}

// appendLogsItems appends the page whose events' entries (appendLogEntry) are
// items, byte for byte what appendLogsPage writes for their rows; nil items are
// left out.
func appendLogsItems(b []byte, items [][]byte, next *int64, raw bool) []byte {
	b = append(b, `{"items":[`...)
	first := true
	for _, it := range items {
		if it == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendEntryJSON(b, it, raw)
	}
	return appendPageEnd(b, next)
}

// appendLogEntry appends r's entry for the row cache: its JSON (appendLogJSON)
// after 4 bytes that say where its raw line starts, so that a page with or without
// raw lines is copied from the same entry.
func appendLogEntry(b []byte, r *store.LogRow, keys []string) ([]byte, []string) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b, keys, rawAt := appendLogJSON(b, r, keys)
	binary.LittleEndian.PutUint32(b[start:], uint32(rawAt-start-4))
	return b, keys
}

// entryJSONLen is how many bytes appendEntryJSON appends for entry (0 for nil).
func entryJSONLen(entry []byte, raw bool) int {
	switch {
	case entry == nil:
		return 0
	case raw:
		return len(entry) - 4
	}
	return int(binary.LittleEndian.Uint32(entry)) + 1
}

// appendEntryJSON appends the JSON of an entry (appendLogEntry), without its raw
// line unless raw.
func appendEntryJSON(b, entry []byte, raw bool) []byte {
	if raw {
		return append(b, entry[4:]...)
	}
	b = append(b, entry[4:4+binary.LittleEndian.Uint32(entry)]...)
	return append(b, '}')
}

// appendPageEnd closes a page's items and appends its next_before_id.
func appendPageEnd(b []byte, next *int64) []byte {
	b = append(b, `],"next_before_id":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *next, 10)
	}
	return append(b, "}\n"...)
}

// appendLogJSON appends json.Marshal(logOut(r)); keys is scratch space for the
// sorted field names, returned for reuse. rawAt is where its raw line starts in b
// (the comma before "raw_line"): b[:rawAt] and a '}' are the event without it.
func appendLogJSON(b []byte, r *store.LogRow, keys []string) (_ []byte, _ []string, rawAt int) {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"event_id":`...)
	b = appendJSONString(b, r.Event.ID)
	b = append(b, `,"timestamp":"`...)
	b = r.Time.UTC().AppendFormat(b, tsLayout)
	b = append(b, `","decky":`...)
	b = appendJSONString(b, r.Decky)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, r.Service)
	b = append(b, `,"event_type":`...)
	b = appendJSONString(b, r.Type)
	b = append(b, `,"attacker_ip":`...)
	b = appendJSONString(b, r.AttackerIP)
	b = append(b, `,"attacker_port":`...)
	b = strconv.AppendInt(b, int64(r.AttackerPort), 10)
	b = append(b, `,"fields":{`...)
	for k := range r.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys) // encoding/json sorts map keys byte-wise
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, r.Fields[k])
	}
	b = append(b, `},"msg":`...)
	b = appendJSONString(b, r.Msg)
	rawAt = len(b)
	b = append(b, `,"raw_line":`...)
	b = appendJSONString(b, r.RawLine)
	if !utf8.ValidString(r.RawLine) {
		b = append(b, `,"raw_line_b64":"`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(r.RawLine))
		b = append(b, '"')
	}
	return append(b, '}'), keys, rawAt
}

// appendJSONString appends s as encoding/json writes a string with HTML escaping
// on: <, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029 escaped; each
// invalid UTF-8 byte as \ufffd. (store's appendJSONString writes the stored form
// instead: no HTML escaping, valid UTF-8 only, which free-text search relies on.)
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
