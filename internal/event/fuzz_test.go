package event

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// headerSafe maps arbitrary bytes onto a valid header field of at most max bytes
// (printable US-ASCII without spaces, not "-", never empty).
func headerSafe(s string, max int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		b = append(b, '!'+s[i]%94)
	}
	if len(b) == 0 || string(b) == "-" {
		b = append(b, 'x')
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}

// nameSafe maps arbitrary bytes onto a valid Fields key.
func nameSafe(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < maxSDName; i++ {
		c := '!' + s[i]%94
		if !isSDNameByte(c) {
			c = '_'
		}
		b = append(b, c)
	}
	k := string(b)
	if k == "" || k == paramID || k == paramIP || k == paramPort {
		k = "k" + k
	}
	if len(k) > maxSDName {
		k = k[:maxSDName]
	}
	return k
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("decky-01", "ssh", "auth", "0190f5c2-7a3b-7c4d-8e5f-0123456789ab", "192.168.1.5", uint16(51234), int64(1777701625453826000), "password", []byte(`to"or]\`), []byte("login failed"))
	f.Add("d", "s", "-", "i", "", uint16(0), int64(0), "k", []byte(""), []byte(""))
	for _, h := range hostile {
		f.Add("decky", "http", "request", h.v, h.v, uint16(80), int64(1), h.name, []byte(h.v), []byte(h.v))
	}
	f.Fuzz(func(t *testing.T, decky, service, typ, id, ip string, port uint16, nanos int64, key string, value, msg []byte) {
		e := Event{
			ID:           id,
			Time:         time.Unix(0, nanos),
			Decky:        headerSafe(decky, maxHostname),
			Service:      headerSafe(service, maxAppName),
			Type:         headerSafe(typ, maxMsgID),
			AttackerIP:   ip,
			AttackerPort: int(port),
			Fields:       map[string]string{nameSafe(key): string(value), "after": "tail"},
			Msg:          string(msg),
		}
		if e.ID == "" {
			e.ID = "id"
		}
		if e.Time.IsZero() {
			e.Time = testTime
		}
		line, err := Format(e)
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		if pri := fmt.Sprintf("<%d>1 ", e.Priority()); !bytes.HasPrefix(line, []byte(pri)) {
			t.Fatalf("line %q does not start with the event's priority %s", line, pri)
		}
		if bytes.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("line contains a raw line break or NUL: %q", line)
		}
		got, err := Parse(line)
		if err != nil {
			t.Fatalf("Parse(Format(e)): %v\nline: %q", err, line)
		}
		if want := normalize(e); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip changed the event\n got: %#v\nwant: %#v\nline: %q", got, want, line)
		}
	})
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`<132>1 2026-05-02T06:00:25.453826Z decky-01 ssh - auth [decnet@55555 event_id="0190f5c2" src_ip="192.168.1.5" src_port="51234" password="to\"or\]\\" username="root"] login failed`,
		`<134>1 2026-05-02T06:00:25.453826+00:00 omega-decky smtp - disconnect [relay@55555 src_ip="192.168.1.5"]`,
		"<134>1 2024-01-15T12:00:00+00:00 decky-01 sshd 4242 auth - session opened\r\n",
		"<134>1 2026-05-02T06:00:25.1Z d s - t [decnet@55555 event_id=\"i\" v=\"\\x00\\xff\\n\\q\"] \xef\xbb\xbfmsg \\x1b",
		`<134>1 2026-05-02T08:30:25.123456789+02:30 d s - t [decnet@55555]`,
		`<134>1 9999-12-31T23:00:00-05:00 d s - t -`,
		`<0>1 0000-01-01T00:00:00+01:00 d s - t -`,
		"<191>1 2026-05-02T06:00:25Z d s - t [decnet@55555 a=\"]\" b=\"\xff\t\"] ]\"[",
		`<134>1 2026-05-02T06:00:25Z d s - t [decnet@55555 src_port="080"]`,
		"",
		"<",
		`<134>1 2026-05-02T06:00:25Z d s - t [decnet@55555 a="1" a="2"]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Parse(line)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error is %T, want *SyntaxError: %v", err, err)
			}
			return
		}
		if e.Fields == nil {
			t.Fatal("Parse returned nil Fields")
		}
		if e.ID == "" { // legacy line: the caller assigns an ID
			e.ID = "assigned"
		}
		out, err := Format(e)
		if err != nil {
			t.Fatalf("Format of a parsed event: %v\nline: %q\nevent: %#v", err, line, e)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(line))): %v\nline: %q\nformatted: %q", err, line, out)
		}
		if want := normalize(e); !reflect.DeepEqual(again, want) {
			t.Fatalf("second parse differs\n got: %#v\nwant: %#v\nline: %q\nformatted: %q", again, want, line, out)
		}
		out2, err := Format(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Format is not stable: %v\n%q\n%q", err, out, out2)
		}
	})
}
