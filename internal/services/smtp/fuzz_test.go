package smtp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"decnet/internal/service/servicetest"
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

func hashOnly(r io.Reader) (string, int64, bool, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, false, err
}

// FuzzSession feeds arbitrary client bytes to both dialects: no panic, bounded
// answers and bounded event fields.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n",
		"EHLO x\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n",
		"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@localdomain>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n..x\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<root@localdomain>\r\nBDAT 5\r\nhelloBDAT 3 LAST\r\nabcQUIT\r\n",
		"EHLO x\r\nBDAT 99999999999 LAST\r\n",
		"MAIL FROM:<@r1,@r2:u@d>\r\nRCPT TO:<x@gmail.com>\r\nVRFY root\r\nEXPN x\r\nETRN d\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"GET / HTTP/1.0\r\n\r\n",
		"EHLO x\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN =\r\n!!\r\n",
		"EHLO \xff\xfe\r\nSTARTTLS\r\n",
	} {
		f.Add([]byte(s), false)
	}
	servers := []*server{
		{d: postfix(" (Ubuntu)"), host: "mail.example.org", domain: "example.org", mailboxes: map[string]bool{"root": true}, maxSize: 4096, save: hashOnly},
		{d: exim("4.96"), host: "mail", domain: "localdomain", acceptAny: true, maxSize: 4096, save: hashOnly},
	}
	f.Fuzz(func(t *testing.T, data []byte, useExim bool) {
		s := servers[0]
		if useExim {
			s = servers[1]
		}
		events := 0
		emit := func(typ string, fields map[string]string, msg string) {
			events++
			for k, v := range fields {
				if len(v) > 24<<10 {
					t.Fatalf("%s field %s is %d bytes", typ, k, len(v))
				}
			}
		}
		s.serveConn(context.Background(), &fuzzConn{Reader: servicetest.Pieces(data), t: t}, "192.0.2.1", emit)
		if events > len(data)+2 {
			t.Fatalf("%d events from %d bytes", events, len(data))
		}
	})
}
