package elasticsearch

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// FuzzReadHead feeds arbitrary bytes to the bounded head reader.
func FuzzReadHead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("\r\n\r\nPOST /_search HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		head, err := readHead(bufio.NewReader(servicetest.Pieces(b)))
		if err == nil && !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			t.Fatalf("head %q does not end with an empty line", head)
		}
		if len(head) > maxHead+maxLine+2 {
			t.Fatalf("head of %d bytes", len(head))
		}
	})
}

// FuzzServer sends arbitrary requests to a running instance: it must never
// panic and must keep serving.
func FuzzServer(f *testing.F) {
	h := servicetest.Start(f, "elasticsearch", service.Config{})
	f.Add([]byte("GET /_cat/indices?v&format=json HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /customers,logs-*/_search?size=2&pretty HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("PUT /read_me HTTP/1.1\r\nAuthorization: Basic ZWxhc3RpYzp4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
	f.Add([]byte("GET /_nodes HTTP/1.0\r\nAuthorization: ApiKey Zm9vOmJhcg==\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 1<<16)
		c.Read(buf)
		for _, e := range h.Events() {
			if e.Type == "error" && e.Fields["error"] == "internal error" {
				t.Fatalf("handler panicked on %q", b)
			}
		}
	})
}
