package http

import (
	"context"
	"testing"

	"decnet/internal/service/servicetest"
)

// boundedWriter fails the fuzz run if a connection gets an unbounded answer.
type boundedWriter struct {
	t *testing.T
	n int
}

const maxAnswer = 100 * (64 << 10) // 100 keep-alive responses of at most 64 KiB

func (w *boundedWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > maxAnswer {
		w.t.Fatalf("answer exceeds %d bytes", maxAnswer)
	}
	return len(p), nil
}

// FuzzRequest feeds arbitrary bytes to the connection handler of each persona: it
// must not panic, must answer within bounds and must keep every event field bounded.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /wp-login.php HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nlog=admin&pwd=pass",
		"POST /xmlrpc.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<meth\r\n0\r\n\r\n",
		"POST /phpmyadmin/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 60\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"pma_password\"\r\n\r\nx\r\n--b--",
		"GET /admin/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n",
		"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"GET / HTTP/2.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{\"username\":\"a\",\"password\":1}",
		"GET / HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	servers := []*server{
		{p: newPersona(nginx, "nginx/1.18.0 (Ubuntu)", "h", "ubuntu22", "Ubuntu", "linux", "d"), index: "default", apps: map[string]bool{"login": true, "wordpress": true, "phpmyadmin": true}, basicPaths: []string{"/admin/"}, realm: "R"},
		{p: newPersona(apache, "Apache/2.4.61 (Debian)", "h", "debian", "Debian", "linux", "d"), index: "wordpress", apps: map[string]bool{"phpmyadmin": true}, basicPaths: []string{"/admin/"}, realm: "R"},
		{p: newPersona(iis, "Microsoft-IIS/10.0", "h", "windows2022", "Windows", "windows_server", "d"), index: "login", apps: map[string]bool{"wordpress": true}, realm: "R"},
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		s := servers[int(which)%len(servers)]
		w := &boundedWriter{t: t}
		events := 0
		emit := func(typ string, fields map[string]string, msg string) {
			events++
			for k, v := range fields {
				if len(v) > 16<<10 {
					t.Fatalf("%s field %s is %d bytes", typ, k, len(v))
				}
			}
		}
		s.serveConn(context.Background(), servicetest.Pieces(data), w, emit, 80, nil)
		if events > 2*(maxMulticall+2)*100 {
			t.Fatalf("%d events from %d bytes", events, len(data))
		}
	})
}
