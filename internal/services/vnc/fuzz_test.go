package vnc

import (
	"io"
	"net"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"RFB 003.008\n", "RFB 003.003\n", "RFB 005.000\n", "RFB 003.889\n", "RFB 002.000\n", "GET / HTTP/1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		minor, ok := parseVersion(b)
		if ok && minor != 3 && minor != 7 && minor != 8 {
			t.Fatalf("minor %d", minor)
		}
	})
}

// FuzzServer sends arbitrary client bytes to a running server: it must answer
// within the handshake's bounds and never hang or crash.
func FuzzServer(f *testing.F) {
	f.Add([]byte("RFB 003.008\n\x02" + "0123456789abcdef"))
	f.Add([]byte("RFB 003.003\n" + "0123456789abcdef"))
	f.Add([]byte("RFB 003.007\n\x01"))
	f.Add([]byte("RFB 003.008\n\xff"))
	h := servicetest.Start(f, "vnc", service.Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		servicetest.WritePieces(c, b)
		c.(*net.TCPConn).CloseWrite()
		out, _ := io.ReadAll(io.LimitReader(c, 1<<16))
		if len(out) > 12+4+16+4+4+64 {
			t.Fatalf("server sent %d bytes for a handshake", len(out))
		}
	})
}
