package service

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckUsers(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{"root:123456,admin:admin", ""},
		{"root:", ""},         // empty password
		{"root:pa:ss", ""},    // the first colon splits
		{"", ""},              // no users at all
		{" a:b , , c:d ", ""}, // List canonical form is trimmed; stray items are skipped
		{"nopair", `"nopair" is not a user:password pair`},
		{"root:x,:pw", `":pw" is not a user:password pair`},
	} {
		err := CheckUsers(tc.in)
		if got := errString(err); got != tc.err {
			t.Errorf("CheckUsers(%q) = %q, want %q", tc.in, got, tc.err)
		}
	}
}

func TestUsers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		persona map[string]string
		want    map[string]map[string]bool
	}{
		{"unset uses the default", nil, map[string]map[string]bool{"root": {"toor": true}}},
		{"set but empty means nobody", map[string]string{"users": ""}, map[string]map[string]bool{}},
		{"several passwords per user", map[string]string{"users": "root:a,root:b,admin:x:y,guest:"},
			map[string]map[string]bool{"root": {"a": true, "b": true}, "admin": {"x:y": true}, "guest": {"": true}}},
	} {
		rt := &Runtime{Config: Config{Persona: tc.persona}}
		if got := Users(rt, "users", "root:toor"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Users = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIntRange(t *testing.T) {
	check := IntRange(1, 100)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1", true}, {"100", true}, {"6", true},
		{"0", false}, {"101", false}, {"-5", false}, {"six", false}, {"", false},
	} {
		err := check(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("IntRange(1, 100)(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && err.Error() != `"`+tc.in+`" must be between 1 and 100` {
			t.Errorf("IntRange(1, 100)(%q) error %q", tc.in, err)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"example.com", true}, {"corp-1.local", true}, {"localdomain", true}, {"EXAMPLE.COM", true},
		{strings.Repeat("a", 63) + ".com", true},
		{"", false}, {"a..b", false}, {".com", false}, {"com.", false}, {"ex ample.com", false},
		{"exa_mple.com", false}, {"ex\x00.com", false},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 127), false},           // 254 bytes, and ends in an empty label
		{strings.Repeat("abc.", 63) + "a", true},     // 253 bytes
		{strings.Repeat("abc.", 63) + "abcd", false}, // 256 bytes
	} {
		if err := CheckDomain(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckDomain(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
