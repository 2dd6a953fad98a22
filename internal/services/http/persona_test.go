package http

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Content-Length real IIS 10 and HTTP.sys send for these pages; the bodies here
// must match them byte for byte in size (they are fixed text).
func TestIISPageSizes(t *testing.T) {
	for status, want := range map[int]int{401: 1293, 403: 1233, 404: 1245, 405: 1293, 500: 1208} {
		if got := len(iisPage(status)); got != want {
			t.Errorf("IIS %d page is %d bytes, real IIS sends %d", status, got, want)
		}
	}
	p := newPersona(iis, "Microsoft-IIS/10.0", "h", "windows2022", "", "windows_server", "d")
	for kind, want := range map[string]int{"": 311, "host": 334, "header": 346} {
		r := p.badRequest(kind)
		p.fill(r, &exchange{})
		if len(r.body) != want {
			t.Errorf("HTTP.sys %q page is %d bytes, real HTTP.sys sends %d", kind, len(r.body), want)
		}
	}
	if n := len(iisStart("IIS Windows Server")); n != 703 {
		t.Errorf("iisstart.htm is %d bytes, real IIS 10 ships 703", n)
	}
	if n := len(nginxWelcome); n != 612 {
		t.Errorf("nginx welcome page is %d bytes, real one is 612", n)
	}
}

func TestNginxPage(t *testing.T) {
	p := newPersona(nginx, "nginx/1.22.1", "h", "debian", "", "linux", "d")
	for status, title := range map[int]string{401: "401 Authorization Required", 302: "302 Found", 405: "405 Not Allowed", 418: "418 I'm a teapot"} {
		r := &response{status: status}
		p.fill(r, &exchange{})
		want := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
		if string(r.body) != want {
			t.Errorf("%d page %q", status, r.body)
		}
	}
	if p.reason(302) != "Moved Temporarily" || p.reason(405) != "Not Allowed" || p.reason(404) != "Not Found" {
		t.Error("nginx reason phrases")
	}
}

func TestApachePageEscapesHost(t *testing.T) {
	p := newPersona(apache, "Apache/2.4.61 (Debian)", "web", "debian", "", "linux", "d")
	r := &response{status: 405}
	p.fill(r, &exchange{method: "<X>", host: "a<b>:81"})
	if !bytes.Contains(r.body, []byte("The requested method &lt;X&gt; is not allowed")) || !bytes.Contains(r.body, []byte("Server at a&lt;b&gt; Port 81")) {
		t.Errorf("apache 405 %q", r.body)
	}
}

func TestETags(t *testing.T) {
	mt := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		f    flavor
		want string
	}{
		{nginx, `"6455fcd9-264"`},
		{apache, `"264-5fb0111662840"`},
		{iis, `"1d97fe9833c1280:0"`},
	}
	for _, tc := range tests {
		p := newPersona(tc.f, "x", "h", "debian", "", "linux", "d")
		if got := p.etag(mt, 612); got != tc.want {
			t.Errorf("%v etag %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestMtimeStable(t *testing.T) {
	a := newPersona(nginx, "x", "h", "debian", "", "linux", "decky-a")
	b := newPersona(nginx, "x", "h", "debian", "", "linux", "decky-b")
	if !a.mtimeFor("index.html").Equal(a.mtimeFor("index.html")) {
		t.Error("mtime changes between calls")
	}
	if a.mtimeFor("index.html").Equal(b.mtimeFor("index.html")) {
		t.Error("two deckies share an mtime")
	}
	if m := a.mtimeFor("index.html"); m.Before(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)) || m.After(time.Now()) {
		t.Errorf("implausible mtime %v", m)
	}
}

func TestHeadChunkedAndHTTP10(t *testing.T) {
	p := newPersona(nginx, "nginx", "h", "debian", "", "linux", "d")
	r := &response{status: 200, dynamic: true, ctype: "text/html; charset=UTF-8", body: []byte("hi")}
	h, chunked := p.head(r, &exchange{http11: true, keepAlive: true, now: time.Now()})
	if !chunked || !strings.Contains(string(h), "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n") {
		t.Errorf("HTTP/1.1 dynamic: %q", h)
	}
	x := &exchange{http11: false, keepAlive: true, now: time.Now()}
	h, chunked = p.head(r, x)
	if chunked || x.keepAlive || strings.Contains(string(h), "Content-Length") || !strings.Contains(string(h), "Connection: close") {
		t.Errorf("HTTP/1.0 dynamic must be close-delimited: %q", h)
	}
	if !regexp.MustCompile(`^HTTP/1\.1 200 OK\r\nServer: nginx\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n`).Match(h) {
		t.Errorf("status line / Date: %q", h)
	}
}
