package shell

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// term drives Interact over a net.Pipe like an SSH client with a PTY.
type term struct {
	t      *testing.T
	client net.Conn
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan error
	cancel context.CancelFunc
}

func startTerm(t *testing.T, s *Shell, crlf bool) *term {
	t.Helper()
	server, client := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	tm := &term{t: t, client: client, done: make(chan error, 1), cancel: cancel}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := client.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := s.Interact(ctx, server, crlf)
		server.Close()
		tm.done <- err
	}()
	t.Cleanup(func() { cancel(); client.Close() })
	return tm
}

func (tm *term) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *term) send(s string) {
	tm.t.Helper()
	tm.client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := tm.client.Write([]byte(s)); err != nil {
		tm.t.Fatalf("writing %q to the terminal: %v", s, err)
	}
}

// waitFor waits until the output holds want n times.
func (tm *term) waitFor(want string, n int) string {
	tm.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if out := tm.output(); strings.Count(out, want) >= n {
			return out
		}
		time.Sleep(2 * time.Millisecond)
	}
	tm.t.Fatalf("timed out waiting for %d× %q; output so far:\n%q", n, want, tm.output())
	return ""
}

func (tm *term) wait() error {
	tm.t.Helper()
	select {
	case err := <-tm.done:
		return err
	case <-time.After(5 * time.Second):
		tm.t.Fatal("Interact did not return")
		return nil
	}
}

func TestInteractEditing(t *testing.T) {
	s, rec := newTest(t, testDebian, "root")
	tm := startTerm(t, s, false)
	prompt := "root@web-prod-03:~# "
	tm.waitFor(prompt, 1)

	// Typo fixed with backspace and DEL; arrow keys are ignored.
	tm.send("whoamxx\x7f\bi\x1b[A\x1b[D\x1bOB\r")
	out := tm.waitFor(prompt, 2)
	if !strings.Contains(out, "whoamxx\b \b\b \bi\nroot\n") {
		t.Errorf("editing echo/output wrong: %q", out)
	}
	// ^C abandons the line.
	tm.send("rm -rf /important\x03")
	out = tm.waitFor(prompt, 3)
	if !strings.Contains(out, "rm -rf /important^C\n"+prompt) {
		t.Errorf("^C output wrong: %q", out)
	}
	// ^U erases the line; \n also ends a line.
	tm.send("garbage\x15id -u\n")
	out = tm.waitFor(prompt, 4)
	if !strings.Contains(out, "id -u\n0\n") {
		t.Errorf("^U/\\n output wrong: %q", out)
	}
	// ^D in the middle of a line is ignored; a continuation line for an open quote.
	tm.send("echo \x04'a\r")
	tm.waitFor("> ", 1)
	tm.send("b'\r")
	out = tm.waitFor(prompt, 5)
	if !strings.Contains(out, "a\nb\n") {
		t.Errorf("continuation output wrong: %q", out)
	}
	// ^D on an empty line ends the session.
	tm.send("\x04")
	if err := tm.wait(); err != nil {
		t.Errorf("Interact returned %v after ^D", err)
	}
	if out := tm.output(); !strings.HasSuffix(out, prompt+"logout\n") {
		t.Errorf("^D should print logout: %q", out)
	}
	cmds := rec.of("command")
	var got []string
	for _, c := range cmds {
		got = append(got, c["command"])
	}
	want := []string{"whoami", "id -u", "echo 'a\nb'"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("command events = %q, want %q", got, want)
	}
}

func TestInteractCRLFAndExit(t *testing.T) {
	s, _ := newTest(t, testRocky, "root")
	tm := startTerm(t, s, true)
	tm.waitFor("[root@web-prod-03 ~]# ", 1)
	tm.send("echo a; echo b\r\n")
	out := tm.waitFor("[root@web-prod-03 ~]# ", 2)
	if !strings.Contains(out, "echo a; echo b\r\na\r\nb\r\n[root@") {
		t.Errorf("CRLF output wrong: %q", out)
	}
	if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Errorf("bare \\n in CRLF mode: %q", out)
	}
	tm.send("exit\r")
	if err := tm.wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if !strings.HasSuffix(tm.output(), "exit\r\nlogout\r\n") {
		t.Errorf("exit output: %q", tm.output())
	}
}

func TestInteractSudoPassword(t *testing.T) {
	s, rec := newTest(t, testUbuntu, "deploy")
	tm := startTerm(t, s, false)
	prompt := "deploy@web-prod-03:~$ "
	tm.waitFor(prompt, 1)
	tm.send("sudo su -\r")
	tm.waitFor("[sudo] password for deploy: ", 1)
	tm.send("hunter2\r")
	out := tm.waitFor(prompt, 2)
	if strings.Contains(out, "hunter2") {
		t.Errorf("the password was echoed: %q", out)
	}
	if !strings.Contains(out, "deploy is not in the sudoers file.  This incident will be reported.\n") {
		t.Errorf("sudo output: %q", out)
	}
	auth := rec.of("auth")
	if len(auth) != 1 || auth[0]["password"] != "hunter2" || auth[0]["username"] != "deploy" || auth[0]["method"] != "sudo" {
		t.Errorf("auth events = %v", auth)
	}
	tm.send("exit\r")
	tm.wait()
}

func TestInteractEOFAndCancel(t *testing.T) {
	// The client closes its side: Interact returns nil.
	s, _ := newTest(t, testDebian, "root")
	tm := startTerm(t, s, false)
	tm.waitFor("# ", 1)
	tm.send("echo partial")
	tm.waitFor("echo partial", 1)
	tm.client.Close()
	if err := tm.wait(); err != nil {
		t.Errorf("EOF: Interact returned %v", err)
	}

	// The context ends: Interact returns its error without waiting for input.
	s2, _ := newTest(t, testDebian, "root")
	tm2 := startTerm(t, s2, false)
	tm2.waitFor("# ", 1)
	tm2.cancel()
	if err := tm2.wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: Interact returned %v", err)
	}
}

func TestInteractLongLine(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	tm := startTerm(t, s, false)
	tm.waitFor("# ", 1)
	tm.send("echo " + strings.Repeat("x", 3*maxInteractiveLine) + "\r")
	out := tm.waitFor("# ", 2)
	idx := strings.LastIndex(out, "\n"+strings.Repeat("x", 10))
	if idx < 0 {
		t.Fatalf("no output line: %q", out[len(out)-200:])
	}
	line := out[idx+1:]
	line = line[:strings.IndexByte(line, '\n')]
	if len(line) != maxInteractiveLine-len("echo ") {
		t.Errorf("echoed line has %d bytes, want the bounded %d", len(line), maxInteractiveLine-len("echo "))
	}
	tm.send("exit\r")
	tm.wait()
}

// pipeRW feeds a fixed byte stream and discards output, for fuzzing.
type pipeRW struct {
	r io.Reader
	w io.Writer
}

func (p pipeRW) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }
