package ssh

import (
	"strings"
	"testing"
)

func TestParseSCPHeader(t *testing.T) {
	good := []struct {
		in   string
		want SCPHeader
	}{
		{"C0644 12 hello.txt", SCPHeader{Kind: 'C', Mode: 0o644, Size: 12, Name: "hello.txt"}},
		{"C0755 0 name with spaces", SCPHeader{Kind: 'C', Mode: 0o755, Name: "name with spaces"}},
		{"D0700 0 dir", SCPHeader{Kind: 'D', Mode: 0o700, Name: "dir"}},
		{"E", SCPHeader{Kind: 'E'}},
		{"T1700000000 0 1700000001 0", SCPHeader{Kind: 'T', Mtime: 1700000000, Atime: 1700000001}},
	}
	for _, c := range good {
		got, err := ParseSCPHeader(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "X", "C0644", "C0644 12", "C644 1 a", "C0999 1 a", "C0644 -1 a", "C0644 x a",
		"C0644 1 ../etc/passwd", "C0644 1 ..", "C0644 1 .", "C0644 1 a\x00b", "Ejunk", "T1 0 1", "Tx 0 1 0",
		"C0644 99999999999999999999 a"}
	for _, in := range bad {
		if h, err := ParseSCPHeader(in); err == nil {
			t.Errorf("%q: parsed as %+v", in, h)
		}
	}
}

func TestParseSCPCommand(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want scpCommand
	}{
		{"scp -t /tmp/x", true, scpCommand{sink: true, target: "/tmp/x"}},
		{"scp -v -d -t -- /tmp", true, scpCommand{sink: true, dirs: true, target: "/tmp"}},
		{"/usr/bin/scp -rt .", true, scpCommand{sink: true, dirs: true, target: "."}},
		{"scp -f /etc/shadow", true, scpCommand{source: true, target: "/etc/shadow"}},
		{"scp -t", true, scpCommand{sink: true, target: "."}},
		{"scp /a /b", false, scpCommand{}},
		{"scp -t -f x", false, scpCommand{}},
		{"uname -a", false, scpCommand{}},
		{"scpx -t /tmp", false, scpCommand{}},
	}
	for _, c := range cases {
		got, ok := parseSCPCommand(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("%q: got %+v %v, want %+v %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	cases := []struct {
		in      string
		want    string
		intoDir bool
	}{
		{".", "/root/", true},
		{"~", "/root/", true},
		{"~/x.sh", "/root/x.sh", false},
		{"kit/", "/root/kit/", true},
		{"/tmp", "/tmp", true},
		{"/tmp/a.out", "/tmp/a.out", false},
		{"/home/admin", "/home/admin", true},
	}
	for _, c := range cases {
		got := resolveTarget(c.in, "/root")
		if got != c.want || isFakeDir(got) != c.intoDir {
			t.Errorf("%q: %q dir=%v, want %q dir=%v", c.in, got, isFakeDir(got), c.want, c.intoDir)
		}
	}
}

func FuzzParseSCPHeader(f *testing.F) {
	for _, s := range []string{"C0644 12 hello.txt", "D0755 0 d", "E", "T1 0 2 0", "C0644 1 ../x", "\x01error"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseSCPHeader(s)
		if err != nil {
			return
		}
		switch h.Kind {
		case 'C', 'D':
			if h.Size < 0 || h.Name == "" || h.Name == "." || h.Name == ".." || strings.ContainsAny(h.Name, "/\x00") {
				t.Fatalf("unsafe header accepted: %+v", h)
			}
			if h.Mode > 0o7777 {
				t.Fatalf("mode out of range: %o", h.Mode)
			}
		case 'E', 'T':
		default:
			t.Fatalf("unknown kind accepted: %q", h.Kind)
		}
	})
}
