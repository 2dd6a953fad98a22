package pop3

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

const wait = 10 * time.Second

func start(t *testing.T, distro string, persona map[string]string) *servicetest.Harness {
	t.Helper()
	old := authFailureDelay
	authFailureDelay = 50 * time.Millisecond
	t.Cleanup(func() { authFailureDelay = old })
	return servicetest.Start(t, "pop3", service.Config{Hostname: "mail.corp.example", Distro: distro, Persona: persona})
}

// dial connects to the service and reads its greeting; the connection closes when
// the test ends.
func dial(t *testing.T, h *servicetest.Harness) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.Addr(110), wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(c)
	greet, _ := r.ReadString('\n')
	return c, r, greet
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return servicetest.Run(t, 60*time.Second, nil, name, args...)
}

func TestCurlListAndRetr(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{"users": "alice:Summer2024!"})
	out, err := runTool(t, "curl", "-sS", "pop3://alice:Summer2024%21@"+h.Addr(110)+"/")
	if err != nil {
		t.Fatalf("curl list: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^1 \d+\r\n2 \d+\r\n$`).MatchString(out) {
		t.Fatalf("curl list = %q", out)
	}
	h.Wait(t, wait, "successful login", servicetest.Type(event.Auth, "username=alice", "password=Summer2024!", "outcome=success", "mechanism=PLAIN"))
	out, err = runTool(t, "curl", "-sS", "pop3://alice:Summer2024%21@"+h.Addr(110)+"/1")
	if err != nil {
		t.Fatalf("curl retr: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Subject: Your VPN account is ready\r\n") || !strings.Contains(out, "Password: Welcome2024!") {
		t.Fatalf("RETR 1 did not return the bait message:\n%s", out)
	}
	h.Wait(t, wait, "RETR", servicetest.Type(event.Command, "command=RETR 1", "username=alice"))

	// A wrong password: curl sees Dovecot's failure, the pair is captured.
	out, err = runTool(t, "curl", "-v", "-sS", "pop3://alice:wrong%5Dpw@"+h.Addr(110)+"/")
	if err == nil || !strings.Contains(out, "< -ERR [AUTH] Authentication failed.") || !strings.Contains(out, "< +OK Dovecot (Ubuntu) ready.") {
		t.Fatalf("wrong password not refused like Dovecot: %v\n%s", err, out)
	}
	e := h.Wait(t, wait, "failed login", servicetest.Type(event.Auth, "username=alice", "password=wrong]pw", "outcome=failure"))
	if e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte("wrong]pw")) || e.Fields["secret_kind"] != "plaintext" || e.AttackerIP != "127.0.0.1" {
		t.Errorf("failed login event wrong: %+v", e)
	}
}

func TestHydraEveryPairCaptured(t *testing.T) {
	testenv.RequireTool(t, "hydra")
	h := start(t, "debian", nil)
	dir := t.TempDir()
	pws := []string{"123456", "password1", "qwerty", "letmein", "dragon"}
	os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(strings.Join(pws, "\n")+"\n"), 0o600)
	host, port, _ := net.SplitHostPort(h.Addr(110))
	out, _ := runTool(t, "hydra", "-I", "-t", "4", "-l", "postmaster", "-P", filepath.Join(dir, "pw.txt"), "-s", port, host, "pop3")
	if !strings.Contains(out, "0 valid password") {
		t.Errorf("hydra found a password or failed:\n%s", out)
	}
	for _, pw := range pws {
		h.Wait(t, wait, "hydra pair "+pw, servicetest.Type(event.Auth, "username=postmaster", "password="+pw, "outcome=failure"))
	}
}

// TestAPOPCaptureCracks sends a real APOP digest and cracks the captured hash
// with hashcat's md5($salt.$pass) mode.
func TestAPOPCaptureCracks(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{"apop": "true"})
	c, r, greet := dial(t, h)
	m := regexp.MustCompile(`^\+OK Dovecot \(Ubuntu\) ready\. (<[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+\.[\w-]+@mail\.corp\.example>)\r\n$`).FindStringSubmatch(greet)
	if m == nil {
		t.Fatalf("greeting %q has no APOP challenge", greet)
	}
	fmt.Fprintf(c, "APOP bob %s\r\n", apopDigest(m[1], "sunshine"))
	if l, _ := r.ReadString('\n'); l != "-ERR [AUTH] Authentication failed.\r\n" {
		t.Fatalf("APOP answer %q", l)
	}
	e := h.Wait(t, wait, "apop", servicetest.Type(event.Auth, "mechanism=APOP", "username=bob", "secret_kind=apop", "challenge="+m[1]))
	if e.Fields["hash"] != apopDigest(m[1], "sunshine")+":"+m[1] {
		t.Fatalf("hash %q", e.Fields["hash"])
	}
	if got := servicetest.Hashcat(t, "20", e.Fields["hash"], []string{"password", "letmein", "sunshine", "qwerty"}); got != "sunshine" {
		t.Fatalf("hashcat -m 20 recovered %q from the APOP digest, want sunshine", got)
	}
}

func TestConversation(t *testing.T) {
	type step struct{ send, want string }
	cases := []struct {
		name, distro string
		persona      map[string]string
		greet        string
		steps        []step
	}{
		{"dovecot", "ubuntu22", map[string]string{"users": "alice:pw"}, "+OK Dovecot (Ubuntu) ready.", []step{
			{"CAPA", "+OK|CAPA|TOP|UIDL|RESP-CODES|PIPELINING|AUTH-RESP-CODE|USER|SASL PLAIN LOGIN|."},
			{"PASS x", "-ERR No username given."},
			{"APOP a b", "-ERR APOP not enabled."},
			{"USER alice", "+OK"},
			{"PASS nope", "-ERR [AUTH] Authentication failed."},
			{"AUTH", "+OK|PLAIN|LOGIN|."},
			{"AUTH PLAIN", "+ "},
			{"*", "-ERR Authentication aborted by client."},
			{"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pw")), "+OK Logged in."},
			{"STAT", "+OK 2 *"},
			{"LIST 3", "-ERR There's no message 3."},
			{"UIDL 1", "+OK 1 00000001*"},
			{"DELE 2", "+OK Marked to be deleted."},
			{"LIST", "+OK 1 messages:|1 *|."},
			{"RETR 2", "-ERR Message is deleted."},
			{"RSET", "+OK"},
			{"XYZZY", "-ERR Unknown command: XYZZY"},
			{"QUIT", "+OK Logging out."},
		}},
		{"dovecot-bad", "rocky9", nil, "+OK Dovecot ready.", []step{
			{"", "-ERR Unknown command."},
			{"GET / HTTP/1.0", "-ERR Unknown command."},
			{"HELP", "-ERR Unknown command.|-ERR Too many invalid commands."},
		}},
		{"courier", "debian", map[string]string{"server": "courier"}, "+OK Hello there.", []step{
			{"USER a", "+OK Password required."},
			{"PASS b", "-ERR Login failed."},
			{"QUIT", "+OK Better luck next time."},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.distro, tc.persona)
			c, r, g := dial(t, h)
			if g != tc.greet+"\r\n" {
				t.Fatalf("greeting %q", g)
			}
			for _, s := range tc.steps {
				fmt.Fprintf(c, "%s\r\n", s.send)
				for _, want := range strings.Split(s.want, "|") {
					got, err := r.ReadString('\n')
					got = strings.TrimSuffix(got, "\r\n")
					if err != nil || !(got == want || strings.HasSuffix(want, "*") && strings.HasPrefix(got, strings.TrimSuffix(want, "*"))) {
						t.Fatalf("%q: got %q (%v), want %q", s.send, got, err, want)
					}
				}
			}
		})
	}
}

func TestNmapNamesDovecot(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	h := start(t, "ubuntu22", nil)
	_, port, _ := net.SplitHostPort(h.Addr(110))
	out, err := runTool(t, "nmap", "-Pn", "-sV", "--version-intensity", "7", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+pop3\s+Dovecot pop3d`).MatchString(out) {
		t.Fatalf("nmap did not name Dovecot pop3d:\n%s", out)
	}
}

// TestLongHostileUserCut: a user name over maxCredential is cut on a character
// boundary; the event shows the escaped prefix, its exact bytes in username_b64,
// and says truncated.
func TestLongHostileUserCut(t *testing.T) {
	h := start(t, "debian", nil)
	c, r, _ := dial(t, h)
	user := "\x1b[31m" + strings.Repeat("u", maxCredential-6) + "éxyz" // é straddles the limit
	fmt.Fprintf(c, "USER %s\r\n", user)
	r.ReadString('\n')
	fmt.Fprintf(c, "PASS pw\r\n")
	r.ReadString('\n')
	e := h.Wait(t, wait, "auth", servicetest.Type(event.Auth, "mechanism=USER"))
	kept := user[:maxCredential-1]
	if e.Fields["username"] != event.SafeTerminal(kept) || e.Fields["truncated"] != "true" {
		t.Errorf("username %q (truncated=%q), want %q", e.Fields["username"], e.Fields["truncated"], event.SafeTerminal(kept))
	}
	if b, _ := base64.StdEncoding.DecodeString(e.Fields["username_b64"]); string(b) != kept {
		t.Errorf("username_b64 holds %q, want the %d bytes kept", b, len(kept))
	}
}
