package smtp

import (
	"reflect"
	"testing"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		arg, kw, addr string
		params        []string
		ok            bool
	}{
		{"FROM:<a@b>", "FROM:", "a@b", nil, true},
		{"from: <a@b> SIZE=10 BODY=8BITMIME", "FROM:", "a@b", []string{"SIZE=10", "BODY=8BITMIME"}, true},
		{"FROM:<>", "FROM:", "", nil, true},
		{"FROM:a@b", "FROM:", "a@b", nil, true},
		{"TO:<@r1,@r2:u@d>", "TO:", "u@d", nil, true},
		{"TO:<a@b", "TO:", "", nil, false},
		{"TO:<a@b>x", "TO:", "", nil, false},
		{"TO:", "TO:", "", nil, false},
		{"FROM <a@b>", "FROM:", "", nil, false},
		{"TO:<a@b>", "FROM:", "", nil, false},
	}
	for _, c := range cases {
		addr, params, ok := parsePath(c.arg, c.kw)
		if ok != c.ok || (ok && (addr != c.addr || len(params)+len(c.params) > 0 && !reflect.DeepEqual(params, c.params))) {
			t.Errorf("parsePath(%q) = %q %q %v", c.arg, addr, params, ok)
		}
	}
}

func TestValidAddress(t *testing.T) {
	cases := []struct {
		addr string
		null bool
		ok   bool
	}{
		{"a@b", false, true}, {"postmaster", false, true}, {"", true, true}, {"", false, false},
		{"@b", false, false}, {"a@", false, false}, {"a b@c", false, false}, {"a@b@c", false, true},
		{"\xff@b", false, false}, {"a<b@c", false, false},
	}
	for _, c := range cases {
		if got := validAddress(c.addr, c.null); got != c.ok {
			t.Errorf("validAddress(%q, %v) = %v", c.addr, c.null, got)
		}
	}
}
