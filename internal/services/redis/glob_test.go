package redis

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"sess:*", "sess:abc", true},
		{"sess:*", "cache:x", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hbllo", true},
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxcxxb", false},
		{"[abc", "[abc", true},
		{"dir", "dir", true},
		{"d*", "dbfilename", true},
		{"**x", "abx", true},
		{`a\`, `a\`, true},
	} {
		if got := globMatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("sess:*", "sess:abc")
	f.Add("h[^e-z]l?o*", "hallo world")
	f.Add(`\[*\]`, "[x]")
	f.Add("*a*a*a*a*a*a*b", strings.Repeat("a", 100))
	f.Fuzz(func(t *testing.T, pat, s string) {
		got := globMatch(pat, s)
		// A pattern without special characters matches exactly itself.
		if !strings.ContainsAny(pat, `*?[\`) && got != (pat == s) {
			t.Fatalf("literal pattern %q vs %q: %v", pat, s, got)
		}
		if pat == "*" && !got {
			t.Fatal("* did not match")
		}
		if !strings.ContainsAny(s, `*?[]\^-`) && !globMatch(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}

// FuzzServer feeds arbitrary bytes to a running service: whatever arrives, the service
// answers or closes, and keeps serving the next connection.
func FuzzServer(f *testing.F) {
	f.Add([]byte("PING\r\n"))
	f.Add([]byte("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n"))
	f.Add([]byte("*1\r\n$-5\r\n"))
	f.Add([]byte("*99999999999\r\n"))
	f.Add([]byte("set \"unbalanced\r\n"))
	f.Add([]byte("CONFIG SET dir /tmp\r\nCONFIG SET dbfilename x\r\nSAVE\r\n"))
	f.Add([]byte("SET a b EX 10 NX GET\r\nSCAN 0 MATCH * COUNT 5\r\nHELLO 3 AUTH default x SETNAME y\r\n"))
	h := servicetest.Start(f, "redis", service.Config{Distro: "debian"})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		servicetest.WritePieces(c, in)
		c.Write([]byte("\r\nPING\r\n"))
		c.(*net.TCPConn).CloseWrite()
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				break
			}
		}
		// The service still answers a fresh connection.
		c2, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		c2.Write([]byte("PING\r\n"))
		if line, err := bufio.NewReader(c2).ReadString('\n'); err != nil || line != "+PONG\r\n" {
			t.Fatalf("service stopped answering after %q: %q %v", in, line, err)
		}
	})
}
