package postgres

import (
	"crypto/sha256"
	"decnet/internal/services/scram"
	"strings"
	"testing"
)

func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=,r=rOprNGfwEbeRWgbNEkqO", "y,,n=user,r=abc,ext=1", "n,a=admin,n=x,r=abc", "p=tls-server-end-point,,n=,r=x", "garbage", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := scram.ParseClientFirst(s)
		if err == nil && (!strings.HasSuffix(s, cf.Bare) || cf.Nonce == "" || !strings.Contains(cf.Bare, cf.Nonce)) {
			t.Fatalf("inconsistent parse of %q: %+v", s, cf)
		}
	})
}

func FuzzParseClientFinal(f *testing.F) {
	f.Add("c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("c=biws,r=abc")
	f.Add(",p=")
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := scram.ParseClientFinal(s, sha256.Size)
		if err == nil && (len(cf.Proof) != 32 || !strings.HasPrefix(s, cf.WithoutProof)) {
			t.Fatalf("inconsistent parse of %q: %+v", s, cf)
		}
	})
}

func FuzzParseSCRAM(f *testing.F) {
	f.Add("$scram-sha-256$4096$W22ZaJ0SNY7soEsUEjb6gQ==$YQ==$dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	f.Add("$scram-sha-256$x$a$b$c")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSCRAM(s)
		if err != nil {
			return
		}
		if back, err := ParseSCRAM(c.String()); err != nil || back.String() != c.String() {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}

// FuzzServe runs the startup and authentication state machine over arbitrary
// client bytes: it must never panic, and it answers only whole messages.
func FuzzServe(f *testing.F) {
	start := startupPacket(3<<16, "user", "admin", "database", "x")
	f.Add(start)
	f.Add(append(startupPacket(codeSSL), start...))
	f.Add(append(start, saslInitial("SCRAM-SHA-256", "n,,n=,r=abc")...))
	f.Add(append(start, saslInitial("FOO", "x")...))
	f.Add(startupPacket(2 << 16))
	f.Add(startupPacket(0xff534d42))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add(append(startupPacket(3<<16|2, "user", "u", "_pq_.x", "1"), 'p', 0, 0, 0, 8, 'm', 'd', '5', 0))
	servers := []*server{testServer("15.18", AuthSCRAM), testServer("15.18", AuthMD5), testServer("9.2.24", AuthPassword)}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, s := range servers {
			out, evs := runScript(s, in)
			if len(out) > 4096 {
				t.Fatalf("answered %d bytes", len(out))
			}
			for _, e := range evs {
				if e.typ == "" {
					t.Fatalf("event without a type")
				}
			}
		}
	})
}
