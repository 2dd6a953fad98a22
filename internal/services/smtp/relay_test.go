package smtp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
)

func startRelay(t *testing.T, distro string, persona map[string]string, dir string) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "smtp_relay", service.Config{Hostname: "mail", Distro: distro, Persona: persona, ArtifactDir: dir})
}

// TestSwaksRelayAcceptsForeignMail sends spam to a foreign domain through the open
// relay with swaks: Postfix's own queued reply, and the message kept as an artifact
// whose event names the envelope and subject.
func TestSwaksRelayAcceptsForeignMail(t *testing.T) {
	dir := t.TempDir()
	h := startRelay(t, "debian", map[string]string{"domain": "corp.example"}, dir)
	out := swaks(t, h, "--to", "victim@example.org,second@gmail.com", "--from", "spam@x.example",
		"--header", "Subject: Cheap meds ]\"now\"", "--body", "Buy now.\n")
	m := regexp.MustCompile(`<-  250 2\.0\.0 Ok: queued as ([0-9A-F]{10,11})`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "<-  220 mail.corp.example ESMTP Postfix (Debian/GNU)") ||
		!strings.Contains(out, "<-  250 2.1.5 Ok") {
		t.Fatalf("relay did not queue like Postfix:\n%s", out)
	}
	h.Wait(t, wait, "relayed rcpt", servicetest.Type(event.Command, "verb=RCPT", "to=victim@example.org", "outcome=relayed", "reply=250 2.1.5 Ok"))
	e := h.Wait(t, wait, "message", servicetest.Type(event.FileUpload, "kind=mail"))
	if e.Fields["queue_id"] != m[1] || e.Fields["from"] != "spam@x.example" || e.Fields["to"] != "victim@example.org,second@gmail.com" ||
		e.Fields["rcpt_count"] != "2" || e.Fields["subject"] != `Cheap meds ]"now"` || e.Fields["relay"] != "true" ||
		e.Fields["stored"] != "true" || e.Fields["outcome"] != "queued" || e.AttackerIP != "127.0.0.1" {
		t.Fatalf("message event wrong: %+v", e.Fields)
	}
	stored, err := os.ReadFile(filepath.Join(dir, e.Fields["sha256"]))
	if err != nil {
		t.Fatalf("relayed message not stored under its hash: %v", err)
	}
	sum := sha256.Sum256(stored)
	if hex.EncodeToString(sum[:]) != e.Fields["sha256"] || fmt.Sprint(len(stored)) != e.Fields["size"] || !bytes.Contains(stored, []byte("Buy now.")) {
		t.Errorf("stored message does not match its event (%d bytes)", len(stored))
	}
}

// TestSwaksRelayAuthAccepted logs in with swaks: the open relay answers 235, the
// credential is captured with outcome=success, and the mail after it is queued.
func TestSwaksRelayAuthAccepted(t *testing.T) {
	h := startRelay(t, "ubuntu22", nil, t.TempDir())
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		out := swaks(t, h, "--to", "victim@example.org", "--from", "spam@x.example", "--auth", mech,
			"--auth-user", "mailer@"+mech, "--auth-password", "s3cr]t"+mech)
		if !strings.Contains(out, "<~  235 2.7.0 Authentication successful") && !strings.Contains(out, "<-  235 2.7.0 Authentication successful") {
			t.Fatalf("swaks %s was not let in:\n%s", mech, out)
		}
		if !regexp.MustCompile(`<-  250 2\.0\.0 Ok: queued as [0-9A-F]{10,11}`).MatchString(out) {
			t.Fatalf("mail after AUTH %s not queued:\n%s", mech, out)
		}
		e := h.Wait(t, wait, "auth "+mech, servicetest.Type(event.Auth, "mechanism="+mech))
		if e.Fields["username"] != "mailer@"+mech || e.Fields["password"] != "s3cr]t"+mech || e.Fields["outcome"] != "success" ||
			e.Fields["secret_kind"] != "plaintext" || !e.IsCredential() {
			t.Errorf("auth event wrong: %+v", e.Fields)
		}
	}
	h.Wait(t, wait, "authenticated message", servicetest.Type(event.FileUpload, "authenticated=true", "relay=true"))
}

// TestRelayConversation checks the relay's replies where they differ from the
// closed server's, for both MTAs.
func TestRelayConversation(t *testing.T) {
	cases := []struct {
		name, distro string
		persona      map[string]string
		steps        [][2]string
	}{
		{"postfix", "ubuntu22", nil, [][2]string{
			{"EHLO x", "250-mail"},
			{"AUTH PLAIN AGEAYg==", "235 2.7.0 Authentication successful"},
			{"AUTH PLAIN AGEAYg==", "503 5.5.1 Error: already authenticated"},
			{"MAIL FROM:<a@b.example>", "250 2.1.0 Ok"},
			{"RCPT TO:<x@y.example>", "250 2.1.5 Ok"},
			{"RCPT TO:<nobody@localdomain>", "550 5.1.1 <nobody@localdomain>: Recipient address rejected: User unknown in local recipient table"},
			{"DATA", "354 End data with <CR><LF>.<CR><LF>"},
		}},
		{"exim", "debian", map[string]string{"server": "exim"}, [][2]string{
			{"EHLO x", "250-mail Hello x [127.0.0.1]"},
			{"AUTH PLAIN AGEAYg==", "235 Authentication succeeded"},
			{"MAIL FROM:<a@b.example>", "250 OK"},
			{"RCPT TO:<x@y.example>", "250 Accepted"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startRelay(t, tc.distro, tc.persona, t.TempDir())
			c, err := net.DialTimeout("tcp", h.Addr(25), wait)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			buf := make([]byte, 4096)
			read := func() string {
				var got []byte
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					lines := strings.Split(strings.TrimRight(string(got), "\r\n"), "\r\n")
					if last := lines[len(lines)-1]; len(last) >= 4 && last[3] == ' ' && bytes.HasSuffix(got, []byte("\r\n")) {
						return lines[0]
					}
					if err != nil {
						t.Fatalf("read: %v (%q)", err, got)
					}
				}
			}
			read()
			for _, s := range tc.steps {
				fmt.Fprintf(c, "%s\r\n", s[0])
				if got := read(); !strings.HasPrefix(got, s[1]) {
					t.Errorf("%q: got %q, want %q", s[0], got, s[1])
				}
			}
		})
	}
}

// TestNmapSeesOpenRelay runs nmap's smtp-open-relay script (and -sV): it must
// call the relay open and name the server Postfix smtpd.
func TestNmapSeesOpenRelay(t *testing.T) {
	h := startRelay(t, "ubuntu22", nil, t.TempDir())
	_, port, _ := net.SplitHostPort(h.Addr(25))
	out, err := servicetest.Run(t, 4*time.Minute, nil, "nmap", "-Pn", "-sV", "--version-intensity", "7", "--script", "smtp-open-relay", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+smtp\s+Postfix smtpd`).MatchString(out) {
		t.Fatalf("nmap did not name Postfix smtpd:\n%s", out)
	}
	if !regexp.MustCompile(`smtp-open-relay: Server is an open relay \(\d+/16 tests\)`).MatchString(out) {
		t.Fatalf("nmap did not find the open relay:\n%s", out)
	}
	h.Wait(t, wait, "relay probe", servicetest.Type(event.Command, "verb=RCPT", "outcome=relayed"))
}

// FuzzRelaySession feeds arbitrary client bytes to the open relay: no panic,
// bounded answers and fields.
func FuzzRelaySession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH LOGIN\r\nMAIL FROM:<a@b>\r\nRCPT TO:<v@gmail.com>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<\"relaytest@nmap.scanme.org\"@[127.0.0.1]>\r\nRCPT TO:<nmap.scanme.org!relaytest>\r\nBDAT 3 LAST\r\nabc",
	} {
		f.Add([]byte(s))
	}
	s := &server{d: postfix(""), host: "mail", domain: "localdomain", mailboxes: map[string]bool{"root": true}, maxSize: 4096, save: hashOnly, relay: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		events := 0
		emit := func(typ string, fields map[string]string, msg string) {
			events++
			for k, v := range fields {
				if len(v) > 24<<10 {
					t.Fatalf("%s field %s is %d bytes", typ, k, len(v))
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.serveConn(ctx, &fuzzConn{Reader: servicetest.Pieces(data), t: t}, "192.0.2.1", emit)
		if events > len(data)+2 {
			t.Fatalf("%d events from %d bytes", events, len(data))
		}
	})
}
