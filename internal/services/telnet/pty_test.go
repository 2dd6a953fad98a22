//go:build linux

package telnet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// term drives a real interactive program (the Debian telnet client) on a pseudo
// terminal, expect-style: what a person at a keyboard would type and see.
type term struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // bytes of out already consumed by expect
	done chan struct{}
}

// openPTY opens a pseudo-terminal pair (posix_openpt, unlockpt, ptsname).
func openPTY() (ptmx, tty *os.File, err error) {
	ptmx, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return ptmx, tty, nil
}

func startTerm(t *testing.T, name string, args ...string) *term {
	t.Helper()
	ptmx, tty, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	tty.Close()
	tm := &term{t: t, cmd: cmd, ptmx: ptmx, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		ptmx.Close()
		<-tm.done
	})
	return tm
}

// expect waits until want appears in the output after the last match and returns
// the output up to and including it.
func (tm *term) expect(want string, timeout time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tm.mu.Lock()
		s := tm.out.String()[tm.seen:]
		if i := strings.Index(s, want); i >= 0 {
			tm.seen += i + len(want)
			tm.mu.Unlock()
			return s[:i+len(want)]
		}
		tm.mu.Unlock()
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q not seen within %v; terminal shows:\n%s", want, timeout, s)
		}
		select {
		case <-tm.done:
			tm.mu.Lock()
			s := tm.out.String()[tm.seen:]
			tm.mu.Unlock()
			if !strings.Contains(s, want) {
				tm.t.Fatalf("%q not seen before the program ended; terminal shows:\n%s", want, s)
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// all returns everything the terminal showed so far.
func (tm *term) all() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// send types s (use "\r" for Enter, as a keyboard does).
func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.ptmx.Write([]byte(s)); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
}

// wait waits for the program to end.
func (tm *term) wait(timeout time.Duration) {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(timeout):
		tm.t.Fatalf("program did not end within %v; terminal shows:\n%s", timeout, tm.all())
	}
}
