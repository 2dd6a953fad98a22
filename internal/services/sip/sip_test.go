package sip

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

// start runs sip with its UDP and TCP listeners on one loopback port, as on a decky
// (sipsak and nmap expect one port for both): the harness does that by default,
// bind (if not "") names the address instead.
func start(t *testing.T, cfg service.Config, bind string) (h *servicetest.Harness, port int) {
	t.Helper()
	h = servicetest.Start(t, "sip", cfg, func(rt *service.Runtime) {
		if bind != "" {
			rt.Bind[Port] = bind
		}
	})
	if h.TCPAddr(Port) != h.UDPAddr(Port) {
		t.Fatalf("sip listens on %s/tcp and %s/udp, want one port", h.TCPAddr(Port), h.UDPAddr(Port))
	}
	_, ps, _ := net.SplitHostPort(h.UDPAddr(Port))
	port, _ = strconv.Atoi(ps)
	return h, port
}

func TestSipsakOptions(t *testing.T) {
	h, port := start(t, service.Config{}, "")
	out, err := servicetest.Run(t, 20*time.Second, nil, "sipsak", "-vv", "-s", fmt.Sprintf("sip:127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("sipsak OPTIONS: %v\n%s", err, out)
	}
	for _, want := range []string{"SIP/2.0 200 OK", "Server: FPBX-16.0.33(18.20.0)", "Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER", ";received=127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("sipsak output lacks %q:\n%s", want, out)
		}
	}
	e := h.Wait(t, 5*time.Second, "options", servicetest.Type(event.Request, "method=OPTIONS", "status=200", "transport=udp"))
	if e.AttackerIP != "127.0.0.1" || !strings.Contains(e.Fields["user_agent"], "sipsak") {
		t.Errorf("request event %+v", e)
	}
}

func TestSipsakRegisterWithAuth(t *testing.T) {
	h, port := start(t, service.Config{Persona: map[string]string{"users": "100:Secret1"}}, "")
	// The right password: 401 challenge, then 200 OK.
	out, err := servicetest.Run(t, 20*time.Second, nil, "sipsak", "-vvvvv", "-U", "-s", fmt.Sprintf("sip:100@127.0.0.1:%d", port), "-a", "Secret1", "-u", "100", "-C", "empty")
	if err != nil || !strings.Contains(out, "SIP/2.0 401 Unauthorized") || !strings.Contains(out, "SIP/2.0 200 OK") || !strings.Contains(out, "All usrloc tests completed successful") {
		t.Fatalf("sipsak register: %v\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "digest", servicetest.Type(event.Auth, "username=100", "outcome=success", "secret_kind=sip_digest", "realm=asterisk", "method=REGISTER"))
	if e.Fields["hashcat_mode"] != "11400" || !strings.HasPrefix(e.Fields["hash"], "$sip$*") || e.Fields["nonce"] == "" || e.Fields["response"] == "" {
		t.Errorf("digest capture %+v", e.Fields)
	}
	// A wrong password: challenged again, captured as a failure.
	out, _ = servicetest.Run(t, 20*time.Second, nil, "sipsak", "-vvvvv", "-U", "-s", fmt.Sprintf("sip:100@127.0.0.1:%d", port), "-a", "Wrong99", "-u", "100", "-C", "empty")
	if !strings.Contains(out, "401") {
		t.Errorf("wrong password not challenged again:\n%s", out)
	}
	e = h.Wait(t, 5*time.Second, "failed digest", servicetest.Type(event.Auth, "username=100", "outcome=failure"))
	if !checkDigest("REGISTER", digestParams(e), "Wrong99") {
		t.Errorf("captured digest does not verify with the password sipsak used: %+v", e.Fields)
	}
}

func digestParams(e event.Event) map[string]string {
	p := map[string]string{}
	for _, k := range []string{"username", "realm", "uri", "nonce", "response", "algorithm", "cnonce", "nc", "qop"} {
		if v, ok := e.Fields[k]; ok {
			p[k] = v
		}
	}
	return p
}

func TestDigestCracksWithHashcat(t *testing.T) {
	if testing.Short() {
		t.Skip("hashcat run skipped in -short mode")
	}
	h, port := start(t, service.Config{}, "")
	servicetest.Run(t, 20*time.Second, nil, "sipsak", "-U", "-s", fmt.Sprintf("sip:201@127.0.0.1:%d", port), "-a", "voip2024", "-u", "201", "-C", "empty")
	e := h.Wait(t, 5*time.Second, "digest", servicetest.Type(event.Auth, "username=201", "hashcat_mode=11400"))
	if got := servicetest.Hashcat(t, "11400", e.Fields["hash"], []string{"1234", "password", "voip2024", "admin"}); got != "voip2024" {
		t.Errorf("hashcat recovered %q from %s", got, e.Fields["hash"])
	}
}

func TestTCPAndUnknownMethods(t *testing.T) {
	h, port := start(t, service.Config{Persona: map[string]string{"server": "Asterisk PBX 18.20.0", "realm": "pbx.example.com"}}, "")
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	send := func(method, extra string) string {
		fmt.Fprintf(c, "%s sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/TCP 10.9.9.9:5060;branch=z9hG4bK-1;rport\r\nFrom: <sip:100@pbx>;tag=a1\r\nTo: <sip:100@pbx>\r\nCall-ID: c1@x\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n", method, method, extra)
		var b strings.Builder
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the answer to %s: %v (%q)", method, err, b.String())
			}
			b.WriteString(l)
			if l == "\r\n" {
				return b.String()
			}
		}
	}
	resp := send("REGISTER", "")
	if !strings.HasPrefix(resp, "SIP/2.0 401 Unauthorized\r\n") || !strings.Contains(resp, `WWW-Authenticate: Digest realm="pbx.example.com",nonce="`) ||
		!strings.Contains(resp, "Server: Asterisk PBX 18.20.0\r\n") || !strings.Contains(resp, "Via: SIP/2.0/TCP 10.9.9.9:5060;rport=") || !strings.Contains(resp, "To: <sip:100@pbx>;tag=") {
		t.Errorf("REGISTER answer:\n%s", resp)
	}
	if resp := send("FOO", ""); !strings.HasPrefix(resp, "SIP/2.0 501 Not Implemented\r\n") {
		t.Errorf("unknown method answer:\n%s", resp)
	}
	// A hostile Authorization (quotes, CR-free control bytes, "]") is captured byte for byte.
	resp = send("INVITE", "Authorization: Digest username=\"adm\\\"in]\x1b[31m\", realm=\"pbx.example.com\", nonce=\"1/2\", uri=\"sip:100@pbx\", response=\"0123456789abcdef0123456789abcdef\"\r\n")
	if !strings.HasPrefix(resp, "SIP/2.0 401") {
		t.Errorf("INVITE with bad credentials:\n%s", resp)
	}
	e := h.Wait(t, 5*time.Second, "hostile digest", servicetest.Type(event.Auth, "nonce=1/2", "nonce_valid=false"))
	if e.Fields["username_b64"] == "" || e.Fields["username"] != `adm"in]\x1b[31m` {
		t.Errorf("username captured as %q (b64 %q)", e.Fields["username"], e.Fields["username_b64"])
	}
	h.Wait(t, 5*time.Second, "tcp request", servicetest.Type(event.Request, "transport=tcp", "method=FOO", "status=501"))
}

func TestNmapIdentifiesFreePBX(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan skipped in -short mode")
	}
	// nmap sends its SIP probe only to SIP's port: listen on 5060 of a loopback address
	// of our own (root only).
	testenv.RequireRoot(t)
	_, port := start(t, service.Config{}, "127.0.0.60:5060")
	if port != 5060 {
		t.Fatalf("listening on %d", port)
	}
	for _, args := range [][]string{
		{"-sV", "-Pn", "-n", "-p5060", "--script", "sip-methods", "127.0.0.60"},
		{"-sU", "-sV", "-Pn", "-n", "-p5060", "127.0.0.60"},
	} {
		out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", args...)
		if err != nil {
			t.Fatalf("nmap %v: %v\n%s", args, err, out)
		}
		if !strings.Contains(out, "FreePBX 16.0.33 (Asterisk 18.20.0)") {
			t.Errorf("nmap %v does not see FreePBX:\n%s", args, out)
		}
		if args[0] == "-sV" && !strings.Contains(out, "OPTIONS, REGISTER, SUBSCRIBE") {
			t.Errorf("sip-methods did not list the methods:\n%s", out)
		}
	}
}
