package https

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

var (
	nginxCfg  = service.Config{Distro: "ubuntu22", OSFamily: "linux", Hostname: "web01"}
	apacheCfg = service.Config{Distro: "debian", OSFamily: "linux", Hostname: "web02"}
	iisCfg    = service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "WEB03"}
)

func start(t *testing.T, cfg service.Config) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "https", cfg)
}

// get does one HTTPS GET with Go's client and returns the response and the
// certificate the server presented.
func get(t *testing.T, addr, sni, path string, cfg *tls.Config) (*nethttp.Response, []byte, *x509Info) {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.InsecureSkipVerify = true
	cfg.ServerName = sni
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: decnet-test\r\nConnection: close\r\n\r\n", path, sni)
	resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	st := c.ConnectionState()
	cert := st.PeerCertificates[0]
	return resp, body, &x509Info{cn: cert.Subject.CommonName, sum: sha256.Sum256(cert.Raw), version: st.Version}
}

type x509Info struct {
	cn      string
	sum     [32]byte
	version uint16
}

func TestServesPersonaOverTLS(t *testing.T) {
	h := start(t, nginxCfg)
	resp, body, cert := get(t, h.Addr(443), "web01.example", "/", nil)
	if got := resp.Header.Get("Server"); got != "nginx/1.18.0 (Ubuntu)" {
		t.Errorf("Server %q", got)
	}
	if !strings.Contains(string(body), "Welcome to nginx!") {
		t.Errorf("body %q", body)
	}
	if cert.cn != "web01" || cert.version != tls.VersionTLS13 {
		t.Errorf("certificate CN %q, version %x", cert.cn, cert.version)
	}
	fp := h.Wait(t, 5*time.Second, "fingerprint", servicetest.Type(event.Fingerprint, "sni=web01.example"))
	for _, k := range []string{"ja3", "ja3_string", "ja4", "ja4_r", "ja4_o", "tls_version"} {
		if fp.Fields[k] == "" {
			t.Errorf("fingerprint event has no %s: %v", k, fp.Fields)
		}
	}
	if fp.Fields["tls_version"] != "TLS 1.3" || !strings.HasPrefix(fp.Fields["ja4"], "t13d") {
		t.Errorf("fingerprint %v", fp.Fields)
	}
	r := h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request, "path=/", "user_agent=decnet-test"))
	for _, k := range []string{"ja3", "ja4", "sni"} {
		if r.Fields[k] != fp.Fields[k] {
			t.Errorf("request event %s = %q, fingerprint event %q", k, r.Fields[k], fp.Fields[k])
		}
	}
	if r.Fields["tls_version"] != "TLS 1.3" || r.Fields["tls_cipher"] == "" {
		t.Errorf("request event TLS fields %v", r.Fields)
	}
	if r.AttackerIP != "127.0.0.1" || fp.AttackerIP != "127.0.0.1" {
		t.Errorf("attacker ip %q %q", r.AttackerIP, fp.AttackerIP)
	}
}

// TestJA3OfGoClient checks the JA3/JA4 emitted for Go's client against the same
// fingerprints computed from the hello bytes recorded on the wire by a relay in
// front of the service, parsed separately.
func TestJA3OfGoClient(t *testing.T) {
	h := start(t, nginxCfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wire []byte
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", h.Addr(443))
		if err != nil {
			return
		}
		defer s.Close()
		go io.Copy(c, s)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			mu.Lock()
			wire = append(wire, buf[:n]...)
			mu.Unlock()
			if _, werr := s.Write(buf[:n]); err != nil || werr != nil {
				return
			}
		}
	}()
	get(t, l.Addr().String(), "go.example", "/", &tls.Config{NextProtos: []string{"h2", "http/1.1"}})
	<-done
	mu.Lock()
	ch, err := fingerprint.ParseClientHelloRecords(wire)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	_, ja3 := fingerprint.JA3(ch)
	fp := h.Wait(t, 5*time.Second, "fingerprint", servicetest.Type(event.Fingerprint, "sni=go.example"))
	if fp.Fields["ja3"] != ja3 || fp.Fields["ja4"] != fingerprint.JA4(ch, fingerprint.TCP).JA4 || fp.Fields["alpn"] != "h2,http/1.1" {
		t.Errorf("emitted %v, wire ja3 %s", fp.Fields, ja3)
	}
}

func TestIISVersionsAndStableCert(t *testing.T) {
	h := start(t, iisCfg)
	resp, _, cert := get(t, h.Addr(443), "", "/", nil)
	if resp.Header.Get("Server") != "Microsoft-IIS/10.0" || cert.version != tls.VersionTLS12 || cert.cn != "WEB03" {
		t.Errorf("Server %q, version %x, CN %q", resp.Header.Get("Server"), cert.version, cert.cn)
	}
	// Windows Server 2019 has no TLS 1.3: a 1.3-only client fails.
	c, err := tls.Dial("tcp", h.Addr(443), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err == nil {
		c.Close()
		t.Error("a TLS 1.3-only client connected to a Windows Server 2019 persona")
	}
	h.Wait(t, 5*time.Second, "handshake error", servicetest.Type(event.Error, "error=TLS handshake failed"))
	// A restart with the stored secrets presents the same certificate.
	cfg := iisCfg
	cfg.Secrets = h.RT.Config.Secrets
	h2 := start(t, cfg)
	_, _, cert2 := get(t, h2.Addr(443), "", "/", nil)
	if cert2.sum != cert.sum {
		t.Error("the certificate changed across a restart with the same secrets")
	}
}

// TestApacheSignaturePort checks Apache's error page signature names the TLS port.
func TestApacheSignaturePort(t *testing.T) {
	h := start(t, apacheCfg)
	resp, body, _ := get(t, h.Addr(443), "web02", "/nothing-here", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "<address>Apache/2.4.61 (Debian) Server at web02 Port 443</address>") {
		t.Errorf("404 page:\n%s", body)
	}
	e := h.Wait(t, 5*time.Second, "404 request", servicetest.Type(event.Request, "path=/nothing-here", "status=404"))
	if e.Fields["sni"] != "web02" || e.Fields["ja4"] == "" {
		t.Errorf("request event fields %v", e.Fields)
	}
}

func TestPlainHTTPOnTLSPort(t *testing.T) {
	h := start(t, nginxCfg)
	c, err := net.Dial("tcp", h.Addr(443))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET / HTTP/1.0\r\n\r\n")
	io.ReadAll(c)
	e := h.Wait(t, 5*time.Second, "plain request", servicetest.Type(event.Request, "error=not a TLS ClientHello"))
	if e.Fields["raw_excerpt"] != "GET /" {
		t.Errorf("raw_excerpt %q", e.Fields["raw_excerpt"])
	}
}

func TestTLSVersions(t *testing.T) {
	tests := []struct {
		min, max string
		iis      bool
		distro   string
		lo, hi   uint16
		bad      bool
	}{
		{"", "", false, "ubuntu22", tls.VersionTLS12, tls.VersionTLS13, false},
		{"", "", true, "windows2019", tls.VersionTLS10, tls.VersionTLS12, false},
		{"", "", true, "windows2022", tls.VersionTLS10, tls.VersionTLS13, false},
		{"", "", true, "debian", tls.VersionTLS10, tls.VersionTLS12, false},
		{"1.0", "", false, "debian", tls.VersionTLS10, tls.VersionTLS13, false},
		{"1.3", "1.2", false, "debian", 0, 0, true},
	}
	for _, tc := range tests {
		lo, hi, err := tlsVersions(tc.min, tc.max, tc.iis, tc.distro)
		if (err != nil) != tc.bad || lo != tc.lo || hi != tc.hi {
			t.Errorf("tlsVersions(%q, %q, %v, %s) = %x %x %v", tc.min, tc.max, tc.iis, tc.distro, lo, hi, err)
		}
	}
	spec, _ := service.Lookup("https")
	if _, err := spec.ValidateKey("min_version", "1.4"); err == nil {
		t.Error("min_version 1.4 accepted")
	}
	if _, err := spec.ValidateKey("server", "apache"); err != nil {
		t.Errorf("the http keys do not apply: %v", err)
	}
}

// TestCurl drives the real curl: the persona's headers over TLS, a login POST
// captured with the connection's fingerprints, and curl's JA3 as tshark computes
// it from a capture of the same connection on loopback.
func TestCurl(t *testing.T) {
	testenv.RequireTool(t, "curl")
	h := start(t, nginxCfg)
	_, port, _ := net.SplitHostPort(h.Addr(443))
	resolve := "web01.test:" + port + ":127.0.0.1"
	base := "https://web01.test:" + port

	var pcap string
	var stopCapture func()
	if _, err := exec.LookPath("tshark"); err == nil && os.Geteuid() == 0 {
		capt := testenv.StartCapture(t, "tshark", "lo", "tcp port "+port)
		pcap = capt.Path
		// "Capturing on" may come a moment before packets are written: poke the
		// port until the capture file grows (at most 5 s).
		var size int64
		if st, err := os.Stat(pcap); err == nil {
			size = st.Size()
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if c, err := net.Dial("tcp", h.Addr(443)); err == nil {
				c.Close()
			}
			time.Sleep(200 * time.Millisecond)
			if st, err := os.Stat(pcap); err == nil && st.Size() > size {
				break
			}
		}
		stopCapture = func() { capt.Stop() }
	} else {
		t.Log("not comparing curl's JA3 with tshark: needs tshark and root to capture on lo")
	}

	out, err := exec.Command("curl", "-sS", "-k", "-i", "--resolve", resolve, base+"/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Server: nginx/1.18.0 (Ubuntu)\r\n") || !strings.Contains(string(out), "Welcome to nginx!") {
		t.Fatalf("curl -k: %v\n%s", err, out)
	}
	out, err = exec.Command("curl", "-sS", "-k", "--resolve", resolve, "-d", "log=admin&pwd=s3cret!", base+"/wp-login.php").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is incorrect.") {
		t.Fatalf("curl -d: %v\n%s", err, out)
	}
	auth := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=admin", "password=s3cret!", "app=wordpress", "sni=web01.test"))
	if auth.Fields["ja3"] == "" || auth.Fields["ja4"] == "" || auth.AttackerIP != "127.0.0.1" {
		t.Errorf("auth event %v from %s", auth.Fields, auth.AttackerIP)
	}
	fp := h.Wait(t, 5*time.Second, "fingerprint", servicetest.Type(event.Fingerprint, "sni=web01.test"))
	if fp.Fields["alpn"] != "h2,http/1.1" && fp.Fields["alpn"] != "http/1.1" {
		t.Errorf("curl ALPN %q", fp.Fields["alpn"])
	}
	if pcap == "" {
		return
	}
	// Go's client too, so tshark checks a second implementation's hello.
	get(t, h.Addr(443), "go.web01.test", "/", nil)
	h.Wait(t, 5*time.Second, "Go client fingerprint", servicetest.Type(event.Fingerprint, "sni=go.web01.test"))
	stopCapture()
	out, err = exec.Command("tshark", "-r", pcap, "-d", "tcp.port=="+port+",tls", "-Y", "tls.handshake.type==1",
		"-T", "fields", "-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3_full").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines)%2 != 0 {
		t.Fatalf("tshark output is not hash/string pairs: %q", out)
	}
	emitted := map[string]string{} // "hash string" -> SNI
	for _, e := range h.Events() {
		if e.Type == event.Fingerprint {
			emitted[e.Fields["ja3"]+" "+e.Fields["ja3_string"]] = e.Fields["sni"]
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(lines); i += 2 {
		want := lines[i] + " " + lines[i+1]
		sni, ok := emitted[want]
		if !ok {
			t.Errorf("tshark's JA3 %q is not among the emitted %v", want, emitted)
		}
		seen[sni] = true
	}
	// A capture may miss the very first connection while it starts up; it must
	// hold at least one of curl's hellos and Go's.
	if !seen["web01.test"] || !seen["go.web01.test"] {
		t.Fatalf("tshark's capture lacks curl's or Go's hello (%d hellos): %q", len(lines)/2, out)
	}
	t.Logf("the JA3 of curl and of Go's client match tshark's on a capture of the same connections (%d hellos)", len(lines)/2)
}

func TestOpenSSLSubject(t *testing.T) {
	testenv.RequireTool(t, "openssl")
	h := start(t, apacheCfg)
	cmd := exec.Command("openssl", "s_client", "-connect", h.Addr(443), "-servername", "web02")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl s_client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "subject=CN = web02") && !strings.Contains(string(out), "subject=CN=web02") {
		t.Errorf("openssl s_client does not show subject CN=web02:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "fingerprint", servicetest.Type(event.Fingerprint, "sni=web02"))
}

// TestNmap checks that nmap's version scan names each persona's product over TLS.
func TestNmap(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	tests := []struct {
		name string
		cfg  service.Config
		want []string
	}{
		{"nginx", nginxCfg, []string{"ssl/http", "nginx 1.18.0 (Ubuntu)"}},
		{"apache", apacheCfg, []string{"ssl/http", "Apache httpd 2.4.61 ((Debian))"}},
		{"iis", iisCfg, []string{"ssl/http", "Microsoft IIS httpd 10.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tc.cfg)
			_, port, _ := net.SplitHostPort(h.Addr(443))
			out, err := exec.Command("nmap", "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", port, "127.0.0.1").CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("nmap output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
