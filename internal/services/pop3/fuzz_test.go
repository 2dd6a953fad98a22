package pop3

import (
	"context"
	"io"
	"testing"
	"time"

	"decnet/internal/service/servicetest"
	"decnet/internal/services/mailbait"
)

type fuzzConn struct {
	io.Reader
	t *testing.T
	n int
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	c.n += len(p)
	if c.n > 1<<20 {
		c.t.Fatalf("answer exceeds 1 MiB")
	}
	return len(p), nil
}

// FuzzSession feeds arbitrary client bytes to both dialects: no panic, bounded
// answers and bounded event fields.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"CAPA\r\nUSER admin\r\nPASS password\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 1\r\nUIDL\r\nDELE 1\r\nRETR 1\r\nRSET\r\nQUIT\r\n",
		"AUTH PLAIN AGFkbWluAHBhc3N3b3Jk\r\nLIST 9\r\nTOP 1 x\r\n",
		"AUTH LOGIN\r\nYWRtaW4=\r\ncGFzc3dvcmQ=\r\n",
		"APOP admin 0123456789abcdef0123456789abcdef\r\n",
		"\r\n\r\nGET / HTTP/1.0\r\n",
		"USER \xff\x00\r\nPASS \x1b[31m\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH X\r\nAUTH LOGIN =\r\n!!\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	old := authFailureDelay
	authFailureDelay = 0
	f.Cleanup(func() { authFailureDelay = old })
	servers := []*server{
		{d: dovecot(" (Ubuntu)"), host: "h", users: map[string]string{"admin": "password"}, box: mailbait.Mailbox("d", "h", "example.org")},
		{d: dovecot(""), host: "h", apop: true, users: map[string]string{"admin": "password"}, box: mailbait.Mailbox("d", "h", "example.org")},
		{d: courier(), host: "h", users: map[string]string{"admin": "password"}, box: mailbait.Mailbox("d", "h", "example.org")},
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		s := servers[int(which)%len(servers)]
		events := 0
		emit := func(typ string, fields map[string]string, msg string) {
			events++
			for k, v := range fields {
				if len(v) > 16<<10 {
					t.Fatalf("%s field %s is %d bytes", typ, k, len(v))
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.serveConn(ctx, &fuzzConn{Reader: servicetest.Pieces(data), t: t}, emit)
		if events > 2*len(data)+2 {
			t.Fatalf("%d events from %d bytes", events, len(data))
		}
	})
}

func TestTopLinesAndDotStuff(t *testing.T) {
	msg := []byte("A: b\r\n\r\nl1\r\n.l2\r\nl3\r\n")
	cases := []struct {
		n    int
		want string
	}{{0, "A: b\r\n\r\n"}, {1, "A: b\r\n\r\nl1\r\n"}, {9, string(msg)}}
	for _, c := range cases {
		if got := string(topLines(msg, c.n)); got != c.want {
			t.Errorf("topLines(%d) = %q", c.n, got)
		}
	}
	if got := string(dotStuff(msg)); got != "A: b\r\n\r\nl1\r\n..l2\r\nl3\r\n" {
		t.Errorf("dotStuff = %q", got)
	}
	if got := apopDigest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"); got != "c4c9334bac560ecc979e58001b3e22fb" {
		t.Errorf("apopDigest (RFC 1939 example) = %s", got)
	}
}
