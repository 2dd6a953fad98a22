package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/lab"
)

// run runs the decnet binary and returns stdout, stderr and the exit code.
func run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run decnet %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// mustRun runs decnet and fails the test unless it exits 0.
func mustRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, errs, code := run(t, bin, args...)
	if code != 0 {
		t.Fatalf("decnet %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// attacker runs a command in the lab's attacker namespace.
func attacker(t *testing.T, l *lab.Lab, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := l.Command(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// host runs a command on the host.
func host(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// containerEvents parses the RFC 5424 event lines a container wrote to stdout.
func containerEvents(t *testing.T, container string) []event.Event {
	t.Helper()
	cmd := exec.Command("docker", "logs", container)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = nil
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker logs %s: %v", container, err)
	}
	var evs []event.Event
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		e, err := event.Parse(sc.Bytes())
		if err != nil {
			t.Errorf("container %s wrote a line that is not an event: %v: %q", container, err, sc.Text())
			continue
		}
		evs = append(evs, e)
	}
	return evs
}

// waitEvents polls a container's events until pred matches at least n of them.
func waitEvents(t *testing.T, container string, n int, timeout time.Duration, what string, pred func(event.Event) bool) []event.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []event.Event
		evs := containerEvents(t, container)
		for _, e := range evs {
			if pred(e) {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, e := range evs {
				line, _ := event.Format(e)
				b.Write(line)
				b.WriteByte('\n')
			}
			t.Fatalf("%s: want %d matching events from %s within %v, got %d; all events:\n%s", what, n, container, timeout, len(got), b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, s)
	}
}

// startRun starts `decnet run` (collector, sniffer, ingesters, analysis; with extra
// flags, e.g. --api-listen, the API too — it is off unless given) for the fleet in
// stateDir and stops it with SIGTERM when the test ends. The returned buffer
// collects its output.
func startRun(t *testing.T, bin, stateDir string, extra ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"run", "--state-dir", stateDir, "--api-listen="}, extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start decnet run: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("decnet run did not stop within 20s of SIGTERM:\n%s", out.String())
		}
	})
	return out
}

// syncBuffer is a bytes.Buffer safe for a subprocess writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mustAccept checks that addr accepts a TCP connection now: deploy returns only
// once every service port is open in its decky, so there is nothing to wait for.
func mustAccept(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s does not accept connections right after deploy returned: %v", addr, err)
	}
	c.Close()
}

// waitListening waits until addr (a server the test started in the background)
// accepts TCP connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept connections after 30s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAnnounced fails the test for each decky whose address the attacker namespace
// holds at another MAC. `decnet deploy` announces every decky (ARP) so that a
// neighbour that cached the address for an earlier decky — here, one an earlier
// test deployed — reaches the new one; nmap sends to the MAC in the system ARP cache
// and would find every port of such a decky filtered. Addresses the namespace never
// held are not in its table (an announcement does not create entries).
func checkAnnounced(t *testing.T, l *lab.Lab, fleet []deckyStatus) {
	t.Helper()
	out, err := attacker(t, l, 10*time.Second, "ip", "-4", "neigh", "show")
	if err != nil {
		t.Fatalf("ip neigh show in the attacker namespace: %v\n%s", err, out)
	}
	held := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "lladdr" {
				held[f[0]] = f[i+1]
			}
		}
	}
	for _, d := range fleet {
		if mac, ok := held[d.IP]; ok && d.MAC != "" && !strings.EqualFold(mac, d.MAC) {
			t.Errorf("after deploy the attacker namespace holds %s (decky %s) at %s, not the decky's MAC %s: no ARP announcement reached it", d.IP, d.Name, mac, d.MAC)
		}
	}
}
