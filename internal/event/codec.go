package event

// Wire codec: Event ⇄ one RFC 5424 line. The escaping rule is documented on Format;
// Parse, Format and SafeTerminal share it.

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxLine is the longest line, without its line terminator, that Parse accepts and
// Format produces. Escaping can grow a value up to four times (`\xHH` per byte): the
// limit lets any single 1 MiB value through, even pure binary. Larger binary payloads
// belong in base64 `*_b64` fields. A reader of event lines needs a buffer of
// MaxLine+2 bytes.
const MaxLine = 5 << 20

// Header limits from RFC 5424 §6.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
	maxSDName   = 32
)

// SD-PARAM names that carry Event's own fields; they cannot be used as Fields keys.
const (
	paramID   = "event_id"
	paramIP   = "src_ip"
	paramPort = "src_port"
)

// timeLayout is RFC 3339 in UTC with exactly six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// appendTime appends t, in UTC with a year from 0 to 9999, as t.AppendFormat(b,
// timeLayout) does, without the general formatter: that was a fifth of formatting
// an SSH login event (1.75 -> 1.42 µs), which every service does per event and the
// ingester again to check each raw line.
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), min, 2)
	b = appendDigits(append(b, ':'), sec, 2)
	b = appendDigits(append(b, '.'), t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendDigits appends the last n (at most 6) decimal digits of v >= 0, padded
// with zeros.
func appendDigits(b []byte, v, n int) []byte {
	start := len(b)
	b = append(b, "000000"[:n]...)
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// utf8BOM may start the MSG part of a line; Parse drops it.
const utf8BOM = "\xef\xbb\xbf"

// Format renders e as one RFC 5424 line without a trailing newline. Decky, Service,
// Type and ID are required; Decky, Service and Type must be printable US-ASCII
// without spaces (at most 255, 48 and 32 bytes) and not "-"; Time must be non-zero
// with a UTC year between 0 and 9999 and is written with microsecond precision
// (finer digits are dropped); AttackerPort must be 0 (unknown, not written) or
// 1–65535; Fields keys must be RFC 5424 SD-NAMEs (1–32 printable US-ASCII bytes other
// than '=', ' ', ']' and '"') and must not be event_id, src_ip or src_port. Values
// and Msg may hold any bytes. The line is at most MaxLine bytes.
//
// The line is
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [decnet@55555 event_id="…" src_ip="…" src_port="…" k="v" …] MSG
//
// with src_ip omitted when AttackerIP is "", src_port when AttackerPort is 0, the
// fields sorted by key, and " MSG" omitted when Msg is "". PRI is e.Priority().
//
// Escaping (one rule, shared by Format, Parse and SafeTerminal):
//
//   - `\` is always written as `\\`, so a backslash on the wire always starts an escape.
//   - Every byte that is a C0 control (0x00–0x1F) or DEL (0x7F), every byte that is not
//     part of valid UTF-8, and every byte of the UTF-8 encoding of a C1 control
//     (U+0080–U+009F), a line or paragraph separator (U+2028, U+2029), a byte-order
//     mark (U+FEFF) or a bidirectional control (U+061C, U+200E, U+200F, U+202A–U+202E,
//     U+2066–U+2069) is written as `\xHH` (two lowercase hex digits). A line is
//     therefore always one line of valid UTF-8, and printing it cannot drive a terminal.
//   - In SD-PARAM values (event_id, src_ip, src_port and every field) `"` and `]` are
//     also escaped, as `\"` and `\]`, as RFC 5424 requires. In MSG they are written as
//     they are.
//
// Parse decodes values and MSG with the same function: `\\` → `\`, `\"` → `"`,
// `\]` → `]`, `\xHH` (hex digits in either case) → the byte 0xHH; a backslash followed
// by anything else is kept together with that character, as RFC 5424 says for
// unknown escapes (`\n` stays the two characters `\n`). Because Format never writes a
// lone backslash, Parse(Format(e)) reproduces every byte of every value and of MSG.
// Since escaping can grow a value up to four times, binary payloads belong in base64
// `*_b64` fields.
func Format(e Event) ([]byte, error) {
	return AppendFormat(nil, e)
}

// AppendFormat is Format appending to dst, for emitters that reuse a buffer. On error
// dst is returned unchanged.
func AppendFormat(dst []byte, e Event) ([]byte, error) {
	if err := checkHeader("decky (HOSTNAME)", e.Decky, maxHostname); err != nil {
		return dst, err
	}
	if err := checkHeader("service (APP-NAME)", e.Service, maxAppName); err != nil {
		return dst, err
	}
	if err := checkHeader("event type (MSGID)", e.Type, maxMsgID); err != nil {
		return dst, err
	}
	if e.ID == "" {
		return dst, fmt.Errorf("event: event ID is empty")
	}
	if e.Time.IsZero() {
		return dst, fmt.Errorf("event: timestamp is the zero time")
	}
	t := e.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("event: timestamp year %d is outside 0–9999", y)
	}
	if e.AttackerPort < 0 || e.AttackerPort > 65535 {
		return dst, fmt.Errorf("event: attacker port %d is outside 0–65535", e.AttackerPort)
	}
	// The fields sorted by name, with their values (no lookup per name after the
	// sort), on the stack for up to 16; whether one makes a credential event (no
	// lookup per secret name for Priority).
	var stack [16]field
	fields, credential := stack[:0], false
	for k, v := range e.Fields {
		if err := checkFieldName(k); err != nil {
			return dst, err
		}
		fields = append(fields, field{k, v})
		credential = credential || slices.Contains(secretFields, k)
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.k, b.k) })

	start := len(dst)
	b := dst
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(priority(e.Type, credential)), 10)
	b = append(b, ">1 "...)
	b = appendTime(b, t)
	b = append(b, ' ')
	b = append(b, e.Decky...)
	b = append(b, ' ')
	b = append(b, e.Service...)
	b = append(b, " - "...)
	b = append(b, e.Type...)
	b = append(b, " ["+SDID...)
	b = appendParam(b, paramID, e.ID)
	if e.AttackerIP != "" {
		b = appendParam(b, paramIP, e.AttackerIP)
	}
	if e.AttackerPort != 0 {
		b = append(b, " "+paramPort+`="`...)
		b = strconv.AppendInt(b, int64(e.AttackerPort), 10)
		b = append(b, '"')
	}
	for _, f := range fields {
		b = appendParam(b, f.k, f.v)
	}
	b = append(b, ']')
	if e.Msg != "" {
		b = append(b, ' ')
		b = appendEscaped(b, e.Msg, false)
	}
	if n := len(b) - start; n > MaxLine {
		return dst, fmt.Errorf("event: formatted line is %d bytes, over the %d-byte limit", n, MaxLine)
	}
	return b, nil
}

// field is one of an event's fields.
type field struct{ k, v string }

// SafeTerminal returns s with the codec's MSG escaping applied (see Format): backslash as `\\`; control characters, invalid UTF-8, C1 controls, line
// and paragraph separators, byte-order marks and bidirectional controls as `\xHH`.
// The result is one line of text that is safe to print to a terminal, and distinct
// inputs give distinct outputs. Printable text, including non-ASCII letters and
// emoji, is unchanged.
func SafeTerminal(s string) string {
	if !needsEscape(s, false) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+16), s, false))
}

func checkHeader(what, v string, max int) error {
	switch {
	case v == "":
		return fmt.Errorf("event: %s is empty", what)
	case v == "-":
		return fmt.Errorf(`event: %s is "-", which syslog reads as no value`, what)
	case len(v) > max:
		return fmt.Errorf("event: %s is %d bytes, over the %d-byte limit", what, len(v), max)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < '!' || c > '~' {
			return fmt.Errorf("event: %s %q has byte 0x%02x at offset %d; only printable US-ASCII without spaces is allowed", what, v, c, i)
		}
	}
	return nil
}

func checkFieldName(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("event: field name is empty")
	case len(k) > maxSDName:
		return fmt.Errorf("event: field name %q is %d bytes, over the %d-byte limit", k, len(k), maxSDName)
	case k == paramID || k == paramIP || k == paramPort:
		return fmt.Errorf("event: field name %q is reserved for the event's own %s", k, k)
	}
	for i := 0; i < len(k); i++ {
		if !isSDNameByte(k[i]) {
			return fmt.Errorf("event: field name %q has byte 0x%02x at offset %d; an SD-NAME is printable US-ASCII without '=', ' ', ']' or '\"'", k, k[i], i)
		}
	}
	return nil
}

func isSDNameByte(c byte) bool {
	return c >= '!' && c <= '~' && c != '=' && c != ']' && c != '"'
}

func appendParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// escapedRune reports whether a valid, multi-byte rune is written as \xHH bytes.
func escapedRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r == 0xfeff: // byte-order mark / zero-width no-break space
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi controls
		return true
	}
	return false
}

// needsEscape reports whether appendEscaped would change s.
func needsEscape(s string, sd bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '\\' || (sd && (c == '"' || c == ']')) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || escapedRune(r) {
			return true
		}
		i += size
	}
	return false
}

// appendEscaped appends s escaped as described on Format; sd selects
// SD-PARAM-VALUE escaping (also `"` and `]`).
func appendEscaped(dst []byte, s string, sd bool) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20 || c == 0x7f:
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
				i++
				start = i
			case c == '\\' || (sd && (c == '"' || c == ']')):
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', c)
				i++
				start = i
			default:
				i++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || escapedRune(r) {
			dst = append(dst, s[start:i]...)
			for j := i; j < i+size; j++ {
				dst = append(dst, '\\', 'x', hex[s[j]>>4], hex[s[j]&0xf])
			}
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
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

// unescape decodes an escaped value or MSG (see Format).
func unescape(b []byte) string {
	i := bytes.IndexByte(b, '\\')
	if i < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i >= 0 {
		out = append(out, b[:i]...)
		b = b[i:] // b[0] == '\\'
		switch {
		case len(b) >= 2 && (b[1] == '\\' || b[1] == '"' || b[1] == ']'):
			out = append(out, b[1])
			b = b[2:]
		case len(b) >= 4 && b[1] == 'x':
			hi, ok1 := unhex(b[2])
			lo, ok2 := unhex(b[3])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				b = b[4:]
			} else {
				out = append(out, '\\')
				b = b[1:]
			}
		default: // unknown escape: keep the backslash; the next byte is read as itself
			out = append(out, '\\')
			b = b[1:]
		}
		i = bytes.IndexByte(b, '\\')
	}
	return string(append(out, b...))
}

// SyntaxError reports a line that is not a valid event line. Offset is the byte
// offset in the line where the problem was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("event: %s at byte %d", e.Msg, e.Offset)
}

// Parse reads one event line as written by Format, and lines written by DECNET
// (Python) with SD-ID relay@55555. It accepts:
//
//   - a trailing "\n" or "\r\n" (no other CR or LF anywhere);
//   - PRI 0–191 (it is not kept: Event.Priority derives it), VERSION 1, any PROCID;
//   - TIMESTAMP in RFC 3339 with any number of fractional digits and any offset,
//     converted to UTC (Format later keeps microseconds);
//   - structured data that is either NILVALUE "-" (no parameters) or exactly one
//     element decnet@55555 or relay@55555; params are strict RFC 5424
//     (`name="value"`, one space apart) and a name may appear only once;
//   - an optional UTF-8 BOM at the start of MSG, which is dropped.
//
// event_id becomes ID, src_ip AttackerIP, src_port AttackerPort (decimal 0–65535),
// and every other param goes to Fields, which is never nil. A line without event_id
// (DECNET's legacy lines) parses with ID ""; the caller decides whether to assign one
// or reject the line. Raw bytes in values and MSG (including invalid UTF-8) are kept
// as they are. Decky, Service and Type are required (a "-" there is an error), and
// every Event Parse returns, given an ID, is accepted by Format. Lines longer than
// MaxLine are rejected. Errors are *SyntaxError.
func Parse(line []byte) (Event, error) {
	if bytes.HasSuffix(line, []byte("\r\n")) {
		line = line[:len(line)-2]
	} else if bytes.HasSuffix(line, []byte("\n")) {
		line = line[:len(line)-1]
	}
	if len(line) > MaxLine {
		return Event{}, &SyntaxError{Offset: MaxLine, Msg: fmt.Sprintf("line is %d bytes, over the %d-byte limit", len(line), MaxLine)}
	}
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		return Event{}, &SyntaxError{Offset: i, Msg: "raw line break inside the line"}
	}
	p := parser{b: line}
	e, err := p.parse()
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) errf(at int, format string, args ...any) error {
	return &SyntaxError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (Event, error) {
	var e Event
	if err := p.pri(); err != nil {
		return e, err
	}
	if !bytes.HasPrefix(p.b[p.i:], []byte("1 ")) {
		return e, p.errf(p.i, "bad VERSION (want 1 followed by a space)")
	}
	p.i += 2

	ts, at, err := p.token("TIMESTAMP", 64)
	if err != nil {
		return e, err
	}
	if e.Time, err = parseTimestamp(ts); err != nil {
		return e, p.errf(at, "bad TIMESTAMP: %v", err)
	}
	if e.Decky, err = p.header("HOSTNAME (decky)", maxHostname); err != nil {
		return e, err
	}
	if e.Service, err = p.header("APP-NAME (service)", maxAppName); err != nil {
		return e, err
	}
	if _, _, err = p.token("PROCID", maxProcID); err != nil {
		return e, err
	}
	if e.Type, err = p.header("MSGID (event type)", maxMsgID); err != nil {
		return e, err
	}

	e.Fields = map[string]string{}
	if err := p.structuredData(&e); err != nil {
		return e, err
	}

	switch {
	case p.i == len(p.b):
	case p.b[p.i] == ' ':
		msg := p.b[p.i+1:]
		msg = bytes.TrimPrefix(msg, []byte(utf8BOM))
		e.Msg = unescape(msg)
	case p.b[p.i] == '[':
		return e, p.errf(p.i, "more than one structured-data element")
	default:
		return e, p.errf(p.i, "want a space or the end of the line after the structured data")
	}
	return e, nil
}

func (p *parser) pri() error {
	b := p.b
	if len(b) == 0 || b[0] != '<' {
		return p.errf(0, `bad PRI (want "<")`)
	}
	n, v := 0, 0
	for n < 3 && 1+n < len(b) && b[1+n] >= '0' && b[1+n] <= '9' {
		v = v*10 + int(b[1+n]-'0')
		n++
	}
	switch {
	case n == 0:
		return p.errf(1, "bad PRI (want 1-3 digits)")
	case 1+n >= len(b) || b[1+n] != '>':
		return p.errf(1+n, `bad PRI (want ">" after at most 3 digits)`)
	case n > 1 && b[1] == '0':
		return p.errf(1, "bad PRI (leading zero)")
	case v > 191:
		return p.errf(1, "bad PRI %d (want 0-191)", v)
	}
	p.i = n + 2
	return nil
}

// token reads a header field of 1..max printable US-ASCII bytes and the space after it.
func (p *parser) token(name string, max int) (tok []byte, at int, err error) {
	at = p.i
	end := at
	for end < len(p.b) && p.b[end] != ' ' {
		if c := p.b[end]; c < '!' || c > '~' {
			return nil, at, p.errf(end, "bad %s (byte 0x%02x is not printable US-ASCII)", name, c)
		}
		end++
	}
	switch {
	case end == len(p.b):
		return nil, at, p.errf(end, "line ends inside the header (in or before %s)", name)
	case end == at:
		return nil, at, p.errf(at, "empty %s (want one space between header fields)", name)
	case end-at > max:
		return nil, at, p.errf(at, "%s is %d bytes, over the %d-byte limit", name, end-at, max)
	}
	p.i = end + 1
	return p.b[at:end], at, nil
}

// header reads a required header field (NILVALUE "-" is an error).
func (p *parser) header(name string, max int) (string, error) {
	tok, at, err := p.token(name, max)
	if err != nil {
		return "", err
	}
	if len(tok) == 1 && tok[0] == '-' {
		return "", p.errf(at, "missing %s (NILVALUE)", name)
	}
	return string(tok), nil
}

// parseTimestamp checks the RFC 3339 shape strictly (time.Parse alone accepts a comma
// before the fraction and offsets like +24:00) and converts to UTC.
func parseTimestamp(ts []byte) (time.Time, error) {
	if len(ts) == 1 && ts[0] == '-' {
		return time.Time{}, fmt.Errorf("NILVALUE, an event needs a time")
	}
	const shape = "dddd-dd-ddTdd:dd:dd"
	bad := func() error { return fmt.Errorf("want RFC 3339 like 2006-01-02T15:04:05.000000Z, got %q", ts) }
	if len(ts) < len(shape) {
		return time.Time{}, bad()
	}
	for i := 0; i < len(shape); i++ {
		if shape[i] == 'd' && !isDigit(ts[i]) || shape[i] != 'd' && ts[i] != shape[i] {
			return time.Time{}, bad()
		}
	}
	rest := ts[len(shape):]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return time.Time{}, bad()
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && isDigit(rest[1]) && isDigit(rest[2]) &&
		rest[3] == ':' && isDigit(rest[4]) && isDigit(rest[5]):
		if rest[1] > '2' || rest[1] == '2' && rest[2] > '3' || rest[4] > '5' {
			return time.Time{}, fmt.Errorf("offset %s is out of range", rest)
		}
	default:
		return time.Time{}, bad()
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("year %d in UTC is outside 0–9999", y)
	}
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("the zero time")
	}
	return t, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) structuredData(e *Event) error {
	if p.i == len(p.b) {
		return p.errf(p.i, "line ends before the structured data")
	}
	if p.b[p.i] == '-' {
		p.i++
		return nil
	}
	if p.b[p.i] != '[' {
		return p.errf(p.i, `bad structured data (want "[" or "-")`)
	}
	p.i++
	at := p.i
	id := p.sdName()
	if string(id) != SDID && string(id) != LegacySDID {
		if len(id) == 0 {
			return p.errf(at, "empty SD-ID")
		}
		return p.errf(at, "unknown SD-ID %q (want %s or %s)", clip(id), SDID, LegacySDID)
	}
	var haveID, haveIP, havePort bool
	for {
		if p.i == len(p.b) {
			return p.errf(p.i, `line ends inside the structured data (want "]")`)
		}
		switch p.b[p.i] {
		case ']':
			p.i++
			return nil
		case ' ':
			p.i++
		default:
			return p.errf(p.i, `bad structured data (want a space or "]" after the SD-ID or a param)`)
		}
		at := p.i
		name := p.sdName()
		switch {
		case len(name) == 0:
			return p.errf(at, "empty param name")
		case len(name) > maxSDName:
			return p.errf(at, "param name is %d bytes, over the %d-byte limit", len(name), maxSDName)
		case p.i+1 >= len(p.b) || p.b[p.i] != '=' || p.b[p.i+1] != '"':
			return p.errf(p.i, `bad param %q (want ="value")`, clip(name))
		}
		p.i += 2
		value, err := p.value(at)
		if err != nil {
			return err
		}
		dup := false
		switch string(name) {
		case paramID:
			dup, haveID = haveID, true
			e.ID = value
		case paramIP:
			dup, haveIP = haveIP, true
			e.AttackerIP = value
		case paramPort:
			dup, havePort = havePort, true
			port, ok := parsePort(value)
			if !ok {
				return p.errf(at, "bad src_port %q (want a decimal number 0-65535)", clip([]byte(value)))
			}
			e.AttackerPort = port
		default:
			if _, dup = e.Fields[string(name)]; !dup {
				e.Fields[string(name)] = value
			}
		}
		if dup {
			return p.errf(at, "duplicate param %q", name)
		}
	}
}

// sdName reads SD-NAME bytes (printable US-ASCII except '=', ' ', ']', '"').
func (p *parser) sdName() []byte {
	start := p.i
	for p.i < len(p.b) && isSDNameByte(p.b[p.i]) {
		p.i++
	}
	return p.b[start:p.i]
}

// value reads an escaped param value up to its closing quote; p.i is just past the
// opening quote. paramAt is the param's offset, for errors.
func (p *parser) value(paramAt int) (string, error) {
	start := p.i
	for {
		j := bytes.IndexAny(p.b[p.i:], `\"`)
		if j < 0 {
			return "", p.errf(paramAt, "unterminated param value")
		}
		p.i += j
		if p.b[p.i] == '"' {
			v := unescape(p.b[start:p.i])
			p.i++
			return v, nil
		}
		p.i += 2 // a backslash and the byte it escapes
		if p.i > len(p.b) {
			return "", p.errf(paramAt, "unterminated param value")
		}
	}
}

func parsePort(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, v <= 65535
}

// clip shortens attacker-controlled bytes quoted in an error message.
func clip(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
