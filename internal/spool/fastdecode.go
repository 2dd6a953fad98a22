package spool

import (
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// fast decodes a line written as Append writes it (encoding/json: no whitespace,
// the Record's own names once each, strings with encoding/json's escapes) with a
// hand-written scanner: jsontext's general tokenizer was most of the ingester's
// reading goroutine (6.6 of its 14 µs an event in bench/ingest). It gives up
// (false) at anything else — whitespace, another name or a name twice, a number
// that is not a plain integer, a lone surrogate escape, invalid UTF-8, a repeated
// fields key — and decode hands the line to general, which gives the record or the
// error. FuzzDecodeRecord holds both decoders' records equal.
func (d *recordDecoder) fast(line []byte) (*Record, bool) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	d.str, d.spans, d.ends = d.str[:0], d.spans[:0], d.ends[:0]
	if len(line) < 2 || line[0] != '{' {
		return nil, false
	}
	rec := new(Record)
	var (
		ts       strRef
		hasTime  bool
		fieldsAt = -1
		seen     uint16
		ok       bool
	)
	i := 1
	if line[i] == '}' {
		return rec, len(line) == 2
	}
	for {
		var name []byte
		if name, i, ok = fastName(line, i); !ok {
			return nil, false
		}
		index, kind, dst := recordName(rec, string(name))
		if kind == nameUnknown || seen&(1<<index) != 0 {
			return nil, false
		}
		seen |= 1 << index
		switch kind {
		case namePort:
			if rec.AttackerPort, i, ok = fastInt(line, i); !ok {
				return nil, false
			}
		case nameFields:
			start, plain := i, false
			if fieldsAt, i, plain, ok = d.fastFields(line, i); !ok {
				return nil, false
			}
			if plain {
				ref := strRef{dst: &rec.FieldsJSON, start: len(d.str)}
				d.str = append(d.str, line[start:i]...)
				ref.end = len(d.str)
				d.spans = append(d.spans, ref)
			}
		case nameTime:
			if hasTime, i, ok = d.fastStrOrNull(line, i, &ts); !ok {
				return nil, false
			}
		default:
			ref := strRef{dst: dst}
			var got bool
			if got, i, ok = d.fastStrOrNull(line, i, &ref); !ok {
				return nil, false
			}
			if got {
				d.spans = append(d.spans, ref)
			}
		}
		if i >= len(line) {
			return nil, false
		}
		if line[i] == '}' {
			i++
			break
		}
		if line[i] != ',' {
			return nil, false
		}
		i++
	}
	if i != len(line) {
		return nil, false
	}
	if d.finish(rec, ts, hasTime, fieldsAt) != nil || len(rec.Fields) != len(d.ends)/2 {
		return nil, false
	}
	return rec, true
}

// fastName reads `"name":` at line[i], a name without escapes.
func fastName(line []byte, i int) (name []byte, next int, ok bool) {
	if i >= len(line) || line[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case c == '"':
			if j+1 >= len(line) || line[j+1] != ':' {
				return nil, i, false
			}
			return line[i+1 : j], j + 2, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, i, false
		}
	}
	return nil, i, false
}

// fastInt reads an integer of at most 18 digits (no fraction, exponent or
// leading zero), or null (0), at line[i].
func fastInt(line []byte, i int) (n, next int, ok bool) {
	if hasNull(line, i) {
		return 0, i + 4, true
	}
	neg := i < len(line) && line[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		n = n*10 + int(line[i]-'0')
		i++
	}
	if digits := i - start; digits == 0 || digits > 18 || (digits > 1 && line[start] == '0') {
		return 0, i, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

func hasNull(line []byte, i int) bool {
	return len(line)-i >= 4 && string(line[i:i+4]) == "null"
}

// fastStrOrNull reads a string into d.str and sets ref's span (got), or null.
func (d *recordDecoder) fastStrOrNull(line []byte, i int, ref *strRef) (got bool, next int, ok bool) {
	if hasNull(line, i) {
		return false, i + 4, true
	}
	ref.start = len(d.str)
	if i, ok = d.fastStr(line, i); !ok {
		return false, i, false
	}
	ref.end = len(d.str)
	return true, i, true
}

// fastFields reads the fields object (or null: at -1) as general's fields does.
// plain says whether it is an object (not null) whose keys and values are all
// strings without escapes, the keys strictly increasing (see Record.FieldsJSON).
func (d *recordDecoder) fastFields(line []byte, i int) (at, next int, plain, ok bool) {
	if hasNull(line, i) {
		return -1, i + 4, false, true
	}
	if i >= len(line) || line[i] != '{' {
		return -1, i, false, false
	}
	at = len(d.str)
	i++
	if i < len(line) && line[i] == '}' {
		return at, i + 1, true, true
	}
	escapes, plain := d.escapes, true
	prev := strRef{start: -1}
	for {
		key := strRef{start: len(d.str)}
		if i, ok = d.fastStr(line, i); !ok || i >= len(line) || line[i] != ':' {
			return -1, i, false, false
		}
		key.end = len(d.str)
		if prev.start >= 0 && string(d.str[key.start:key.end]) <= string(d.str[prev.start:prev.end]) {
			plain = false
		}
		prev = key
		d.ends = append(d.ends, len(d.str))
		var ref strRef
		var got bool
		if got, i, ok = d.fastStrOrNull(line, i+1, &ref); !ok {
			return -1, i, false, false
		}
		plain = plain && got
		d.ends = append(d.ends, len(d.str))
		if i >= len(line) {
			return -1, i, false, false
		}
		if line[i] == '}' {
			return at, i + 1, plain && d.escapes == escapes, true
		}
		if line[i] != ',' {
			return -1, i, false, false
		}
		i++
	}
}

// strClass sorts a string's bytes: 0 copied as they are, 1 the same but part of a
// UTF-8 sequence to validate, 2 ends the run (quote, backslash, control byte).
var strClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 2
	}
	t['"'], t['\\'] = 2, 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 1
	}
	return t
}()

// fastStr appends the JSON string at line[i] (its opening quote), unquoted, to d.str.
func (d *recordDecoder) fastStr(line []byte, i int) (next int, ok bool) {
	if i >= len(line) || line[i] != '"' {
		return i, false
	}
	i++
	for {
		j, high := i, uint8(0)
		for j < len(line) {
			c := strClass[line[j]]
			if c == 2 {
				break
			}
			high |= c
			j++
		}
		if high != 0 && !utf8.Valid(line[i:j]) {
			return j, false
		}
		d.str = append(d.str, line[i:j]...)
		if j >= len(line) {
			return j, false
		}
		switch line[j] {
		case '"':
			return j + 1, true
		case '\\':
		default: // a control byte
			return j, false
		}
		if i, ok = d.fastEscape(line, j); !ok {
			return i, false
		}
	}
}

// fastEscape appends the escape at line[i] (its backslash).
func (d *recordDecoder) fastEscape(line []byte, i int) (next int, ok bool) {
	if i+1 >= len(line) {
		return i, false
	}
	d.escapes++
	var c byte
	switch line[i+1] {
	case '"', '\\', '/':
		c = line[i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := hex4(line, i+2)
		if !ok {
			return i, false
		}
		next = i + 6
		if utf16.IsSurrogate(r) {
			r2, ok := hex4(line, i+8)
			if !ok || line[i+6] != '\\' || line[i+7] != 'u' {
				return i, false
			}
			if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
				return i, false
			}
			next = i + 12
		}
		d.str = utf8.AppendRune(d.str, r)
		return next, true
	default:
		return i, false
	}
	d.str = append(d.str, c)
	return i + 2, true
}

// hex4 reads the four hex digits of a \u escape at line[i].
func hex4(line []byte, i int) (rune, bool) {
	if len(line)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range line[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// parseTime reads a record's timestamp: the RFC 3339 UTC form encoding/json writes
// ("2026-01-02T15:04:05.123456Z") directly, anything else with time.Parse.
func parseTime(s string) (time.Time, error) {
	if t, ok := parseUTC(s); ok {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// parseUTC reads YYYY-MM-DDTHH:MM:SS[.fraction]Z, with every part in range.
func parseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || len(s) > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range []byte(s[a:b]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day, hour, min, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 && day > daysIn(time.Month(month), year) ||
		hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if nsec = num(20, len(s)-1); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC), true
}

// daysIn is the number of days in month of year.
func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
