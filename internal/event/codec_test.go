package event

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testTime = time.Date(2026, 5, 2, 6, 0, 25, 453826000, time.UTC)

func baseEvent() Event {
	return Event{
		ID:           "0190f5c2-7a3b-7c4d-8e5f-0123456789ab",
		Time:         testTime,
		Decky:        "decky-01",
		Service:      "ssh",
		Type:         Auth,
		AttackerIP:   "192.168.1.5",
		AttackerPort: 51234,
		Fields:       map[string]string{"username": "root", "password": `to"or]\`, "outcome": "failure"},
		Msg:          "login failed",
	}
}

// normalize is what a Format → Parse round trip is expected to do to an event:
// time in UTC at microsecond precision, Fields never nil.
func normalize(e Event) Event {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	return e
}

func roundTrip(t *testing.T, e Event) []byte {
	t.Helper()
	line, err := Format(e)
	if err != nil {
		t.Fatalf("Format: %v", err)
	}
	got, err := Parse(line)
	if err != nil {
		t.Fatalf("Parse(Format(e)): %v\nline: %q", err, clipLine(line))
	}
	if want := normalize(e); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the event\n got: %#v\nwant: %#v\nline: %q", got, want, clipLine(line))
	}
	return line
}

func clipLine(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// checkOneSafeLine asserts the wire form is one line of valid UTF-8 with no control bytes.
func checkOneSafeLine(t *testing.T, line []byte) {
	t.Helper()
	if !utf8.Valid(line) {
		t.Errorf("line is not valid UTF-8: %q", clipLine(line))
	}
	for i, c := range line {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("line has control byte 0x%02x at %d: %q", c, i, clipLine(line))
		}
	}
	for _, bad := range []string{"\u2028", "\u2029", "\u0085", "\u202e", "\ufeff"} {
		if bytes.Contains(line, []byte(bad)) {
			t.Errorf("line contains raw %U", []rune(bad)[0])
		}
	}
}

func TestFormatGolden(t *testing.T) {
	line, err := Format(baseEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := `<132>1 2026-05-02T06:00:25.453826Z decky-01 ssh - auth [decnet@55555 event_id="0190f5c2-7a3b-7c4d-8e5f-0123456789ab" src_ip="192.168.1.5" src_port="51234" outcome="failure" password="to\"or\]\\" username="root"] login failed`
	if string(line) != want {
		t.Fatalf("Format:\n got %s\nwant %s", line, want)
	}
	roundTrip(t, baseEvent())
}

func TestFormatMinimal(t *testing.T) {
	e := Event{ID: "id1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Decky: "d", Service: "s", Type: Connect}
	line, err := Format(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `<134>1 2026-01-02T02:04:05.000000Z d s - connect [decnet@55555 event_id="id1"]`
	if string(line) != want {
		t.Fatalf("Format:\n got %s\nwant %s", line, want)
	}
	roundTrip(t, e)
}

func TestPriority(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		fields map[string]string
		pri    string
	}{
		{"password field", Auth, map[string]string{"username": "root", "password": "x"}, "<132>"},
		{"secret_b64 field", Auth, map[string]string{"secret_b64": "eA=="}, "<132>"},
		{"alert type", Alert, nil, "<132>"},
		{"plain connect", Connect, nil, "<134>"},
		{"auth without secret", Auth, map[string]string{"username": "root"}, "<134>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Event{ID: "i", Time: testTime, Decky: "d", Service: "s", Type: tt.typ, Fields: tt.fields}
			line, err := Format(e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(line, []byte(tt.pri)) {
				t.Fatalf("line %s does not start with %s", line, tt.pri)
			}
		})
	}
}

// hostile is the corpus every value position must carry byte for byte.
var hostile = []struct{ name, v string }{
	{"close bracket", "]"},
	{"quote", `"`},
	{"backslash", `\`},
	{"escaped bracket", `\]`},
	{"escaped quote", `\"`},
	{"trailing backslash", `abc\`},
	{"literal hex escape", `\x41\xzz\x4`},
	{"literal unknown escape", `\n\t\u0041`},
	{"sd injection", `a" evil="1"] [decnet@55555 x="y`},
	{"newline", "line1\nline2"},
	{"crlf", "a\r\nb"},
	{"cr", "a\rb"},
	{"nul", "a\x00b"},
	{"tab", "a\tb"},
	{"del", "a\x7fb"},
	{"ansi", "\x1b[31mred\x1b[0m"},
	{"osc title", "\x1b]0;pwned\x07"},
	{"invalid utf8", "\xff\xfe"},
	{"truncated utf8", "ab\xc2"},
	{"surrogate", "\xed\xa0\x80"},
	{"overlong slash", "\xc0\xaf"},
	{"c1 NEL", "a\u0085b"},
	{"c1 CSI", "\u009b31m"},
	{"line separator", "x\u2028y\u2029z"},
	{"bom", "\ufeffbom"},
	{"bidi override", "abc\u202edcba"},
	{"emoji", "😀 héllo 日本"},
	{"replacement char", "\ufffd"},
	{"empty", ""},
	{"equals", "a=b==c"},
	{"spaces", "  lead and trail  "},
	{"dash", "-"},
	{"all bytes", allBytes()},
}

func allBytes() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

func TestRoundTripHostile(t *testing.T) {
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			e := baseEvent()
			e.Fields = map[string]string{"value": h.v, "other": "after"}
			e.Msg = h.v
			if h.v != "" {
				e.ID = h.v
				e.AttackerIP = h.v
			}
			line := roundTrip(t, e)
			checkOneSafeLine(t, line)
			// Every field after the hostile one must survive (DECNET lost them after `\]`).
			got, _ := Parse(line)
			if got.Fields["value"] != h.v || got.Fields["other"] != "after" {
				t.Fatalf("fields: %q", got.Fields)
			}
		})
	}
}

func TestRoundTripLargeValue(t *testing.T) {
	// 1 MiB of mixed hostile content in a field and in MSG.
	unit := "A]\"\\é\n\x1b😀=\xff"
	v := strings.Repeat(unit, (1<<20)/len(unit)+1)[:1<<20]
	e := baseEvent()
	e.Fields["big"] = v
	e.Msg = v[:100000]
	line := roundTrip(t, e)
	checkOneSafeLine(t, line)
}

func TestFormatTooLong(t *testing.T) {
	e := baseEvent()
	e.Fields["blob"] = strings.Repeat("\x00", 1<<20) // escapes to 4 MiB: one binary MiB fits
	roundTrip(t, e)
	e.Fields["blob"] = strings.Repeat("\x00", MaxLine/4+1) // escapes past the limit
	_, err := Format(e)
	if err == nil || !strings.Contains(err.Error(), "over the 5242880-byte limit") {
		t.Fatalf("Format of a 5 MiB+ line: err = %v", err)
	}
	e.Fields["blob"] = strings.Repeat("x", MaxLine-1000)
	line := roundTrip(t, e)
	if len(line) > MaxLine {
		t.Fatalf("line is %d bytes", len(line))
	}
}

func TestEscapeWire(t *testing.T) {
	tests := []struct{ in, value, msg string }{
		{`a]b"c\d`, `a\]b\"c\\d`, `a]b"c\\d`},
		{"\n\r\x00\x1b\x7f", `\x0a\x0d\x00\x1b\x7f`, `\x0a\x0d\x00\x1b\x7f`},
		{"\xff\xfe", `\xff\xfe`, `\xff\xfe`},
		{"\u2028\u0085\ufeff\u202e", `\xe2\x80\xa8\xc2\x85\xef\xbb\xbf\xe2\x80\xae`, `\xe2\x80\xa8\xc2\x85\xef\xbb\xbf\xe2\x80\xae`},
		{"héllo 😀 =", "héllo 😀 =", "héllo 😀 ="},
		{`\x41`, `\\x41`, `\\x41`},
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, tt.in, true)); got != tt.value {
			t.Errorf("value escape of %q = %q, want %q", tt.in, got, tt.value)
		}
		if got := string(appendEscaped(nil, tt.in, false)); got != tt.msg {
			t.Errorf("msg escape of %q = %q, want %q", tt.in, got, tt.msg)
		}
		if needsEscape(tt.in, true) != (tt.in != tt.value) {
			t.Errorf("needsEscape(%q, true) disagrees with appendEscaped", tt.in)
		}
		if got := unescape([]byte(tt.value)); got != tt.in {
			t.Errorf("unescape(%q) = %q, want %q", tt.value, got, tt.in)
		}
		if got := unescape([]byte(tt.msg)); got != tt.in {
			t.Errorf("unescape(%q) = %q, want %q", tt.msg, got, tt.in)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, `plain`},
		{`\\`, `\`},
		{`\"\]`, `"]`},
		{`\n`, `\n`},       // unknown escape keeps the backslash (RFC 5424 §6.3.3)
		{`\x`, `\x`},       // too short
		{`\x4`, `\x4`},     // too short
		{`\xzz`, `\xzz`},   // not hex
		{`\x4G`, `\x4G`},   // not hex
		{`\x41\x4a`, `AJ`}, // lowercase and uppercase hex digits
		{`\X41`, `\X41`},   // only lowercase x
		{`a\`, `a\`},       // lone trailing backslash (only in MSG)
		{`\\\x41`, `\A`},
	}
	for _, tt := range tests {
		if got := unescape([]byte(tt.in)); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSafeTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"hello world", "hello world"},
		{"héllo 😀 日本", "héllo 😀 日本"},
		{`C:\Windows`, `C:\\Windows`},
		{`"quoted" [x]`, `"quoted" [x]`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a\nb\r\tc", `a\x0ab\x0d\x09c`},
		{"\xff\xfe", `\xff\xfe`},
		{"\u009b2J", `\xc2\x9b2J`},
		{"x\u2028y", `x\xe2\x80\xa8y`},
		{"evil\u202etxt.exe", `evil\xe2\x80\xaetxt.exe`},
		{"\x00", `\x00`},
	}
	for _, tt := range tests {
		if got := SafeTerminal(tt.in); got != tt.want {
			t.Errorf("SafeTerminal(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := unescape([]byte(SafeTerminal(tt.in))); got != tt.in {
			t.Errorf("SafeTerminal(%q) is not reversible: %q", tt.in, got)
		}
	}
	for _, h := range hostile {
		s := SafeTerminal(h.v)
		checkOneSafeLine(t, []byte(s))
	}
}

func TestParseLegacy(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Event
	}{
		{
			name: "relay SD with python isoformat",
			line: `<134>1 2026-05-02T06:00:25.453826+00:00 omega-decky smtp - disconnect [relay@55555 src_ip="192.168.1.5"]`,
			want: Event{Time: testTime, Decky: "omega-decky", Service: "smtp", Type: "disconnect", AttackerIP: "192.168.1.5", Fields: map[string]string{}},
		},
		{
			name: "relay SD with fields, msg and no fraction",
			line: `<134>1 2026-04-14T12:00:00Z decky-01 ssh - login_attempt [relay@55555 src_ip="10.0.0.1" username="root" password="to\"or\]"] Failed login`,
			want: Event{Time: time.Date(2026, 4, 14, 12, 0, 0, 0, time.UTC), Decky: "decky-01", Service: "ssh", Type: "login_attempt",
				AttackerIP: "10.0.0.1", Fields: map[string]string{"username": "root", "password": `to"or]`}, Msg: "Failed login"},
		},
		{
			name: "NILVALUE SD, real PROCID, msg",
			line: "<86>1 2024-01-15T12:00:00+00:00 decky-01 sshd 4242 auth - session opened\n",
			want: Event{Time: time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC), Decky: "decky-01", Service: "sshd", Type: "auth", Fields: map[string]string{}, Msg: "session opened"},
		},
		{
			name: "NILVALUE SD, no msg",
			line: "<134>1 2024-01-15T12:00:00+00:00 decky-01 http - request -\r\n",
			want: Event{Time: time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC), Decky: "decky-01", Service: "http", Type: "request", Fields: map[string]string{}},
		},
		{
			name: "raw tab, invalid UTF-8 and unescaped ] inside a legacy value",
			line: "<134>1 2024-01-15T12:00:00+00:00 d http - request [relay@55555 path=\"/a]b\t\xff\\n\" src_port=\"080\"] C:\\Users\\x",
			want: Event{Time: time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC), Decky: "d", Service: "http", Type: "request", AttackerPort: 80,
				Fields: map[string]string{"path": "/a]b\t\xff\\n"}, Msg: `C:\Users\x`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse:\n got %#v\nwant %#v", got, tt.want)
			}
			// A legacy event, given an ID, is a valid new-format event.
			got.ID = "assigned"
			roundTrip(t, got)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	const head = `<134>1 2026-05-02T06:00:25.453826Z d s - connect `
	tests := []struct {
		name string
		line string
		want func(*Event)
	}{
		{"LF terminator", head + `[decnet@55555 event_id="i"]` + "\n", func(e *Event) {}},
		{"CRLF terminator", head + `[decnet@55555 event_id="i"]` + "\r\n", func(e *Event) {}},
		{"empty SD element", head + `[decnet@55555]`, func(e *Event) { e.ID = "" }},
		{"BOM before msg", head + `[decnet@55555 event_id="i"] ` + utf8BOM + `hi`, func(e *Event) { e.Msg = "hi" }},
		{"escaped BOM is kept", head + `[decnet@55555 event_id="i"] \xef\xbb\xbfhi`, func(e *Event) { e.Msg = utf8BOM + "hi" }},
		{"space then empty msg", head + `[decnet@55555 event_id="i"] `, func(e *Event) {}},
		{"msg with quotes and brackets", head + `[decnet@55555 event_id="i"] a "b" ] [c]`, func(e *Event) { e.Msg = `a "b" ] [c]` }},
		{"unknown escape kept", head + `[decnet@55555 event_id="i" cmd="echo \n\q"]`, func(e *Event) { e.Fields["cmd"] = `echo \n\q` }},
		{"hex escapes", head + `[decnet@55555 event_id="i" v="\x00\x0A\xFF"]`, func(e *Event) { e.Fields["v"] = "\x00\n\xff" }},
		{"empty value", head + `[decnet@55555 event_id="i" v=""]`, func(e *Event) { e.Fields["v"] = "" }},
		{"src_port 0 means unknown", head + `[decnet@55555 event_id="i" src_port="0"]`, func(e *Event) {}},
		{"src_port max", head + `[decnet@55555 event_id="i" src_port="65535"]`, func(e *Event) { e.AttackerPort = 65535 }},
		{"one fractional digit", `<134>1 2026-05-02T06:00:25.4Z d s - connect [decnet@55555 event_id="i"]`,
			func(e *Event) { e.Time = time.Date(2026, 5, 2, 6, 0, 25, 400000000, time.UTC) }},
		{"nine fractional digits", `<134>1 2026-05-02T06:00:25.123456789Z d s - connect [decnet@55555 event_id="i"]`,
			func(e *Event) { e.Time = time.Date(2026, 5, 2, 6, 0, 25, 123456789, time.UTC) }},
		{"offset converted to UTC", `<134>1 2026-05-02T08:30:25.453826+02:30 d s - connect [decnet@55555 event_id="i"]`, func(e *Event) {}},
		{"PRI 0", `<0>1 2026-05-02T06:00:25.453826Z d s - connect [decnet@55555 event_id="i"]`, func(e *Event) {}},
		{"PRI 191", `<191>1 2026-05-02T06:00:25.453826Z d s - connect [decnet@55555 event_id="i"]`, func(e *Event) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := Event{ID: "i", Time: testTime, Decky: "d", Service: "s", Type: "connect", Fields: map[string]string{}}
			tt.want(&want)
			got, err := Parse([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const ts = "2026-05-02T06:00:25.453826Z"
	const sd = `[decnet@55555 event_id="i"]`
	tests := []struct {
		name, line, msg string
		offset          int
	}{
		{"empty", "", "bad PRI", 0},
		{"garbage", "random garbage", "bad PRI", 0},
		{"no digits", "<>1 " + ts + " d s - t " + sd, "bad PRI", 1},
		{"PRI too big", "<192>1 " + ts + " d s - t " + sd, "bad PRI 192", 1},
		{"PRI four digits", "<1340>1 " + ts + " d s - t " + sd, "bad PRI", 4},
		{"PRI leading zero", "<034>1 " + ts + " d s - t " + sd, "leading zero", 1},
		{"version 2", "<134>2 " + ts + " d s - t " + sd, "bad VERSION", 5},
		{"double space", "<134>1  " + ts + " d s - t " + sd, "empty TIMESTAMP", 7},
		{"nil timestamp", "<134>1 - d s - t " + sd, "NILVALUE", 7},
		{"lowercase t", "<134>1 2026-05-02t06:00:25Z d s - t " + sd, "bad TIMESTAMP", 7},
		{"comma fraction", "<134>1 2026-05-02T06:00:25,1Z d s - t " + sd, "bad TIMESTAMP", 7},
		{"empty fraction", "<134>1 2026-05-02T06:00:25.Z d s - t " + sd, "bad TIMESTAMP", 7},
		{"no zone", "<134>1 2026-05-02T06:00:25 d s - t " + sd, "bad TIMESTAMP", 7},
		{"offset 24h", "<134>1 2026-05-02T06:00:25+24:00 d s - t " + sd, "out of range", 7},
		{"day 30 feb", "<134>1 2026-02-30T06:00:25Z d s - t " + sd, "bad TIMESTAMP", 7},
		{"year 10000 in UTC", "<134>1 9999-12-31T23:00:00-05:00 d s - t " + sd, "outside 0–9999", 7},
		{"zero time", "<134>1 0001-01-01T00:00:00Z d s - t " + sd, "zero time", 7},
		{"nil hostname", "<134>1 " + ts + " - s - t " + sd, "missing HOSTNAME", 35},
		{"nil appname", "<134>1 " + ts + " d - - t " + sd, "missing APP-NAME", 37},
		{"nil msgid", "<134>1 " + ts + " d s - - " + sd, "missing MSGID", 41},
		{"long msgid", "<134>1 " + ts + " d s - " + strings.Repeat("m", 33) + " " + sd, "over the 32-byte limit", 41},
		{"long appname", "<134>1 " + ts + " d " + strings.Repeat("a", 49) + " - t " + sd, "over the 48-byte limit", 37},
		{"non-ascii hostname", "<134>1 " + ts + " dé s - t " + sd, "not printable", 36},
		{"header ends", "<134>1 " + ts + " d s -", "line ends inside the header", 40},
		{"no SD", "<134>1 " + ts + " d s - t ", "line ends before the structured data", 43},
		{"bad SD start", "<134>1 " + ts + " d s - t x", `want "[" or "-"`, 43},
		{"other SD-ID", "<134>1 " + ts + " d s - t [timeQuality tzKnown=\"1\"]", "unknown SD-ID", 44},
		{"empty SD-ID", "<134>1 " + ts + " d s - t []", "empty SD-ID", 44},
		{"two elements", "<134>1 " + ts + " d s - t " + sd + "[decnet@55555 x=\"1\"]", "more than one", 70},
		{"no space before msg", "<134>1 " + ts + " d s - t " + sd + "msg", "want a space", 70},
		{"nil SD then junk", "<134>1 " + ts + " d s - t -x", "want a space", 44},
		{"unterminated SD", "<134>1 " + ts + " d s - t [decnet@55555 event_id=\"i\"", "line ends inside the structured data", 69},
		{"unterminated value", "<134>1 " + ts + " d s - t [decnet@55555 event_id=\"i]", "unterminated param value", 57},
		{"value ends in backslash", "<134>1 " + ts + " d s - t [decnet@55555 event_id=\"i\\", "unterminated param value", 57},
		{"trailing space in SD", "<134>1 " + ts + " d s - t [decnet@55555 event_id=\"i\" ]", "empty param name", 70},
		{"two spaces", "<134>1 " + ts + " d s - t [decnet@55555  event_id=\"i\"]", "empty param name", 57},
		{"unquoted value", "<134>1 " + ts + " d s - t [decnet@55555 event_id=i]", `want ="value"`, 65},
		{"no space between params", "<134>1 " + ts + " d s - t [decnet@55555 a=\"1\"b=\"2\"]", "want a space", 62},
		{"long param name", "<134>1 " + ts + " d s - t [decnet@55555 " + strings.Repeat("k", 33) + "=\"1\"]", "over the 32-byte limit", 57},
		{"duplicate field", "<134>1 " + ts + " d s - t [decnet@55555 a=\"1\" a=\"2\"]", `duplicate param "a"`, 63},
		{"duplicate event_id", "<134>1 " + ts + " d s - t [decnet@55555 event_id=\"1\" event_id=\"2\"]", "duplicate param", 70},
		{"duplicate src_ip", "<134>1 " + ts + " d s - t [decnet@55555 src_ip=\"1\" src_ip=\"1\"]", "duplicate param", 68},
		{"non-numeric port", "<134>1 " + ts + " d s - t [decnet@55555 src_port=\"22a\"]", "bad src_port", 57},
		{"empty port", "<134>1 " + ts + " d s - t [decnet@55555 src_port=\"\"]", "bad src_port", 57},
		{"negative port", "<134>1 " + ts + " d s - t [decnet@55555 src_port=\"-1\"]", "bad src_port", 57},
		{"port too big", "<134>1 " + ts + " d s - t [decnet@55555 src_port=\"65536\"]", "bad src_port", 57},
		{"raw newline inside", "<134>1 " + ts + " d s - t " + sd + " a\nb", "raw line break", 72},
		{"raw CR inside", "<134>1 " + ts + " d s - t " + sd + " a\rb", "raw line break", 72},
		{"lone CR terminator", "<134>1 " + ts + " d s - t " + sd + "\r", "raw line break", 70},
		{"two newlines", "<134>1 " + ts + " d s - t " + sd + "\n\n", "raw line break", 70},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.line))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tt.line, tt.msg)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "event: ") {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if se.Offset != tt.offset {
				t.Errorf("error %q at offset %d, want %d", err, se.Offset, tt.offset)
			}
		})
	}
}

func TestParseMaxLine(t *testing.T) {
	head := `<134>1 2026-05-02T06:00:25.453826Z d s - connect [decnet@55555 event_id="i"] `
	line := []byte(head + strings.Repeat("m", MaxLine-len(head)))
	if _, err := Parse(line); err != nil {
		t.Fatalf("line of exactly MaxLine bytes: %v", err)
	}
	if _, err := Parse(append(line, "\r\n"...)); err != nil {
		t.Fatalf("line of MaxLine bytes plus CRLF: %v", err)
	}
	_, err := Parse(append(line, 'm'))
	if err == nil || !strings.Contains(err.Error(), "over the 5242880-byte limit") {
		t.Fatalf("line of MaxLine+1 bytes: err = %v", err)
	}
}

func TestFormatErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Event)
		msg    string
	}{
		{"empty decky", func(e *Event) { e.Decky = "" }, "decky (HOSTNAME) is empty"},
		{"dash decky", func(e *Event) { e.Decky = "-" }, `decky (HOSTNAME) is "-"`},
		{"space in decky", func(e *Event) { e.Decky = "a b" }, "only printable US-ASCII"},
		{"non-ascii decky", func(e *Event) { e.Decky = "dé" }, "only printable US-ASCII"},
		{"long decky", func(e *Event) { e.Decky = strings.Repeat("d", 256) }, "over the 255-byte limit"},
		{"empty service", func(e *Event) { e.Service = "" }, "service (APP-NAME) is empty"},
		{"long service", func(e *Event) { e.Service = strings.Repeat("s", 49) }, "over the 48-byte limit"},
		{"newline in service", func(e *Event) { e.Service = "ss\nh" }, "only printable US-ASCII"},
		{"empty type", func(e *Event) { e.Type = "" }, "event type (MSGID) is empty"},
		{"long type", func(e *Event) { e.Type = strings.Repeat("t", 33) }, "over the 32-byte limit"},
		{"empty ID", func(e *Event) { e.ID = "" }, "event ID is empty"},
		{"zero time", func(e *Event) { e.Time = time.Time{} }, "zero time"},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside 0–9999"},
		{"negative port", func(e *Event) { e.AttackerPort = -1 }, "outside 0–65535"},
		{"port too big", func(e *Event) { e.AttackerPort = 65536 }, "outside 0–65535"},
		{"empty field name", func(e *Event) { e.Fields[""] = "x" }, "field name is empty"},
		{"reserved event_id", func(e *Event) { e.Fields["event_id"] = "x" }, "reserved"},
		{"reserved src_ip", func(e *Event) { e.Fields["src_ip"] = "x" }, "reserved"},
		{"reserved src_port", func(e *Event) { e.Fields["src_port"] = "x" }, "reserved"},
		{"equals in name", func(e *Event) { e.Fields["a=b"] = "x" }, "SD-NAME"},
		{"space in name", func(e *Event) { e.Fields["a b"] = "x" }, "SD-NAME"},
		{"bracket in name", func(e *Event) { e.Fields["a]"] = "x" }, "SD-NAME"},
		{"quote in name", func(e *Event) { e.Fields[`a"`] = "x" }, "SD-NAME"},
		{"non-ascii name", func(e *Event) { e.Fields["ké"] = "x" }, "SD-NAME"},
		{"long name", func(e *Event) { e.Fields[strings.Repeat("k", 33)] = "x" }, "over the 32-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := baseEvent()
			tt.mutate(&e)
			dst := []byte("keep")
			out, err := AppendFormat(dst, e)
			if err == nil {
				t.Fatalf("Format succeeded: %q", out)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "event: ") {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if string(out) != "keep" {
				t.Errorf("AppendFormat changed dst on error: %q", out)
			}
		})
	}
}

func TestFormatLimitsAccepted(t *testing.T) {
	e := baseEvent()
	e.Decky = strings.Repeat("d", 255)
	e.Service = strings.Repeat("s", 48)
	e.Type = strings.Repeat("t", 32)
	e.Fields = map[string]string{strings.Repeat("k", 32): "v", "!#$%&'()*+,-./:;<>?@[\\^_`{|}~": "punct"}
	e.Time = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	e.AttackerPort = 65535
	roundTrip(t, e)
	e.Time = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	e.AttackerPort = 1
	roundTrip(t, e)
}

func TestAppendFormat(t *testing.T) {
	want, err := Format(baseEvent())
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendFormat([]byte("prefix:"), baseEvent())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "prefix:"+string(want) {
		t.Fatalf("AppendFormat = %q", got)
	}
}

func TestFormatFieldOrder(t *testing.T) {
	e := baseEvent()
	e.Fields = map[string]string{"zz": "1", "aa": "2", "mm": "3", "B": "4"}
	line, err := Format(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `event_id="0190f5c2-7a3b-7c4d-8e5f-0123456789ab" src_ip="192.168.1.5" src_port="51234" B="4" aa="2" mm="3" zz="1"]`
	if !bytes.Contains(line, []byte(want)) {
		t.Fatalf("line %s lacks ordered params %s", line, want)
	}
}

func BenchmarkFormat(b *testing.B) {
	e := baseEvent()
	e.Fields["command"] = `cat /etc/passwd | grep "root" ; echo \x41 ]`
	e.Fields["user_agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendFormat(buf[:0], e)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParse(b *testing.B) {
	e := baseEvent()
	e.Fields["command"] = `cat /etc/passwd | grep "root" ; echo \x41 ]`
	e.Fields["user_agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
	line, err := Format(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}

// appendTime writes what the general formatter writes with timeLayout, for any
// UTC time from year 0 to 9999.
func TestAppendTime(t *testing.T) {
	times := []time.Time{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 999, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC)}
	rng := rand.New(rand.NewPCG(5, 7))
	for range 100000 { // any nanosecond of ~146 years, moved by up to 9,000 years
		times = append(times, time.Unix(0, rng.Int64N(1<<62)).UTC().AddDate(rng.IntN(9000)-1000, 0, 0))
	}
	for _, tm := range times {
		if tm.Year() < 0 || tm.Year() > 9999 {
			continue
		}
		want := tm.AppendFormat([]byte("x"), timeLayout)
		if got := appendTime([]byte("x"), tm); string(got) != string(want) {
			t.Fatalf("%v: %q, want %q", tm, got, want)
		}
	}
}

// TestFormatPriority: a line's PRI is the event's Priority: warning for an alert and
// for an event with any secret field, info otherwise.
func TestFormatPriority(t *testing.T) {
	cases := []struct {
		typ    string
		fields map[string]string
		want   int
	}{
		{Auth, map[string]string{"username": "root"}, PriInfo},
		{Alert, nil, PriWarning},
		{Request, map[string]string{"path": "/", "ua": "x", "z": "y"}, PriInfo},
	}
	for _, k := range secretFields {
		cases = append(cases, struct {
			typ    string
			fields map[string]string
			want   int
		}{Auth, map[string]string{"username": "root", k: "x", "zz": "y"}, PriWarning})
	}
	for _, c := range cases {
		e := baseEvent()
		e.Type, e.Fields = c.typ, c.fields
		line, err := Format(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("<%d>1 ", c.want); !strings.HasPrefix(string(line), want) || e.Priority() != c.want {
			t.Errorf("%s event with %v: line %.20q, Priority %d; want %s", c.typ, c.fields, line, e.Priority(), want)
		}
	}
}
