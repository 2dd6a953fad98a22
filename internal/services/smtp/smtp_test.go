package smtp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
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
	return servicetest.Start(t, "smtp", service.Config{Hostname: "mail", Distro: distro, Persona: persona, ArtifactDir: t.TempDir()})
}

func swaks(t *testing.T, h *servicetest.Harness, args ...string) string {
	t.Helper()
	testenv.RequireTool(t, "swaks")
	host, port, _ := net.SplitHostPort(h.Addr(25))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "swaks", append([]string{"--server", host, "--port", port, "--helo", "attacker.example", "--timeout", "10"}, args...)...).CombinedOutput()
	return string(out)
}

func TestSwaksAuthCapture(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{"domain": "example.org"})
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		pass := `pa"ss]` + mech + "\\x"
		out := swaks(t, h, "--to", "root@example.org", "--from", "a@b.example", "--auth", mech, "--auth-user", "alice@"+mech, "--auth-password", pass, "--quit-after", "AUTH")
		if !strings.Contains(out, "<** 535 5.7.8 Error: authentication failed: authentication failure") {
			t.Fatalf("swaks %s did not see Postfix's failure:\n%s", mech, out)
		}
		if !strings.Contains(out, "<-  220 mail.example.org ESMTP Postfix (Ubuntu)") || !strings.Contains(out, "<-  250-AUTH PLAIN LOGIN") {
			t.Fatalf("greeting or EHLO not Postfix-like:\n%s", out)
		}
		e := h.Wait(t, wait, "auth "+mech, servicetest.Type(event.Auth, "mechanism="+mech))
		if e.Fields["username"] != "alice@"+mech || e.Fields["password"] != strings.ReplaceAll(pass, `\`, `\\`) ||
			e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte(pass)) || e.Fields["secret_kind"] != "plaintext" ||
			e.Fields["outcome"] != "failure" || e.AttackerIP != "127.0.0.1" || e.Fields["helo"] != "attacker.example" {
			t.Errorf("auth event wrong: %+v", e.Fields)
		}
		if !e.IsCredential() {
			t.Error("auth event is not a credential event")
		}
	}
}

func TestSwaksRelayDenied(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	out := swaks(t, h, "--to", "victim@gmail.com", "--from", "spam@spammer.example")
	if !strings.Contains(out, "<** 454 4.7.1 <victim@gmail.com>: Relay access denied") {
		t.Fatalf("relay not denied like Postfix:\n%s", out)
	}
	e := h.Wait(t, wait, "relay attempt", servicetest.Type(event.Command, "verb=RCPT", "outcome=relay_denied"))
	if e.Fields["to"] != "victim@gmail.com" || e.Fields["reply"] != "454 4.7.1 <victim@gmail.com>: Relay access denied" {
		t.Errorf("relay event wrong: %+v", e.Fields)
	}
	h.Wait(t, wait, "mail from", servicetest.Type(event.Command, "verb=MAIL", "from=spam@spammer.example", "reply=250 2.1.0 Ok"))
}

func TestSwaksDeliveredMessageStored(t *testing.T) {
	dir := t.TempDir()
	h := servicetest.Start(t, "smtp", service.Config{Hostname: "mx1.corp.example", Distro: "debian", ArtifactDir: dir})
	out := swaks(t, h, "--to", "postmaster@corp.example,Admin@mx1.corp.example", "--from", "boss@corp.example",
		"--header", "Subject: Invoice ]\"overdue\"", "--body", "Please pay.\n.hidden dot line\n")
	re := regexp.MustCompile(`<-  250 2\.0\.0 Ok: queued as ([0-9A-F]{10,11})`)
	m := re.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "<-  220 mx1.corp.example ESMTP Postfix (Debian/GNU)") {
		t.Fatalf("message not queued like Postfix:\n%s", out)
	}
	e := h.Wait(t, wait, "message", servicetest.Type(event.FileUpload, "kind=mail"))
	if e.Fields["queue_id"] != m[1] || e.Fields["from"] != "boss@corp.example" || e.Fields["to"] != "postmaster@corp.example,Admin@mx1.corp.example" ||
		e.Fields["subject"] != `Invoice ]"overdue"` || e.Fields["stored"] != "true" {
		t.Fatalf("message event wrong: %+v", e.Fields)
	}
	stored, err := os.ReadFile(filepath.Join(dir, e.Fields["sha256"]))
	if err != nil {
		t.Fatalf("message not stored under its hash: %v", err)
	}
	sum := sha256.Sum256(stored)
	if hex.EncodeToString(sum[:]) != e.Fields["sha256"] || fmt.Sprint(len(stored)) != e.Fields["size"] {
		t.Errorf("stored message does not match its event (%d bytes)", len(stored))
	}
	if !strings.Contains(string(stored), "\r\n.hidden dot line\r\n") || !strings.Contains(string(stored), "Subject: Invoice") {
		t.Errorf("stored message not dot-unstuffed or incomplete:\n%s", stored)
	}
}

// TestCurlStartTLS upgrades with STARTTLS (curl; Debian's swaks lacks
// Net::SSLeay) and checks that AUTH after TLS is captured too.
func TestCurlStartTLS(t *testing.T) {
	testenv.RequireTool(t, "curl")
	h := start(t, "ubuntu22", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", "-v", "-sS", "--ssl-reqd", "-k", "--login-options", "AUTH=LOGIN", "--user", "bob:tlspw",
		"--mail-from", "bob@localdomain", "--mail-rcpt", "root@localdomain", "-T", "/dev/null", "smtp://"+h.Addr(25)+"/client.example").CombinedOutput()
	if err == nil {
		t.Fatalf("curl logged in:\n%s", out)
	}
	for _, want := range []string{"< 220 2.0.0 Ready to start TLS", "SSL connection using TLS", "< 535 5.7.8 Error: authentication failed: authentication failure"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("curl output lacks %q:\n%s", want, out)
		}
	}
	h.Wait(t, wait, "auth over TLS", servicetest.Type(event.Auth, "username=bob", "password=tlspw", "tls=true", "mechanism=LOGIN"))
	h.Wait(t, wait, "TLS fingerprint", servicetest.Type(event.Fingerprint, "sni="))
}

// TestConversation checks reply texts for the commands scanners and bots use.
func TestConversation(t *testing.T) {
	type step struct{ send, want string }
	cases := []struct {
		name, distro string
		persona      map[string]string
		greet        string
		steps        []step
	}{
		{"postfix", "ubuntu22", nil, "220 mail ESMTP Postfix (Ubuntu)", []step{
			{"HELO x", "250 mail"},
			{"EHLO", "501 Syntax: EHLO hostname"},
			{"VRFY root", "252 2.0.0 root"},
			{"VRFY nobody", "550 5.1.1 <nobody>: Recipient address rejected: User unknown in local recipient table"},
			{"EXPN staff", "502 5.5.2 Error: command not recognized"},
			{"RCPT TO:<root@localdomain>", "503 5.5.1 Error: need MAIL command"},
			{"DATA", "503 5.5.1 Error: need RCPT command"},
			{"MAIL FROM:<>", "250 2.1.0 Ok"},
			{"MAIL FROM:<a@b>", "503 5.5.1 Error: nested MAIL command"},
			{"RCPT TO:<nobody@localdomain>", "550 5.1.1 <nobody@localdomain>: Recipient address rejected: User unknown in local recipient table"},
			{"RCPT TO:<x@y.example> NOTIFY=NEVER", "454 4.7.1 <x@y.example>: Relay access denied"},
			{"RCPT TO:<root+tag@MAIL>", "250 2.1.5 Ok"},
			{"RCPT TO:<root@localdomain> FOO=1", "555 5.5.4 Unsupported option: FOO=1"},
			{"DATA x", "501 5.5.4 Syntax: DATA"},
			{"RSET", "250 2.0.0 Ok"},
			{"MAIL FROM:<a@b> SIZE=99999999", "552 5.3.4 Message size exceeds fixed limit"},
			{"MAIL FROM:a b c", "555 5.5.4 Unsupported option: b"},
			{"MAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>"},
			{"AUTH CRAM-MD5", "535 5.7.8 Error: authentication failed: Invalid authentication mechanism"},
			{"AUTH PLAIN *", "501 5.7.0 Authentication aborted"},
			{"AUTH PLAIN !!!", "501 5.5.2 Cannot decode response"},
			{"STARTTLS now", "501 5.5.4 Syntax: STARTTLS"},
			{"ETRN example.org", "458 Unable to queue messages"},
			{"GET / HTTP/1.0", "502 5.5.2 Error: command not recognized"},
			{"NOOP", "250 2.0.0 Ok"},
			{"QUIT", "221 2.0.0 Bye"},
		}},
		{"postfix-rocky", "rocky9", map[string]string{"starttls": "false"}, "220 mail ESMTP Postfix", []step{
			{"AUTH PLAIN", "503 5.5.1 Error: send HELO/EHLO first"},
			{"STARTTLS", "502 5.5.1 Error: command not implemented"},
		}},
		{"exim", "debian", map[string]string{"server": "exim"}, "220 mail ESMTP Exim 4.96 ", []step{
			{"EHLO x", "250-mail Hello x [127.0.0.1]"},
			{"MAIL FROM:<a@b>", "250 OK"},
			{"RCPT TO:<x@y.example>", "550 relay not permitted"},
			{"RCPT TO:<root@localdomain>", "250 Accepted"},
			{"VRFY root", "252 Administrative prohibition"},
			{"RSET", "250 Reset OK"},
			{"QUIT", "221 mail closing connection"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.distro, tc.persona)
			c, err := net.DialTimeout("tcp", h.Addr(25), wait)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			r := bufio.NewReader(c)
			readReply := func() string {
				var last string
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						t.Fatalf("read: %v (so far %q)", err, last)
					}
					if last == "" {
						last = strings.TrimRight(l, "\r\n")
					}
					if len(l) < 4 || l[3] != '-' {
						return last
					}
				}
			}
			if g := readReply(); !strings.HasPrefix(g, tc.greet) {
				t.Fatalf("greeting %q, want prefix %q", g, tc.greet)
			}
			for _, s := range tc.steps {
				fmt.Fprintf(c, "%s\r\n", s.send)
				if got := readReply(); got != s.want {
					t.Errorf("%q: got %q, want %q", s.send, got, s.want)
				}
			}
		})
	}
}

func TestNmapNamesPostfix(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	h := start(t, "ubuntu22", nil)
	_, port, _ := net.SplitHostPort(h.Addr(25))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nmap", "-Pn", "-sV", "--version-intensity", "7", "-p", port, "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+smtp\s+Postfix smtpd`).Match(out) {
		t.Fatalf("nmap did not name Postfix smtpd:\n%s", out)
	}
}
