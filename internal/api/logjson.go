package api

import (
	"encoding/base64"
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
// logsPage (newline included).
func appendLogsPage(b []byte, rows []store.LogRow, next *int64) []byte {
	b = append(b, `{"items":[`...)
	var keys []string
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b, keys = appendLogJSON(b, &rows[i], keys[:0])
	}
	return appendPageEnd(b, next)
}

// appendLogsItems appends the page whose events' JSON (appendLogJSON) is items,
// byte for byte what appendLogsPage writes for their rows; nil items are left out.
func appendLogsItems(b []byte, items [][]byte, next *int64) []byte {
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
		b = append(b, it...)
	}
	return appendPageEnd(b, next)
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
// sorted field names, returned for reuse.
func appendLogJSON(b []byte, r *store.LogRow, keys []string) ([]byte, []string) {
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
	b = append(b, `,"raw_line":`...)
	b = appendJSONString(b, r.RawLine)
	if !utf8.ValidString(r.RawLine) {
		b = append(b, `,"raw_line_b64":"`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(r.RawLine))
		b = append(b, '"')
	}
	return append(b, '}'), keys
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
