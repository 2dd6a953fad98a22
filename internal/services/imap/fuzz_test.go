package imap

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
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
	if c.n > 4<<20 {
		c.t.Fatalf("answer exceeds 4 MiB")
	}
	return len(p), nil
}

func hashOnly(r io.Reader) (string, int64, bool, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, false, err
}

// FuzzSession feeds arbitrary client bytes to the IMAP server: no panic, bounded
// answers and bounded event fields.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a CAPABILITY\r\nb LOGIN admin password\r\nc SELECT INBOX\r\nd FETCH 1:* (FLAGS UID ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE)\r\ne UID FETCH 1:* BODY[]<0.10>\r\nf LOGOUT\r\n",
		"a LOGIN {5}\r\nadmin {8+}\r\npassword\r\nb EXAMINE INBOX\r\nc SEARCH UNSEEN SUBJECT vpn\r\nd STORE 1:2 FLAGS.SILENT (\\Seen)\r\ne FETCH * BODY.PEEK[HEADER.FIELDS.NOT (TO)]\r\n",
		"a AUTHENTICATE PLAIN AGFkbWluAHBhc3N3b3Jk\r\nb LIST \"\" *\r\nc STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\nd IDLE\r\nDONE\r\ne APPEND INBOX (\\Seen) {5}\r\nhello\r\n",
		"a AUTHENTICATE LOGIN\r\nYWRtaW4=\r\ncGFzc3dvcmQ=\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\nd MOVE 1 Trash\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"a LOGIN \"a\\\"b\" (x (y (z)))\r\n",
		"a LOGIN {99999999}\r\n",
		"a1 FETCH 1 BODY[\r\n",
	} {
		f.Add([]byte(s))
	}
	old := authFailureDelay
	authFailureDelay = 0
	f.Cleanup(func() { authFailureDelay = old })
	s := &server{vendor: " (Ubuntu)", users: map[string]string{"admin": "password"}, box: newMailbox(mailbait.Mailbox("d", "h", "example.org")), save: hashOnly}
	f.Fuzz(func(t *testing.T, data []byte) {
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

func TestParseCommand(t *testing.T) {
	cases := []struct {
		in, tag, name, args string
		err                 bool
	}{
		{"a1 LOGIN bob \"pa ss\"", "a1", "LOGIN", "bob|pa ss", false},
		{"a1 login {3}\r\nbob {2+}\r\npw", "a1", "LOGIN", "bob|pw", false},
		{"x UID fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)])", "x", "UID FETCH", "1:*|(FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)])", false},
		{"t STATUS \"a\\\\b\" (MESSAGES)", "t", "STATUS", `a\b|(MESSAGES)`, false},
		{"t SELECT", "t", "SELECT", "", false},
		{"t LOGIN \"open", "t", "LOGIN", "", true},
		{"* LOGIN a b", "*", "", "", true},
		{"t  NOOP", "t", "", "", true},
		{"t X ((((((((((((((((((a))))))))))))))))))", "t", "X", "", true},
		{"t LOGIN {5}\r\nab", "t", "LOGIN", "", true},
	}
	for _, c := range cases {
		tag, name, args, err := parseCommand([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if c.err {
			continue
		}
		var got []string
		for _, a := range args {
			got = append(got, a.String())
		}
		if tag != c.tag || name != c.name || strings.Join(got, "|") != c.args {
			t.Errorf("%q: got %q %q %q", c.in, tag, name, strings.Join(got, "|"))
		}
	}
}

func TestReadCommandLiterals(t *testing.T) {
	conts := 0
	r := bufio.NewReader(strings.NewReader("a LOGIN {3}\r\nbob {4+}\r\npass\r\nnext\r\n"))
	cmd, err := readCommand(r, maxLiteral, func() { conts++ })
	if err != nil || string(cmd) != "a LOGIN {3}\r\nbob {4+}\r\npass" || conts != 1 {
		t.Fatalf("readCommand = %q, %v, %d continuations", cmd, err, conts)
	}
	if _, err := readCommand(bufio.NewReader(strings.NewReader("a LOGIN {9000}\r\n")), maxLiteralPre, func() {}); err != errTooLong {
		t.Fatalf("oversized literal: %v", err)
	}
}

func TestSeqSet(t *testing.T) {
	set, err := parseSeqSet("1,3:*")
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint32]bool{1: true, 2: false, 3: true, 5: true} {
		if set.contains(n, 5) != want {
			t.Errorf("contains(%d) != %v", n, want)
		}
	}
	for _, bad := range []string{"", "0", "a", "1:", ",1"} {
		if _, err := parseSeqSet(bad); err == nil {
			t.Errorf("parseSeqSet(%q) accepted", bad)
		}
	}
}

func TestMatchMailbox(t *testing.T) {
	cases := []struct {
		pat, name string
		ok        bool
	}{{"*", "INBOX", true}, {"inbox", "INBOX", true}, {"S%", "Sent", true}, {"T*h", "Trash", true}, {"X*", "Sent", false}}
	for _, c := range cases {
		if matchMailbox(c.pat, c.name) != c.ok {
			t.Errorf("matchMailbox(%q, %q) != %v", c.pat, c.name, c.ok)
		}
	}
}
