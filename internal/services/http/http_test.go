package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// Deckies of each persona used across the tests.
var (
	nginxCfg  = service.Config{Distro: "ubuntu22", OSFamily: "linux", Hostname: "web01"}
	apacheCfg = service.Config{Distro: "debian", OSFamily: "linux", Hostname: "web02"}
	iisCfg    = service.Config{Distro: "windows2022", OSFamily: "windows_server", Hostname: "WEB03"}
)

func start(t *testing.T, cfg service.Config, persona map[string]string) *servicetest.Harness {
	t.Helper()
	cfg.Persona = persona
	return servicetest.Start(t, "http", cfg)
}

// raw sends req on a new connection and returns everything the server sends until
// it closes the connection.
func raw(t *testing.T, h *servicetest.Harness, req string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", h.Addr(80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read response: %v (got %q)", err, b)
	}
	return b
}

// parsed is a raw response split into its parts.
type parsed struct {
	statusLine string
	names      []string
	header     nethttp.Header
	body       []byte
}

func split(t *testing.T, b []byte) parsed {
	t.Helper()
	head, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of header in %q", b)
	}
	lines := strings.Split(string(head), "\r\n")
	p := parsed{statusLine: lines[0], header: nethttp.Header{}, body: body}
	for _, l := range lines[1:] {
		n, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		p.names = append(p.names, n)
		p.header.Add(n, v)
	}
	return p
}

func TestHeaderOrder(t *testing.T) {
	tests := []struct {
		name   string
		cfg    service.Config
		req    string
		status string
		order  []string
	}{
		{"nginx index", nginxCfg, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK",
			[]string{"Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Connection", "ETag", "Accept-Ranges"}},
		{"nginx 404", nginxCfg, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found",
			[]string{"Server", "Date", "Content-Type", "Content-Length", "Connection"}},
		{"nginx wordpress redirect", nginxCfg, "GET /wp-admin/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 302 Found",
			[]string{"Server", "Date", "Content-Type", "Location", "Transfer-Encoding", "Connection", "Expires", "Cache-Control"}},
		{"apache index", apacheCfg, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK",
			[]string{"Date", "Server", "Last-Modified", "ETag", "Accept-Ranges", "Content-Length", "Vary", "Connection", "Content-Type"}},
		{"apache 404 keep-alive", apacheCfg, "GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", "HTTP/1.1 404 Not Found",
			[]string{"Date", "Server", "Content-Length", "Keep-Alive", "Connection", "Content-Type"}},
		{"apache 401", apacheCfg, "GET /admin/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 401 Unauthorized",
			[]string{"Date", "Server", "WWW-Authenticate", "Content-Length", "Connection", "Content-Type"}},
		{"iis index", iisCfg, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK",
			[]string{"Content-Type", "Last-Modified", "Accept-Ranges", "ETag", "Server", "X-Powered-By", "Date", "Connection", "Content-Length"}},
		{"iis 404", iisCfg, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found",
			[]string{"Content-Type", "Server", "X-Powered-By", "Date", "Connection", "Content-Length"}},
		{"iis bad request (HTTP.sys)", iisCfg, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request",
			[]string{"Content-Type", "Server", "Date", "Connection", "Content-Length"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.cfg, nil)
			b := raw(t, h, tc.req)
			p := split(t, b)
			if p.statusLine != tc.status {
				t.Errorf("status line %q, want %q", p.statusLine, tc.status)
			}
			if strings.Join(p.names, ",") != strings.Join(tc.order, ",") {
				t.Errorf("header order\n got  %v\n want %v", p.names, tc.order)
			}
			if d, err := nethttp.ParseTime(p.header.Get("Date")); err != nil || time.Since(d) > time.Minute {
				t.Errorf("Date %q is not a current RFC 1123 date", p.header.Get("Date"))
			}
		})
	}
}

func TestServerHeaderPerPersona(t *testing.T) {
	tests := []struct {
		cfg     service.Config
		persona map[string]string
		want    string
	}{
		{nginxCfg, nil, "nginx/1.18.0 (Ubuntu)"},
		{apacheCfg, nil, "Apache/2.4.61 (Debian)"},
		{iisCfg, nil, "Microsoft-IIS/10.0"},
		{nginxCfg, map[string]string{"server": "apache"}, "Apache/2.4.52 (Ubuntu)"},
		{apacheCfg, map[string]string{"server_header": "Apache/2.4.57 (Debian)"}, "Apache/2.4.57 (Debian)"},
	}
	for _, tc := range tests {
		h := start(t, tc.cfg, tc.persona)
		p := split(t, raw(t, h, "HEAD / HTTP/1.0\r\n\r\n"))
		if got := p.header.Get("Server"); got != tc.want {
			t.Errorf("%s %v: Server %q, want %q", tc.cfg.Distro, tc.persona, got, tc.want)
		}
	}
}

func TestErrorPageBytes(t *testing.T) {
	nginx404 := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.18.0 (Ubuntu)</center>\r\n</body>\r\n</html>\r\n"
	apache404 := "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n<hr>\n<address>Apache/2.4.61 (Debian) Server at example.test Port 80</address>\n</body></html>\n"
	nginx400 := "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.18.0 (Ubuntu)</center>\r\n</body>\r\n</html>\r\n"
	nginx405 := "<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n<center><h1>405 Not Allowed</h1></center>\r\n<hr><center>nginx/1.18.0 (Ubuntu)</center>\r\n</body>\r\n</html>\r\n"
	apache403 := "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n<hr>\n<address>Apache/2.4.61 (Debian) Server at example.test Port 8080</address>\n</body></html>\n"
	apache400 := "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not understand.<br />\n</p>\n<hr>\n<address>Apache/2.4.61 (Debian) Server at web02 Port 80</address>\n</body></html>\n"
	tests := []struct {
		name, req   string
		cfg         service.Config
		status      string
		ctype, body string
		bodyLen     int // for IIS: the Content-Length real IIS sends
	}{
		{"nginx 404", "GET /.env HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", nginxCfg, "HTTP/1.1 404 Not Found", "text/html", nginx404, 162},
		{"nginx 405", "PUT / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", nginxCfg, "HTTP/1.1 405 Not Allowed", "text/html", nginx405, 0},
		{"nginx 400", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", nginxCfg, "HTTP/1.1 400 Bad Request", "text/html", nginx400, 0},
		{"apache 404", "GET /.env HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", apacheCfg, "HTTP/1.1 404 Not Found", "text/html; charset=iso-8859-1", apache404, 0},
		{"apache 403 server-status", "GET /server-status HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n", apacheCfg, "HTTP/1.1 403 Forbidden", "text/html; charset=iso-8859-1", apache403, 0},
		{"apache 400", "GARBAGE\r\n\r\n", apacheCfg, "HTTP/1.1 400 Bad Request", "text/html; charset=iso-8859-1", apache400, 0},
		{"iis 404", "GET /.env HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", iisCfg, "HTTP/1.1 404 Not Found", "text/html", "", 1245},
		{"iis 403 is not 404", "GET /nope HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", iisCfg, "HTTP/1.1 404 Not Found", "text/html", "", 1245},
		{"iis 405", "POST /iisstart.htm HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", iisCfg, "HTTP/1.1 405 Method Not Allowed", "text/html", "", 1293},
		{"iis 401", "GET /admin/ HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", iisCfg, "HTTP/1.1 401 Unauthorized", "text/html", "", 1293},
		{"http.sys 400", "GARBAGE\r\n\r\n", iisCfg, "HTTP/1.1 400 Bad Request", "text/html; charset=us-ascii", "", 311},
		{"http.sys 400 host", "GET / HTTP/1.1\r\n\r\n", iisCfg, "HTTP/1.1 400 Bad Request", "text/html; charset=us-ascii", "", 334},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.cfg, nil)
			p := split(t, raw(t, h, tc.req))
			if p.statusLine != tc.status {
				t.Errorf("status line %q, want %q", p.statusLine, tc.status)
			}
			if ct := p.header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if tc.body != "" && string(p.body) != tc.body {
				t.Errorf("body\n got  %q\n want %q", p.body, tc.body)
			}
			if tc.bodyLen != 0 && len(p.body) != tc.bodyLen {
				t.Errorf("body is %d bytes, want %d", len(p.body), tc.bodyLen)
			}
			if cl := p.header.Get("Content-Length"); cl != fmt.Sprint(len(p.body)) {
				t.Errorf("Content-Length %s for a %d-byte body", cl, len(p.body))
			}
		})
	}
}

func TestNginxMSIEPadding(t *testing.T) {
	h := start(t, nginxCfg, nil)
	p := split(t, raw(t, h, "GET /x HTTP/1.0\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n\r\n"))
	if n := bytes.Count(p.body, []byte(nginxMSIEPadding)); n != 6 {
		t.Errorf("MSIE padding lines %d, want 6", n)
	}
}

// post sends a form POST with a Go client and returns the response body.
func post(t *testing.T, h *servicetest.Harness, path string, form url.Values) (*nethttp.Response, string) {
	t.Helper()
	resp, err := nethttp.PostForm("http://"+h.Addr(80)+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFormLoginCaptured(t *testing.T) {
	user := "<script>alert(1)</script>\"]\nadmin"
	pass := "p\xff\xfe]\"\\\n\x1b[31m"
	tests := []struct {
		path, userKey, passKey, app, page string
	}{
		{"/wp-login.php", "log", "pwd", "wordpress", "is incorrect."},
		{"/phpmyadmin/index.php", "pma_username", "pma_password", "phpmyadmin", "Access denied for user"},
		{"/login", "username", "password", "login", "Invalid username or password."},
		{"/admin", "user", "pass", "login", "Invalid username or password."},
		{"/contact", "email", "password", "form", ""},
	}
	for _, persona := range []service.Config{nginxCfg, apacheCfg, iisCfg} {
		h := start(t, persona, nil)
		for _, tc := range tests {
			resp, body := post(t, h, tc.path, url.Values{tc.userKey: {user}, tc.passKey: {pass}, "extra": {"1"}})
			e := h.Wait(t, 5*time.Second, "auth "+tc.path, func(e event.Event) bool {
				return e.Type == event.Auth && e.Fields["path"] == tc.path
			})
			want := map[string]string{"username": user, "password": pass, "secret_kind": "plaintext", "app": tc.app, "outcome": "failure", "method": "form",
				"secret_b64": base64.StdEncoding.EncodeToString([]byte(pass))}
			for k, v := range want {
				if e.Fields[k] != v {
					t.Errorf("%s %s: field %s = %q, want %q", persona.Distro, tc.path, k, e.Fields[k], v)
				}
			}
			if !e.IsCredential() || e.Priority() != event.PriWarning {
				t.Errorf("%s: auth event is not a credential event", tc.path)
			}
			if tc.page != "" {
				if resp.StatusCode != 200 || !strings.Contains(body, tc.page) {
					t.Errorf("%s %s: status %d, page lacks %q", persona.Distro, tc.path, resp.StatusCode, tc.page)
				}
				if strings.Contains(body, "<script>alert(1)") {
					t.Errorf("%s: attacker markup reflected unescaped", tc.path)
				}
			}
		}
	}
}

func TestWordPressLoginMessage(t *testing.T) {
	h := start(t, nginxCfg, nil)
	_, body := post(t, h, "/wp-login.php", url.Values{"log": {"admin"}, "pwd": {"secret"}, "wp-submit": {"Log In"}})
	want := "<strong>Error:</strong> The password you entered for the username <strong>admin</strong> is incorrect."
	if !strings.Contains(body, want) {
		t.Errorf("wp-login failure page lacks %q", want)
	}
	_, body = post(t, h, "/wp-login.php", url.Values{"log": {"admin"}, "pwd": {""}})
	if !strings.Contains(body, "The password field is empty.") {
		t.Error("empty password message missing")
	}
}

func TestBasicAuth(t *testing.T) {
	for _, cfg := range []service.Config{nginxCfg, apacheCfg, iisCfg} {
		h := start(t, cfg, map[string]string{"realm": "Tomcat Manager Application"})
		p := split(t, raw(t, h, "GET /manager/html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		if !strings.HasPrefix(p.statusLine, "HTTP/1.1 401 ") || p.header.Get("WWW-Authenticate") != `Basic realm="Tomcat Manager Application"` {
			t.Errorf("%s: %q WWW-Authenticate %q", cfg.Distro, p.statusLine, p.header.Get("WWW-Authenticate"))
		}
		cred := base64.StdEncoding.EncodeToString([]byte("tomcat:s3cr:et\xff"))
		raw(t, h, "GET /admin/x HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "+cred+"\r\nConnection: close\r\n\r\n")
		e := h.Wait(t, 5*time.Second, "basic auth", servicetest.Type(event.Auth, "method=basic", "path=/admin/x"))
		if e.Fields["username"] != "tomcat" || e.Fields["password"] != "s3cr:et\xff" || e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte("s3cr:et\xff")) {
			t.Errorf("%s: basic capture %v", cfg.Distro, e.Fields)
		}
		// Anywhere, not only protected paths.
		req, _ := nethttp.NewRequest("GET", "http://"+h.Addr(80)+"/", nil)
		req.SetBasicAuth("root", "toor")
		resp, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h.Wait(t, 5*time.Second, "basic auth on /", servicetest.Type(event.Auth, "method=basic", "username=root", "password=toor", "path=/"))
	}
}

func TestKeepAlive(t *testing.T) {
	for _, cfg := range []service.Config{nginxCfg, apacheCfg, iisCfg} {
		h := start(t, cfg, nil)
		c, err := net.Dial("tcp", h.Addr(80))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var kas []string
		for i, path := range []string{"/", "/nope", "/robots.txt"} {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
			resp, err := nethttp.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: response %d on one connection: %v", cfg.Distro, i+1, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Close {
				t.Fatalf("%s: response %d closes the connection", cfg.Distro, i+1)
			}
			kas = append(kas, resp.Header.Get("Keep-Alive"))
		}
		c.Close()
		if cfg.Distro == apacheCfg.Distro && strings.Join(kas, "|") != "timeout=5, max=100|timeout=5, max=99|timeout=5, max=98" {
			t.Errorf("apache Keep-Alive headers %q", kas)
		}
		// Connection: close is honoured.
		b := raw(t, h, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n")
		if bytes.Count(b, []byte("HTTP/1.1 ")) != 1 {
			t.Errorf("%s: answered past Connection: close", cfg.Distro)
		}
	}
}

func TestPipelinedAndMaxRequests(t *testing.T) {
	h := start(t, nginxCfg, nil)
	var req strings.Builder
	for range 105 {
		req.WriteString("GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	b := raw(t, h, req.String())
	if n := bytes.Count(b, []byte("HTTP/1.1 200 OK")); n != 100 {
		t.Errorf("nginx answered %d pipelined requests, want 100 (keepalive_requests)", n)
	}
	if !bytes.Contains(b, []byte("Connection: close")) {
		t.Error("the last answer does not say Connection: close")
	}
}

func TestHead(t *testing.T) {
	for _, cfg := range []service.Config{nginxCfg, apacheCfg, iisCfg} {
		h := start(t, cfg, nil)
		for _, path := range []string{"/", "/nope", "/wp-login.php"} {
			get := split(t, raw(t, h, "GET "+path+" HTTP/1.0\r\n\r\n"))
			head := split(t, raw(t, h, "HEAD "+path+" HTTP/1.0\r\n\r\n"))
			if len(head.body) != 0 {
				t.Errorf("%s HEAD %s has a %d-byte body", cfg.Distro, path, len(head.body))
			}
			if get.statusLine != head.statusLine || get.header.Get("Content-Type") != head.header.Get("Content-Type") {
				t.Errorf("%s HEAD %s differs from GET: %q vs %q", cfg.Distro, path, head.statusLine, get.statusLine)
			}
			if cl := head.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(get.body)) {
				t.Errorf("%s HEAD %s Content-Length %s, GET body %d", cfg.Distro, path, cl, len(get.body))
			}
		}
	}
}

func TestMalformedAndOversize(t *testing.T) {
	big := strings.Repeat("a", 20000)
	tests := []struct {
		name, req string
		cfg       service.Config
		status    string
		contains  string
	}{
		{"nginx garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", nginxCfg, "HTTP/1.1 400 Bad Request", "<center><h1>400 Bad Request</h1></center>"},
		{"nginx big header", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + big + "\r\n\r\n", nginxCfg, "HTTP/1.1 400 Bad Request", "<center>Request Header Or Cookie Too Large</center>"},
		{"nginx many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 20) + "\r\n", nginxCfg, "HTTP/1.1 400 Bad Request", "Request Header Or Cookie Too Large"},
		{"nginx long uri", "GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", nginxCfg, "HTTP/1.1 414 Request-URI Too Large", "<title>414 Request-URI Too Large</title>"},
		{"apache big header", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + big + "\r\n\r\n", apacheCfg, "HTTP/1.1 400 Bad Request", "Size of a request header field exceeds server limit."},
		{"apache long uri", "GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", apacheCfg, "HTTP/1.1 414 Request-URI Too Long", "The requested URL's length exceeds the capacity"},
		{"apache no host", "GET / HTTP/1.1\r\n\r\n", apacheCfg, "HTTP/1.1 400 Bad Request", "could not understand"},
		{"apache dotdot", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", apacheCfg, "HTTP/1.1 400 Bad Request", "could not understand"},
		{"iis big header", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + big + "\r\n\r\n", iisCfg, "HTTP/1.1 400 Bad Request", "HTTP Error 400. The size of the request headers is too long."},
		{"iis http/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", iisCfg, "HTTP/1.1 505 HTTP Version Not Supported", "HTTP Error 505"},
		{"nginx bad chunk", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", nginxCfg, "HTTP/1.1 400 Bad Request", "400 Bad Request"},
		{"nginx body too large", "POST /wp-login.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", nginxCfg, "HTTP/1.1 413 Request Entity Too Large", "413 Request Entity Too Large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.cfg, nil)
			b := raw(t, h, tc.req) // returns only once the server closed the connection
			p := split(t, b)
			if p.statusLine != tc.status || !bytes.Contains(p.body, []byte(tc.contains)) {
				t.Errorf("got %q with body %q; want %q containing %q", p.statusLine, p.body, tc.status, tc.contains)
			}
			if p.header.Get("Connection") != "close" {
				t.Errorf("Connection %q, want close", p.header.Get("Connection"))
			}
			h.Wait(t, 5*time.Second, "request event", servicetest.Type(event.Request, "status="+strings.Fields(tc.status)[1]))
			// The service is still up.
			if q := split(t, raw(t, h, "GET / HTTP/1.0\r\n\r\n")); !strings.Contains(q.statusLine, " 200 ") && !strings.Contains(q.statusLine, " 403 ") {
				t.Errorf("after the bad request: %q", q.statusLine)
			}
		})
	}
}

func TestRequestEvent(t *testing.T) {
	h := start(t, nginxCfg, nil)
	body := "a=1&b=\x00\xff"
	req := "POST /search?q=%22x%5D HTTP/1.1\r\nHost: example.test\r\nUser-Agent: sqlmap/1.7\r\nX-Evil: \"]\\\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\nConnection: close\r\n\r\n" + body
	raw(t, h, req)
	e := h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request))
	want := map[string]string{
		"method": "POST", "path": "/search?q=%22x%5D", "version": "HTTP/1.1", "host": "example.test", "user_agent": "sqlmap/1.7",
		"status": "404", "content_length": fmt.Sprint(len(body)),
		"headers":      "Host: example.test\nUser-Agent: sqlmap/1.7\nX-Evil: \"]\\\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 8\nConnection: close\n",
		"body_excerpt": `a=1&b=\x00\xff`,
		"body_b64":     base64.StdEncoding.EncodeToString([]byte(body)),
	}
	for k, v := range want {
		if e.Fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, e.Fields[k], v)
		}
	}
	h.Wait(t, 5*time.Second, "connect", servicetest.Type(event.Connect))
}

func TestChunkedAndExpectContinue(t *testing.T) {
	h := start(t, apacheCfg, nil)
	c, err := net.Dial("tcp", h.Addr(80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprint(c, "POST /wp-login.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	br.ReadString('\n')
	fmt.Fprint(c, "8\r\nlog=root\r\nA\r\n&pwd=hunte\r\n2\r\nr2\r\n0\r\n\r\n")
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=root", "password=hunter2"))
}

func TestScannerPaths(t *testing.T) {
	tests := []struct {
		cfg    service.Config
		method string
		path   string
		status int
		ctype  string
	}{
		{nginxCfg, "GET", "/.env", 404, "text/html"},
		{nginxCfg, "GET", "/.git/config", 404, "text/html"},
		{nginxCfg, "GET", "/robots.txt", 200, "text/plain; charset=utf-8"},
		{nginxCfg, "GET", "/favicon.ico", 200, "image/x-icon"},
		{nginxCfg, "GET", "/server-status", 404, "text/html"},
		{nginxCfg, "GET", "/wp-admin", 301, "text/html"},
		{nginxCfg, "GET", "/wp-admin/", 302, "text/html; charset=UTF-8"},
		{nginxCfg, "GET", "/xmlrpc.php", 405, "text/plain;charset=UTF-8"},
		{nginxCfg, "GET", "/wp-json/", 200, "application/json; charset=UTF-8"},
		{nginxCfg, "GET", "/wp-json/wp/v2/users", 200, "application/json; charset=UTF-8"},
		{nginxCfg, "GET", "/wp-json/nope", 404, "application/json; charset=UTF-8"},
		{nginxCfg, "GET", "/phpmyadmin", 301, "text/html"},
		{nginxCfg, "GET", "/phpmyadmin/", 200, "text/html; charset=UTF-8"},
		{nginxCfg, "GET", "/index.nginx-debian.html", 200, "text/html"},
		{nginxCfg, "OPTIONS", "/", 405, "text/html"},
		{apacheCfg, "GET", "/server-status", 403, "text/html; charset=iso-8859-1"},
		{apacheCfg, "GET", "/.htaccess", 403, "text/html; charset=iso-8859-1"},
		{apacheCfg, "GET", "/favicon.ico", 200, "image/vnd.microsoft.icon"},
		{apacheCfg, "OPTIONS", "/", 200, "text/html"},
		{apacheCfg, "TRACE", "/", 405, "text/html; charset=iso-8859-1"},
		{apacheCfg, "FOO", "/", 501, "text/html; charset=iso-8859-1"},
		{iisCfg, "GET", "/IISSTART.HTM", 200, "text/html"},
		{iisCfg, "GET", "/iisstart.png", 200, "image/png"},
		{iisCfg, "GET", "/WP-LOGIN.PHP", 200, "text/html; charset=UTF-8"},
		{iisCfg, "GET", "/phpmyadmin", 301, "text/html; charset=UTF-8"},
	}
	hs := map[string]*servicetest.Harness{}
	for _, tc := range tests {
		h := hs[tc.cfg.Distro]
		if h == nil {
			h = start(t, tc.cfg, nil)
			hs[tc.cfg.Distro] = h
		}
		p := split(t, raw(t, h, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		if !strings.HasPrefix(p.statusLine, fmt.Sprintf("HTTP/1.1 %d ", tc.status)) || p.header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s %s %s: %q %q, want %d %q", tc.cfg.Distro, tc.method, tc.path, p.statusLine, p.header.Get("Content-Type"), tc.status, tc.ctype)
		}
	}
}

func TestRHELTestPage(t *testing.T) {
	h := start(t, service.Config{Distro: "rocky9"}, nil)
	p := split(t, raw(t, h, "GET / HTTP/1.0\r\n\r\n"))
	if p.statusLine != "HTTP/1.1 403 Forbidden" || !bytes.Contains(p.body, []byte("HTTP Server Test Page powered by: Rocky Linux")) || p.header.Get("Server") != "Apache/2.4.57 (Rocky Linux)" {
		t.Errorf("rocky9 /: %q %q", p.statusLine, p.header.Get("Server"))
	}
}

func TestIndexKey(t *testing.T) {
	tests := map[string]string{
		"default":    "Welcome to nginx!",
		"login":      `name="password"`,
		"wordpress":  `content="WordPress ` + wpVersion + `"`,
		"phpmyadmin": `name="pma_username"`,
	}
	for index, want := range tests {
		h := start(t, nginxCfg, map[string]string{"index": index, "apps": ""})
		p := split(t, raw(t, h, "GET / HTTP/1.0\r\n\r\n"))
		if !bytes.Contains(p.body, []byte(want)) {
			t.Errorf("index=%s: / lacks %q", index, want)
		}
	}
	h := start(t, nginxCfg, map[string]string{"index": "blank", "apps": ""})
	p := split(t, raw(t, h, "GET / HTTP/1.0\r\n\r\n"))
	if len(p.body) != 0 || p.header.Get("Content-Length") != "0" {
		t.Errorf("index=blank: body %q", p.body)
	}
	// apps="" disables the apps.
	if q := split(t, raw(t, h, "GET /wp-login.php HTTP/1.0\r\n\r\n")); q.statusLine != "HTTP/1.1 404 Not Found" {
		t.Errorf("apps empty: /wp-login.php %q", q.statusLine)
	}
}

func TestKeepAliveTimeoutClosesIdle(t *testing.T) {
	s := &server{p: newPersona(apache, "Apache/2.4.61 (Debian)", "h", "debian", "Debian", "linux", "d"), index: "default", apps: map[string]bool{}}
	s.p.keepAliveTimeout = 50 * time.Millisecond
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		s.serveConn(context.Background(), a, a, func(string, map[string]string, string) {}, 80, func() { a.Close() })
		close(done)
	}()
	go io.Copy(io.Discard, b)
	fmt.Fprint(b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("idle keep-alive connection was not closed")
	}
	b.Close()
}

// TestCurl drives the real curl client (Debian package) against the service.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil || os.Getenv("DECNET_FULL_SUITE") != "1" {
		if os.Getenv("DECNET_FULL_SUITE") == "1" {
			t.Fatal("curl is not installed (apt-get install -y curl)")
		}
		t.Skip("real-client test: set DECNET_FULL_SUITE=1 (needs curl)")
	}
	h := start(t, nginxCfg, nil)
	base := "http://" + h.Addr(80)
	out, err := exec.Command(curl, "-sS", "-I", base+"/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Server: nginx/1.18.0 (Ubuntu)\r\n") {
		t.Fatalf("curl -I: %v\n%s", err, out)
	}
	out, err = exec.Command(curl, "-sS", "-d", "log=admin&pwd=secret", base+"/wp-login.php").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is incorrect.") {
		t.Fatalf("curl -d: %v\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "curl auth", servicetest.Type(event.Auth, "username=admin", "password=secret", "app=wordpress"))
	r := h.Wait(t, 5*time.Second, "curl request", servicetest.Type(event.Request, "method=POST", "path=/wp-login.php"))
	if !strings.HasPrefix(r.Fields["user_agent"], "curl/") {
		t.Errorf("user_agent %q", r.Fields["user_agent"])
	}
	_ = e
	// A body over 1 KiB makes curl send Expect: 100-continue.
	big := "log=bob&pwd=" + strings.Repeat("x", 3000)
	out, err = exec.Command(curl, "-sS", "-d", big, base+"/wp-login.php").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is incorrect.") {
		t.Fatalf("curl -d (large): %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "curl large auth", servicetest.Type(event.Auth, "username=bob"))
}
