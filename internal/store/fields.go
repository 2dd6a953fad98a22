package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Fields encoding.
//
// The fields column holds a JSON object of strings. JSON text must be valid UTF-8,
// but an event's field keys and values may hold any bytes, and encoding/json would
// silently replace invalid UTF-8 with U+FFFD. So every key and value is stored as
// follows:
//
//   - a string that is valid UTF-8 and does not start with BinaryMarker is stored
//     as itself (a plain JSON string, so the engine's JSON functions and the field
//     filters see the real value);
//   - any other string is stored as BinaryMarker followed by the standard base64
//     (with padding) of its bytes.
//
// Decoding reverses it exactly. A stored value that starts with BinaryMarker is
// always an encoded one (real values starting with the marker are themselves
// encoded), so the mapping is a bijection. A field filter on a value that needs
// encoding compares the encoded form, so filters work for every value.
//
// BinaryMarker starts with U+FFFD, the replacement character, which is what a
// reader of the raw JSON would expect to stand for "bytes that were not text".
const BinaryMarker = "\uFFFDb64:"

// encodeString returns s in its stored form (see "Fields encoding").
func encodeString(s string) string {
	if utf8.ValidString(s) && !strings.HasPrefix(s, BinaryMarker) {
		return s
	}
	return BinaryMarker + base64.StdEncoding.EncodeToString([]byte(s))
}

// decodeString reverses encodeString.
func decodeString(s string) (string, error) {
	if !strings.HasPrefix(s, BinaryMarker) {
		return s, nil
	}
	b, err := base64.StdEncoding.DecodeString(s[len(BinaryMarker):])
	if err != nil {
		return "", fmt.Errorf("store: a stored field starts with the binary marker but is not valid base64: %w", err)
	}
	return string(b), nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string literal without HTML
// escaping. The output is deterministic: the same input always gives the same
// bytes, which free-text search over the stored JSON relies on.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonEscapeFragment returns the JSON string body (without the quotes) of the stored
// form of s, i.e. what s looks like inside the stored fields JSON. Free-text search
// over fields matches on it.
func jsonEscapeFragment(s string) string {
	b := appendJSONString(nil, encodeString(s))
	return string(b[1 : len(b)-1])
}

// encodeFields renders fields as the stored JSON object, keys sorted.
func encodeFields(dst []byte, fields map[string]string) []byte {
	if len(fields) == 0 {
		return append(dst, '{', '}')
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, encodeString(k))
		dst = append(dst, ':')
		dst = appendJSONString(dst, encodeString(fields[k]))
	}
	return append(dst, '}')
}

// isStoredFields reports whether js is encodeFields(fields), without encoding them:
// an object of strings, names strictly increasing, each string its own stored
// form with nothing to escape (see plainStoredString), and exactly fields' pairs.
// It reads the object itself rather than through walkCompactObject, which
// validates and unescapes each string for a callback: that took ~1,000 ns of
// BenchmarkStoredFields against this one's ~590, on every event the ingester reads.
func isStoredFields(js string, fields map[string]string) bool {
	if len(js) < 2 || js[0] != '{' || js[len(js)-1] != '}' {
		return false
	}
	if len(js) == 2 {
		return len(fields) == 0
	}
	n, prev := 0, ""
	for i := 1; ; {
		k, next, ok := plainStoredString(js, i)
		if !ok || next >= len(js) || js[next] != ':' || (n > 0 && k <= prev) {
			return false
		}
		v, next, ok := plainStoredString(js, next+1)
		if fv, found := fields[k]; !ok || !found || fv != v || next >= len(js) {
			return false
		}
		n, prev = n+1, k
		switch js[next] {
		case '}':
			return next == len(js)-1 && n == len(fields)
		case ',':
			i = next + 1
		default:
			return false
		}
	}
}

// plainStoredString reads the JSON string at js[i] when encodeFields writes its
// text as it is: no byte appendJSONString escapes (control bytes, `"`, `\`, U+2028,
// U+2029) and valid UTF-8 not starting with BinaryMarker (see encodeString).
func plainStoredString(js string, i int) (s string, next int, ok bool) {
	if i >= len(js) || js[i] != '"' {
		return "", i, false
	}
	end := strings.IndexByte(js[i+1:], '"')
	if end < 0 {
		return "", i, false
	}
	s = js[i+1 : i+1+end]
	high := false
	for j := 0; j < len(s); j++ {
		switch c := s[j]; {
		case c < 0x20 || c == '\\':
			return "", i, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	if high && (!utf8.ValidString(s) || strings.HasPrefix(s, BinaryMarker) || strings.ContainsRune(s, '\u2028') || strings.ContainsRune(s, '\u2029')) {
		return "", i, false
	}
	return s, i + 2 + end, true
}

// decodeFields parses the stored JSON object back into the original map. An empty
// object gives a nil map.
func decodeFields(b []byte) (map[string]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("{}")) {
		return nil, nil
	}
	if out, ok := decodeCompactFields(b); ok {
		return out, nil
	}
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("store: the stored fields are not a JSON object of strings: %w", err)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		dk, err := decodeString(k)
		if err != nil {
			return nil, err
		}
		dv, err := decodeString(v)
		if err != nil {
			return nil, err
		}
		out[dk] = dv
	}
	return out, nil
}

// decodeCompactFields reads the exact form encodeFields writes — a compact object of
// strings whose escapes are \" \\ \n \r \t and \uXXXX outside the surrogates — and
// decodes the stored strings too. It reports false for anything else (spaces,
// other escapes, invalid UTF-8, a bad binary value…), which decodeFields then hands
// to encoding/json. Written by hand because reading every event's fields is most of
// what a search costs: encoding/json into a map, then a second map for the decoded
// strings, took a third of the CPU of a 100-row search; this takes a tenth.
// FuzzDecodeCompactFields holds it equal to the encoding/json path.
func decodeCompactFields(b []byte) (map[string]string, bool) {
	var out map[string]string
	ok := walkCompactObject(b, func(k, v []byte) bool {
		dk, err := decodeString(string(k))
		if err != nil {
			return false
		}
		dv, err := decodeString(string(v))
		if err != nil {
			return false
		}
		if out == nil {
			out = make(map[string]string, bytes.Count(b, []byte(`":"`)))
		}
		out[dk] = dv
		return true
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// validCompactObject reports whether b is a JSON object in the form
// walkCompactObject reads (valid UTF-8, string members only): what the bounty
// package writes. false means only "not in that form". validateBounty asks it
// before encoding/json, whose validation took the single writer 1.05 µs for each
// new bounty row (BenchmarkValidatePayload: a 160-byte credential; this, 0.44).
func validCompactObject(b []byte) bool {
	return walkCompactObject(b, func(k, v []byte) bool { return true })
}

// walkCompactObject reads b as a compact JSON object of string members (see
// decodeCompactFields) and calls member with each name and value, unescaped (both
// valid only until the next call). It returns false at anything else, or when
// member does.
func walkCompactObject(b []byte, member func(k, v []byte) bool) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	if len(b) == 2 {
		return true // {}
	}
	var kbuf, vbuf []byte
	i := 1
	for {
		k, n, ok := compactBytes(b, i, &kbuf)
		if !ok || n >= len(b) || b[n] != ':' {
			return false
		}
		v, m, ok := compactBytes(b, n+1, &vbuf)
		if !ok || m >= len(b) || !member(k, v) {
			return false
		}
		switch b[m] {
		case ',':
			i = m + 1
		case '}':
			return m == len(b)-1
		default:
			return false
		}
	}
}

// compactBytes reads the JSON string literal at b[i] (see decodeCompactFields) and
// returns its value and the index just past its closing quote. The value is part of
// b when the literal has no escapes, else decoded into *buf.
func compactBytes(b []byte, i int, buf *[]byte) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	i++
	start := i
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	if i < len(b) && b[i] == '"' { // no escapes: the common case
		if !utf8.Valid(b[start:i]) {
			return nil, 0, false
		}
		return b[start:i], i + 1, true
	}
	out := append((*buf)[:0], b[start:i]...)
	defer func() { *buf = out[:0] }()
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return nil, 0, false
			}
			return out, i + 1, true
		case c < 0x20:
			return nil, 0, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, 0, false
		}
		switch b[i+1] {
		case '"', '\\':
			out = append(out, b[i+1])
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(b) {
				return nil, 0, false
			}
			var r rune
			for _, h := range b[i+2 : i+6] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return nil, 0, false
				}
			}
			if r >= 0xD800 && r <= 0xDFFF {
				return nil, 0, false
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default:
			return nil, 0, false
		}
		i += 2
	}
	return nil, 0, false
}
