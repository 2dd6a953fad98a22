package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/spool"
	"decnet/internal/testenv"
)

// probeTLSServer serves TLS handshakes on 127.0.0.1 (loopback only) for the probe tests.
func probeTLSServer(t *testing.T) int {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testenv.SelfSigned(t, "decnet-probe-cli-test")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// probeSSHServer answers like an SSH server: identification line, then KEXINIT
// (a fixed one: the test checks the event carries its HASSHServer).
func probeSSHServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	payload := []byte{20}
	payload = append(payload, make([]byte, 16)...)
	for _, s := range []string{"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes256-ctr", "hmac-sha2-256", "hmac-sha1", "none", "zlib", "", ""} {
		payload = append(payload, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		payload = append(payload, s...)
	}
	payload = append(payload, 0, 0, 0, 0, 0)
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	n := 1 + len(payload) + pad
	pkt := append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), byte(pad)}, payload...)
	pkt = append(pkt, make([]byte, pad)...)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3\r\n"))
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Write(pkt)
				c.Read(buf)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// TestProbeCommand runs `decnet probe` against 127.0.0.1, an attacker address found
// in a source spool, with a loopback TLS and SSH server on its ports, and reads the
// events it spooled.
func TestProbeCommand(t *testing.T) {
	stateDir := t.TempDir()
	source := filepath.Join(stateDir, "spool")
	w, err := spool.OpenWriter(source, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := event.Event{ID: "01930000-0000-7000-8000-000000000001", Time: time.Now().UTC().Truncate(time.Microsecond),
		Decky: "decky-01", Service: "ssh", Type: event.Connect, AttackerIP: "127.0.0.1", AttackerPort: 50000, Fields: map[string]string{}}
	line, err := event.Format(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tlsPort, sshPort := probeTLSServer(t), probeSSHServer(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"probe", "--state-dir", stateDir, "--ports", strconv.Itoa(tlsPort),
			"--ssh-ports", strconv.Itoa(sshPort), "--timeout", "5s"}, &bytes.Buffer{}, &errb)
	}()
	out := filepath.Join(stateDir, ProberSpoolDir)
	var recs []*spool.Record
	deadline := time.Now().Add(60 * time.Second)
	for len(recs) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		recs = readSpool(t, out)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("probe exited %d: %s", code, errb.String())
	}
	if len(recs) != 2 {
		t.Fatalf("%d prober events, want 2 (jarm, ssh_server_probe):\n%s", len(recs), errb.String())
	}
	kinds := map[string]*spool.Record{}
	for _, r := range recs {
		if r.Service != "prober" || r.Decky != "prober" || r.Type != "fingerprint" || r.AttackerIP != "127.0.0.1" {
			t.Errorf("event %+v", r.Event)
		}
		kinds[r.Fields["fp_kind"]] = r
	}
	if j := kinds["jarm"]; j == nil || len(j.Fields["jarm"]) != 62 || j.Fields["dst_port"] != strconv.Itoa(tlsPort) {
		t.Errorf("jarm event %+v", j)
	}
	// HASSHServer of "curve25519-sha256;aes256-ctr;hmac-sha1;zlib"
	// (`printf %s 'curve25519-sha256;aes256-ctr;hmac-sha1;zlib' | md5sum`).
	if s := kinds["ssh_server_probe"]; s == nil || s.Fields["server_version"] != "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3" ||
		s.Fields["hassh_server"] != "1d28bf246fed683b2556414dbd13cd28" || s.Fields["hassh_server_algorithms"] != "curve25519-sha256;aes256-ctr;hmac-sha1;zlib" {
		t.Errorf("ssh event %+v", s)
	}
	for _, f := range []string{ProberCursorFile, ProberStateFile} {
		if _, err := os.Stat(filepath.Join(stateDir, f)); err != nil {
			t.Errorf("the prober kept no %s: %v", f, err)
		}
	}

	// A second run within the interval does not probe again.
	var errb2 bytes.Buffer
	code := Run(context.Background(), []string{"probe", "--state-dir", stateDir, "--ports", strconv.Itoa(tlsPort),
		"--ssh-ports", strconv.Itoa(sshPort), "--ip", "127.0.0.1"}, &bytes.Buffer{}, &errb2)
	if code != ExitOK || len(readSpool(t, out)) != 2 || !strings.Contains(errb2.String(), "Skipped:1") {
		t.Fatalf("second run: exit %d, %d events: %s", code, len(readSpool(t, out)), errb2.String())
	}
}

func readSpool(t *testing.T, dir string) []*spool.Record {
	t.Helper()
	r, err := spool.OpenReader(dir, spool.Cursor{})
	if err != nil {
		return nil
	}
	defer r.Close()
	var recs []*spool.Record
	for {
		rec, _, err := r.Next()
		if err != nil {
			return recs
		}
		recs = append(recs, rec)
	}
}

func TestProbeCommandUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"probe", "--help"}, &out, &errb); code != ExitOK {
		t.Fatalf("--help exited %d", code)
	}
	if !strings.Contains(out.String(), "SENDS TRAFFIC TO ATTACKER ADDRESSES") {
		t.Errorf("--help does not warn that probing sends traffic to attackers:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"--ports", "0"},
		{"--ssh-ports", "22,x"},
		{"--ip", "not-an-ip"},
		{"--concurrency", "-3"},
		{"--ports", "", "--ssh-ports", ""},
		{"--spool-dir", "/tmp/x", "--source-spool", "/tmp/x"},
	} {
		errb.Reset()
		if code := Run(context.Background(), append([]string{"probe", "--state-dir", t.TempDir()}, args...), &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}
