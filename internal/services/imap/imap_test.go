package imap

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
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
	return servicetest.Start(t, "imap", service.Config{Hostname: "mail.corp.example", Distro: distro, Persona: persona, ArtifactDir: t.TempDir()})
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return servicetest.Run(t, 60*time.Second, nil, name, args...)
}

func TestCurlListAndFetch(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{"users": "alice:Summer2024!"})
	base := "imap://alice:Summer2024%21@" + h.Addr(143)
	out, err := runTool(t, "curl", "-sS", base+"/")
	if err != nil {
		t.Fatalf("curl list: %v\n%s", err, out)
	}
	if !strings.Contains(out, `* LIST (\HasNoChildren) "/" INBOX`) || !strings.Contains(out, `* LIST (\HasNoChildren \Sent) "/" Sent`) {
		t.Fatalf("folder list = %q", out)
	}
	h.Wait(t, wait, "login", servicetest.Type(event.Auth, "username=alice", "password=Summer2024!", "outcome=success"))

	out, err = runTool(t, "curl", "-sS", base+"/INBOX")
	if err != nil || !strings.Contains(out, `* LIST (\HasNoChildren) "/" INBOX`) {
		t.Fatalf("curl INBOX: %v\n%s", err, out)
	}
	out, err = runTool(t, "curl", "-sS", base+"/INBOX;MAILINDEX=1")
	if err != nil {
		t.Fatalf("curl fetch: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Subject: Your VPN account is ready\r\n") || !strings.Contains(out, "Password: Welcome2024!") {
		t.Fatalf("FETCH 1 did not return the bait message:\n%s", out)
	}
	out, err = runTool(t, "curl", "-sS", base+"/INBOX;UID=2")
	if err != nil || !strings.Contains(out, "nightly-backup.sh") {
		t.Fatalf("UID FETCH 2: %v\n%s", err, out)
	}
	h.Wait(t, wait, "select", servicetest.Type(event.Command, "username=alice", "command=A003 SELECT INBOX"))
}

func TestCurlWrongPasswordCaptured(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{"users": "alice:right"})
	for i, opt := range []string{"", "AUTH=LOGIN"} {
		args := []string{"-v", "-sS"}
		if opt != "" {
			args = append(args, "--login-options", opt)
		}
		out, err := runTool(t, "curl", append(args, "imap://alice:wr%22ong%5D"+fmt.Sprint(i)+"@"+h.Addr(143)+"/")...)
		if err == nil || !strings.Contains(out, "NO [AUTHENTICATIONFAILED] Authentication failed.") ||
			!strings.Contains(out, "< * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN] Dovecot (Ubuntu) ready.") {
			t.Fatalf("curl (%s) not refused like Dovecot: %v\n%s", opt, err, out)
		}
		pw := `wr"ong]` + fmt.Sprint(i)
		e := h.Wait(t, wait, "failed login "+opt, servicetest.Type(event.Auth, "username=alice", "password="+pw, "outcome=failure"))
		if e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte(pw)) || e.Fields["secret_kind"] != "plaintext" || e.AttackerIP != "127.0.0.1" {
			t.Errorf("event wrong: %+v", e)
		}
	}
	// curl sends AUTHENTICATE PLAIN (SASL-IR) by default and AUTHENTICATE LOGIN when asked.
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		h.Wait(t, wait, "mechanism "+mech, servicetest.Type(event.Auth, "mechanism="+mech))
	}
}

// TestConversation drives the parser with literals, LITERAL+ and the replies
// Dovecot gives.
func TestConversation(t *testing.T) {
	h := start(t, "debian", map[string]string{"users": "bob:pa ss"})
	c, err := net.DialTimeout("tcp", h.Addr(143), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(c)
	expect := func(want string) {
		t.Helper()
		got, err := r.ReadString('\n')
		got = strings.TrimSuffix(got, "\r\n")
		re := regexp.MustCompile("^" + want + "$")
		if err != nil || !re.MatchString(got) {
			t.Fatalf("got %q (%v), want /%s/", got, err, want)
		}
	}
	q := regexp.QuoteMeta
	expect(q("* OK [CAPABILITY " + capPre + "] Dovecot (Debian) ready."))
	steps := []struct {
		send string
		want []string
	}{
		{"a1 CAPABILITY", []string{q("* CAPABILITY " + capPre), q("a1 OK Pre-login capabilities listed, post-login capabilities have more.")}},
		{"a2 ID (\"name\" \"x\")", []string{q(`* ID ("name" "Dovecot")`), q("a2 OK ID completed.")}},
		{"a3 SELECT INBOX", []string{q("a3 BAD Error in IMAP command received by server.")}},
		{"a4 LOGIN {3+}\r\nbob {5+}\r\nwrong", []string{q("a4 NO [AUTHENTICATIONFAILED] Authentication failed.")}},
		{"a5 AUTHENTICATE PLAIN", []string{q("+ ")}},
		{"*", []string{q("a5 BAD Authentication aborted by client.")}},
		{"a6 LOGIN bob \"pa ss\"", []string{q("a6 OK [CAPABILITY " + capPost + "] Logged in")}},
		{"a7 SELECT INBOX", []string{q(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`), `.*PERMANENTFLAGS.*`, q("* 2 EXISTS"), q("* 0 RECENT"),
			q("* OK [UNSEEN 1] First unseen."), `\* OK \[UIDVALIDITY \d+\] UIDs valid`, q("* OK [UIDNEXT 3] Predicted next UID"),
			`a7 OK \[READ-WRITE\] Select completed \(0\.00\d \+ 0\.000 secs\)\.`}},
		{"a8 UID SEARCH UNSEEN", []string{q("* SEARCH 1"), `a8 OK Search completed .*`}},
		{"a9 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", []string{
			q(`* 1 FETCH (FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {38}`), q("Subject: Your VPN account is ready"), "", q(")"),
			`\* 2 FETCH \(FLAGS \(\\Seen\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}`, `Subject: Cron .*`, "", q(")"), `a9 OK Fetch completed .*`}},
		{"b1 FETCH 2 ENVELOPE", []string{`\* 2 FETCH \(ENVELOPE \("[^"]+" "Cron <backup@mail.corp.example> /usr/local/bin/nightly-backup.sh" \(\("backup" NIL "root" "mail.corp.example"\)\) .* NIL NIL NIL "<[0-9a-f]+\.\d+@mail.corp.example>"\)\)`, `b1 OK .*`}},
		{"b2 STORE 2 +FLAGS (\\Deleted)", []string{q(`* 2 FETCH (FLAGS (\Deleted \Seen))`), `b2 OK Store completed.*`}},
		{"b3 EXPUNGE", []string{q("* 2 EXPUNGE"), `b3 OK Expunge completed.*`}},
		{"b4 LIST \"\" *", []string{q(`* LIST (\HasNoChildren) "/" INBOX`), `.*Drafts`, `.*Sent`, `.*Trash`, `.*Junk`, `b4 OK List completed.*`}},
		{"b5 XYZZY", []string{`b5 BAD Error in IMAP command XYZZY: Unknown command .*`}},
		{"b6 LOGOUT", []string{q("* BYE Logging out"), q("b6 OK Logout completed.")}},
	}
	for _, s := range steps {
		fmt.Fprintf(c, "%s\r\n", s.send)
		for _, w := range s.want {
			expect(w)
		}
	}
	h.Wait(t, wait, "literal login", servicetest.Type(event.Auth, "username=bob", "password=wrong", "mechanism=LOGIN", "outcome=failure"))
	h.Wait(t, wait, "quoted login", servicetest.Type(event.Auth, "username=bob", "password=pa ss", "outcome=success"))
}

func TestNmapNamesDovecot(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	h := start(t, "ubuntu22", nil)
	_, port, _ := net.SplitHostPort(h.Addr(143))
	out, err := runTool(t, "nmap", "-Pn", "-sV", "--version-intensity", "7", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+imap\s+Dovecot imapd`).MatchString(out) {
		t.Fatalf("nmap did not name Dovecot imapd:\n%s", out)
	}
}
