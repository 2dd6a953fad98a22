package ftp

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct{ line, verb, arg string }{
		{"USER anonymous", "USER", "anonymous"},
		{"user  two  spaces", "USER", " two  spaces"},
		{"pwd", "PWD", ""},
		{"STOR my file.txt", "STOR", "my file.txt"},
		{"", "", ""},
		{"AVERYLONGVERBTHATGOESON x", "AVERYLONGVERBTHA", "x"},
	} {
		v, a := parseCommand(tc.line)
		if v != tc.verb || a != tc.arg {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tc.line, v, a, tc.verb, tc.arg)
		}
	}
}

func TestParsePortAndEPRT(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"127,0,0,1,4,1", "127.0.0.1:1025"},
		{" 10,1,2,3,0,21", "10.1.2.3:21"},
		{"1,2,3,4,5", ""},
		{"256,0,0,1,0,1", ""},
		{"a,b,c,d,e,f", ""},
	} {
		ap, ok := parsePort(tc.arg)
		if got := map[bool]string{true: ap.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("parsePort(%q) = %q, want %q", tc.arg, got, tc.want)
		}
	}
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"|1|132.235.1.2|6275|", "132.235.1.2:6275"},
		{"|2|::1|5282|", "[::1]:5282"},
		{"!1!10.0.0.1!21!", "10.0.0.1:21"},
		{"|1|::1|5282|", ""},
		{"|3|1.2.3.4|1|", ""},
		{"|1|1.2.3.4|0|", ""},
		{"|1|1.2.3.4|70000|", ""},
		{"|", ""},
	} {
		ap, ok := parseEPRT(tc.arg)
		if got := map[bool]string{true: ap.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("parseEPRT(%q) = %q, want %q", tc.arg, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ cwd, arg, want string }{
		{"/", "pub", "/pub"},
		{"/pub", "..", "/"},
		{"/pub", "../../../etc/passwd", "/etc/passwd"},
		{"/pub", "/incoming/./x", "/incoming/x"},
		{"/pub", "", "/pub"},
		{"/", "a//b/", "/a/b"},
	} {
		if got := resolve(tc.cwd, tc.arg); got != tc.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tc.cwd, tc.arg, got, tc.want)
		}
	}
	root := baitTree("h")
	if n := lookup(root, "/pub/notes.txt"); n == nil || n.dir {
		t.Error("/pub/notes.txt not found")
	}
	if n := lookup(root, "/pub/notes.txt/x"); n != nil {
		t.Error("a path through a file resolved")
	}
	if a, b := baitTree("h"), baitTree("h"); string(lookup(a, "/pub/backup.tar.gz").data) != string(lookup(b, "/pub/backup.tar.gz").data) {
		t.Error("the bait tree is not stable for one host")
	}
}

func TestDefaults(t *testing.T) {
	if err := checkServer("pureftpd"); err == nil {
		t.Error("checkServer accepted pureftpd")
	}
	if err := checkVersion("3.0.5 evil"); err == nil {
		t.Error("checkVersion accepted a space")
	}
	spec, _ := service.Lookup("ftp")
	if _, err := spec.ValidateKey(KeyUsers, "nopair"); err == nil {
		t.Error("the users key accepted a value without a colon")
	}
	if _, err := spec.ValidateKey(KeyMaxTries, "0"); err == nil {
		t.Error("the max_tries key accepted 0")
	}
}

// FuzzCommandLine: any byte stream splits into bounded lines and commands without
// panicking; paths always stay inside the tree root.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"USER anonymous\r\nPASS x\r\n", "CWD ../../..\r\n", "PORT 1,2,3,4,5,6\r\n", "EPRT |2|::1|21|\r\n", "\xff\xf4\xff\xfd\x06ABOR\r\n", "STOR /a/../../b\n"} {
		f.Add([]byte(s))
	}
	root := baitTree("fuzz")
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(servicetest.Pieces(in), 16)
		for i := 0; i < 1000; i++ {
			raw, _, err := service.ReadLine(br, 64)
			if err != nil {
				break
			}
			line := string(raw)
			if len(line) > 64 {
				t.Fatalf("line of %d bytes", len(line))
			}
			verb, arg := parseCommand(line)
			if len(verb) > 16 {
				t.Fatalf("verb of %d bytes", len(verb))
			}
			p := resolve("/pub", arg)
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
				t.Fatalf("resolve escaped: %q", p)
			}
			lookup(root, p)
			if ap, ok := parsePort(arg); ok && !ap.Addr().Is4() {
				t.Fatalf("PORT gave %v", ap)
			}
			if ap, ok := parseEPRT(arg); ok && (ap.Port() == 0 || ap.Addr() == (netip.Addr{})) {
				t.Fatalf("EPRT gave %v", ap)
			}
		}
	})
}
