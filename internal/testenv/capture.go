package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture is a packet capture by a real tool (tcpdump or tshark) into a file, for
// tests that check what went over an interface with an independent decoder.
type Capture struct {
	Path    string
	t       testing.TB
	cmd     *exec.Cmd
	once    sync.Once
	stderrW *io.PipeWriter
	stderr  chan []string // the tool's stderr lines, once it has exited
}

// dropped matches the tools' exit reports: tcpdump's "N packets dropped by
// kernel", tshark's "N packets dropped from lo".
var dropped = regexp.MustCompile(`^(\d+) packets? dropped`)

// StartCapture runs tool ("tcpdump" or "tshark") on iface with the BPF filter,
// writing to a file in a temporary directory, and returns once the tool says it
// captures. It needs root and the tool (a skip, or a failure in the full suite).
// The capture is stopped at the end of the test if Stop was not called.
func StartCapture(t testing.TB, tool, iface, filter string) *Capture {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, tool)
	c := &Capture{t: t, stderr: make(chan []string, 1)}
	var ready string
	switch tool {
	case "tcpdump":
		c.Path = filepath.Join(t.TempDir(), "capture.pcap")
		// --immediate-mode: without it a short capture can sit in an unfinished
		// kernel ring block that tcpdump drops when it is interrupted. -B: a
		// 64 MiB ring, and no -U (a write per packet): on two busy cores
		// tcpdump with the default 2 MiB ring and -U fell behind and the
		// kernel dropped most packets of a burst; it flushes its file on SIGINT.
		c.cmd = exec.Command("tcpdump", "-i", iface, "--immediate-mode", "-B", "65536", "-n", "-s", "0", "-w", c.Path, filter)
		ready = "listening on"
	case "tshark":
		c.Path = filepath.Join(t.TempDir(), "capture.pcapng")
		c.cmd = exec.Command("tshark", "-i", iface, "-B", "64", "-f", filter, "-w", c.Path) // -B in MiB
		c.cmd.Env = append(os.Environ(), "HOME="+t.TempDir())                               // its profile directory
		ready = "Capturing on"
	default:
		t.Fatalf("StartCapture: unknown tool %q", tool)
	}
	// tshark runs dumpcap: signal the whole group.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd.WaitDelay = 5 * time.Second
	// Not StderrPipe: Wait closes that pipe as soon as the tool exits, which
	// can lose the exit report Stop reads. exec copies into pw until the tool's
	// stderr closes, and Wait waits for that copy.
	stderr, pw := io.Pipe()
	c.cmd.Stderr = pw
	c.stderrW = pw
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	t.Cleanup(func() { c.Stop() })
	said := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		var lines []string
		for sc.Scan() {
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(said) })
			}
			lines = append(lines, strings.TrimSpace(sc.Text()))
		}
		c.stderr <- lines
	}()
	select {
	case <-said:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start capturing on %s within 60s", tool, iface)
	}
	if tool == "tshark" {
		time.Sleep(500 * time.Millisecond) // dumpcap attaches the filter just after saying so
	}
	return c
}

// Stop lets the last packets reach the capture, interrupts the tool (it flushes
// its file on SIGINT) and returns the file's path. A test compares the file with
// what it sent, so a capture the kernel dropped packets from fails the test
// with the tool's own count rather than as a missing handshake later. Calling
// it again does nothing.
func (c *Capture) Stop() string {
	c.once.Do(func() {
		time.Sleep(500 * time.Millisecond)
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGINT)
		c.cmd.Wait()
		c.stderrW.Close()
		for _, l := range <-c.stderr {
			if m := dropped.FindStringSubmatch(l); m != nil && m[1] != "0" {
				c.t.Errorf("%s lost packets: %q (the capture is incomplete)", c.cmd.Path, l)
			}
		}
	})
	return c.Path
}
