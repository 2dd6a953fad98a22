package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"decnet/internal/store"
)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want store.LogQuery
	}{
		{"", store.LogQuery{}},
		{"   \t\n", store.LogQuery{}},
		{"decky:web-01", store.LogQuery{Decky: "web-01"}},
		{"decky:a service:ssh event:auth attacker:10.0.0.5", store.LogQuery{Decky: "a", Service: "ssh", EventType: "auth", AttackerIP: "10.0.0.5"}},
		{"DECKY:a Event_Type:auth ip:1.2.3.4", store.LogQuery{Decky: "a", EventType: "auth", AttackerIP: "1.2.3.4"}},
		{"src_ip:1.2.3.4", store.LogQuery{AttackerIP: "1.2.3.4"}},
		{"attacker:2001:db8::1", store.LogQuery{AttackerIP: "2001:db8::1"}},
		{"username:root password:toor", store.LogQuery{Fields: map[string]string{"username": "root", "password": "toor"}}},
		{"Username:root", store.LogQuery{Fields: map[string]string{"Username": "root"}}}, // field keys keep their case
		{"username:root username:root", store.LogQuery{Fields: map[string]string{"username": "root"}}},
		{`user_agent:"curl/8.5 (x)"`, store.LogQuery{Fields: map[string]string{"user_agent": "curl/8.5 (x)"}}},
		{`path:/a:b`, store.LogQuery{Fields: map[string]string{"path": "/a:b"}}},
		{`wget`, store.LogQuery{Text: []string{"wget"}}},
		{`"free text" word`, store.LogQuery{Text: []string{"free text", "word"}}},
		{`"2001:db8::1"`, store.LogQuery{Text: []string{"2001:db8::1"}}},
		{`:leading`, store.LogQuery{Text: []string{":leading"}}},
		{`""`, store.LogQuery{}},
		{`"a\"b\\c"`, store.LogQuery{Text: []string{`a"b\c`}}},
		{`"\x1b[31m\xff\n"`, store.LogQuery{Text: []string{"\x1b[31m\xff\\n"}}},
		{`"\xZZ"`, store.LogQuery{Text: []string{`\xZZ`}}},
		{`"]"`, store.LogQuery{Text: []string{"]"}}},
		{`a"b`, store.LogQuery{Text: []string{`a"b`}}},
		{`'; DROP TABLE logs; --`, store.LogQuery{Text: []string{"';", "DROP", "TABLE", "logs;", "--"}}},
		{"100%_done", store.LogQuery{Text: []string{"100%_done"}}},
		{"since:15m", store.LogQuery{Since: now.Add(-15 * time.Minute)}},
		{"since:2h until:1h", store.LogQuery{Since: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)}},
		{"since:7d", store.LogQuery{Since: now.Add(-7 * 24 * time.Hour)}},
		{"since:2w", store.LogQuery{Since: now.Add(-14 * 24 * time.Hour)}},
		{"since:1h30m", store.LogQuery{Since: now.Add(-90 * time.Minute)}},
		{"since:2026-03-01", store.LogQuery{Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{"until:2026-03-14T10:00:00.123456+01:00", store.LogQuery{Until: time.Date(2026, 3, 14, 9, 0, 0, 123456000, time.UTC)}},
		{`decky:"a b" "x"`, store.LogQuery{Decky: "a b", Text: []string{"x"}}},
	}
	for _, c := range cases {
		got, err := ParseAt(c.in, now)
		if err != nil {
			t.Errorf("ParseAt(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAt(%q)\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`"unterminated`, "unterminated quote"},
		{`decky:"x`, "unterminated quote"},
		{`"a"b`, "closing quote"},
		{`decky:`, `"decky:" has no value`},
		{`key:`, `"key:" has no value`},
		{`decky:a decky:b`, "given twice"},
		{`event:a event_type:b`, "given twice"},
		{`user:a user:b`, "two different values"},
		{`since:yesterday`, "RFC 3339"},
		{`since:-5m`, "RFC 3339"},
		{`since:99999999d`, "100 years"},
		{`since:1000000h`, "100 years"},
		{`since:1h until:2h`, "not after"},
		{strings.Repeat("a ", MaxTerms+1), "terms"},
		{strings.Repeat("a", MaxQueryLen+1), "limit"},
	}
	for _, c := range cases {
		_, err := ParseAt(c.in, now)
		var qe *Error
		if err == nil || !errors.As(err, &qe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAt(%.40q) err = %v, want *Error containing %q", c.in, err, c.want)
		}
	}
}

// FuzzParse: the parser never panics, stays within its bounds, and every value it
// returns is a substring-derived piece of bounded size.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"decky:a service:b event:c attacker:1.2.3.4 k:v \"free text\" word",
		`k:"v \" \\ \x41" since:15m until:2026-01-01`, `"`, `a:"`, `::`, `"\x`, "since:1h30m", "\xff:\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseAt(s, now)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Offset < 0 || qe.Offset > max(len(s), MaxQueryLen) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if len(q.Text)+len(q.Fields) > MaxTerms {
			t.Fatalf("%d terms", len(q.Text)+len(q.Fields))
		}
		for _, v := range q.Text {
			if v == "" || len(v) > len(s) {
				t.Fatalf("bad text term %q", v)
			}
		}
		for k, v := range q.Fields {
			if k == "" || v == "" || len(k)+len(v) > len(s) {
				t.Fatalf("bad field %q=%q", k, v)
			}
		}
	})
}
