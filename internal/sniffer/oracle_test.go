package sniffer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"decnet/internal/event"
	"decnet/internal/testenv"
)

// This file proves the sniffer's fingerprints against an independent oracle:
// real clients (curl, openssl s_client, Python's ssl, Go's crypto/tls, headless
// Chromium; OpenSSH, paramiko, hydra's libssh, Go's x/crypto/ssh) talk to local
// servers on loopback while tcpdump records, then our --read path and tshark's
// dissectors (tls.handshake.ja3/ja3s, ssh.kex.hassh/hasshserver) read the same file
// and must agree on every handshake.

// startCapture records loopback TCP on the given ports with tcpdump.
func startCapture(t *testing.T, ports ...int) *testenv.Capture {
	t.Helper()
	var expr []string
	for _, p := range ports {
		expr = append(expr, "tcp port "+strconv.Itoa(p))
	}
	return testenv.StartCapture(t, "tcpdump", "lo", strings.Join(expr, " or "))
}

// serveTLS runs a TLS server answering one HTTP response per connection.
func serveTLS(t *testing.T) int {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testenv.SelfSigned(t, "decnet.test")}, NextProtos: []string{"http/1.1"}})
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
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				buf := make([]byte, 4096)
				c.Read(buf)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// serveSSH runs an x/crypto/ssh server that rejects every password.
func serveSSH(t *testing.T) int {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			return nil, errors.New("denied")
		},
		ServerVersion: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
				c.SetDeadline(time.Now().Add(15 * time.Second))
				ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// chunkConn writes at most n bytes per write, so a hello spans TCP segments.
type chunkConn struct {
	net.Conn
	n int
}

func (c chunkConn) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		k := min(c.n, len(p))
		w, err := c.Conn.Write(p[:k])
		total += w
		if err != nil {
			return total, err
		}
		p = p[k:]
		time.Sleep(2 * time.Millisecond) // Nagle is off in Go: each write is a segment
	}
	return total, nil
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	t.Logf("%s: exit %v, %d bytes of output", name, err, len(out))
}

// tsharkHandshake is one hello as tshark dissects it.
type tsharkHandshake struct {
	clientPort string
	kind       string // ja3, ja3s, hassh, hasshserver
	value      string // hash
	full       string // full string / algorithms
	sni        string
}

// tsharkRead runs tshark on path, decoding tlsPorts as TLS and sshPorts as SSH.
func tsharkRead(t *testing.T, path string, tlsPort, sshPort int) []tsharkHandshake {
	t.Helper()
	args := []string{"-r", path, "-n", "-o", "tcp.analyze_sequence_numbers:TRUE",
		"-Y", "tls.handshake.type==1 || tls.handshake.type==2 || ssh.kex.hassh || ssh.kex.hasshserver",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|",
		"-e", "tcp.srcport", "-e", "tcp.dstport",
		"-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3_full",
		"-e", "tls.handshake.ja3s", "-e", "tls.handshake.ja3s_full",
		"-e", "ssh.kex.hassh", "-e", "ssh.kex.hassh_algorithms",
		"-e", "ssh.kex.hasshserver", "-e", "ssh.kex.hasshserver_algorithms",
		"-e", "tls.handshake.extensions_server_name"}
	if tlsPort > 0 {
		args = append(args, "-d", fmt.Sprintf("tcp.port==%d,tls", tlsPort))
	}
	if sshPort > 0 {
		args = append(args, "-d", fmt.Sprintf("tcp.port==%d,ssh", sshPort))
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	var hs []tsharkHandshake
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 11 {
			continue
		}
		sport, dport := f[0], f[1]
		clientPort := sport
		if dport != strconv.Itoa(tlsPort) && dport != strconv.Itoa(sshPort) {
			clientPort = dport
		}
		add := func(kind, hashes, fulls, sni string) {
			if hashes == "" {
				return
			}
			hl, fl := strings.Split(hashes, "|"), strings.Split(fulls, "|")
			for i, h := range hl {
				full := ""
				if i < len(fl) {
					full = fl[i]
				}
				hs = append(hs, tsharkHandshake{clientPort, kind, h, full, sni})
			}
		}
		add("ja3", f[2], f[3], f[10])
		add("ja3s", f[4], f[5], "")
		add("hassh", f[6], f[7], "")
		add("hasshserver", f[8], f[9], "")
	}
	return hs
}

// oursOf maps our events to the same shape.
func oursOf(events []event.Event) []tsharkHandshake {
	var hs []tsharkHandshake
	for _, e := range events {
		port := strconv.Itoa(e.AttackerPort)
		f := e.Fields
		switch f["fp_kind"] {
		case KindTLSClient:
			hs = append(hs, tsharkHandshake{port, "ja3", f["ja3"], f["ja3_full"], f["sni"]})
		case KindTLSServer:
			hs = append(hs, tsharkHandshake{port, "ja3s", f["ja3s"], f["ja3s_full"], ""})
		case KindSSHClient:
			hs = append(hs, tsharkHandshake{port, "hassh", f["hassh"], f["hassh_algorithms"], ""})
		case KindSSHServer:
			hs = append(hs, tsharkHandshake{port, "hasshserver", f["hassh_server"], f["hassh_server_algorithms"], ""})
		}
	}
	return hs
}

func sortHS(hs []tsharkHandshake) {
	sort.Slice(hs, func(i, j int) bool {
		a, b := hs[i], hs[j]
		if a.clientPort != b.clientPort {
			return a.clientPort < b.clientPort
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.value < b.value
	})
}

// readEvents runs our offline path over a capture file.
func readEvents(t *testing.T, path string, cfg Config) []event.Event {
	t.Helper()
	var mu sync.Mutex
	var events []event.Event
	cfg.ReadFile = path
	cfg.Sink = func(e event.Event) error {
		if _, err := event.Format(e); err != nil {
			t.Errorf("event does not format: %v", err)
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		return nil
	}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("sniffer on %s: %v", path, err)
	}
	return events
}

// TestRealClientsAgainstTshark records real TLS and SSH clients on loopback and
// checks our JA3, JA3S, HASSH and HASSHServer (hash and full string) and SNI equal
// tshark's on every handshake, and that every client's handshake was seen.
func TestRealClientsAgainstTshark(t *testing.T) {
	testenv.RequireTool(t, "tshark", "curl", "openssl", "ssh", "hydra", "/usr/bin/python3")
	tlsPort, sshPort := serveTLS(t), serveSSH(t)
	cap := startCapture(t, tlsPort, sshPort)

	tp, sp := strconv.Itoa(tlsPort), strconv.Itoa(sshPort)
	url := "https://decnet.test:" + tp + "/"
	resolve := "decnet.test:" + tp + ":127.0.0.1"
	clients := []string{"curl", "curl-tls12", "openssl", "python", "go-tls", "go-tls-split"}
	run(t, "curl", "-sk", "--resolve", resolve, url)
	run(t, "curl", "-sk", "--tlsv1.2", "--tls-max", "1.2", "--resolve", resolve, url)
	run(t, "openssl", "s_client", "-connect", "127.0.0.1:"+tp, "-servername", "decnet.test")
	run(t, "/usr/bin/python3", "-c", `import socket,ssl
c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE
s=c.wrap_socket(socket.create_connection(("127.0.0.1",`+tp+`)),server_hostname="decnet.test")
s.sendall(b"GET / HTTP/1.1\r\nHost: decnet.test\r\n\r\n"); s.recv(100); s.close()`)
	for _, split := range []int{0, 100} {
		c, err := net.Dial("tcp", "127.0.0.1:"+tp)
		if err != nil {
			t.Fatal(err)
		}
		var nc net.Conn = c
		if split > 0 {
			nc = chunkConn{c, split}
		}
		tc := tls.Client(nc, &tls.Config{ServerName: "decnet.test", InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err := tc.Handshake(); err != nil {
			t.Errorf("go tls client: %v", err)
		}
		tc.Close()
	}
	if browser, err := exec.LookPath("chromium-headless-shell"); err == nil {
		clients = append(clients, "chromium")
		run(t, browser, "--no-sandbox", "--headless", "--disable-gpu", "--ignore-certificate-errors",
			"--host-resolver-rules=MAP decnet.test 127.0.0.1", "--dump-dom", url)
	} else if browser, err := exec.LookPath("chromium"); err == nil {
		clients = append(clients, "chromium")
		run(t, browser, "--no-sandbox", "--headless", "--disable-gpu", "--ignore-certificate-errors",
			"--host-resolver-rules=MAP decnet.test 127.0.0.1", "--dump-dom", url)
	} else {
		t.Log("no headless Chromium installed (apt-get install chromium-headless-shell): browser TLS client not recorded")
	}

	sshClients := []string{"openssh", "paramiko", "hydra", "go-ssh", "go-ssh-split"}
	run(t, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10", "-p", sp, "dnt@127.0.0.1", "true")
	run(t, "/usr/bin/python3", "-c", `import paramiko
c=paramiko.SSHClient(); c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
try: c.connect("127.0.0.1",port=`+sp+`,username="root",password="toor",allow_agent=False,look_for_keys=False,timeout=10)
except Exception as e: print(e)`)
	run(t, "hydra", "-l", "root", "-p", "toor", "-s", sp, "-t", "1", "-I", "ssh://127.0.0.1")
	for _, split := range []int{0, 64} {
		c, err := net.Dial("tcp", "127.0.0.1:"+sp)
		if err != nil {
			t.Fatal(err)
		}
		var nc net.Conn = c
		if split > 0 {
			nc = chunkConn{c, split}
		}
		_, _, _, err = ssh.NewClientConn(nc, "127.0.0.1:"+sp, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("toor")},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
		if err == nil {
			t.Error("the test ssh server accepted a password")
		}
		c.Close()
	}
	path := cap.Stop()

	theirs := tsharkRead(t, path, tlsPort, sshPort)
	evs := readEvents(t, path, Config{})
	ours := oursOf(evs)
	// Each SSH client must be in the capture under its own identification.
	versions := map[string]bool{}
	for _, e := range evs {
		if v := e.Fields["client_version"]; v != "" {
			versions[v] = true
		}
	}
	for _, want := range []string{"OpenSSH_", "paramiko_", "libssh_", "SSH-2.0-Go"} {
		found := false
		for v := range versions {
			found = found || strings.Contains(v, want)
		}
		if !found {
			t.Errorf("no SSH client identifying as %q among %v", want, versions)
		}
	}
	sortHS(theirs)
	sortHS(ours)
	kinds := map[string]int{}
	for _, h := range theirs {
		kinds[h.kind]++
	}
	t.Logf("tshark: %v handshakes by kind; ours: %d", kinds, len(ours))
	// Every TLS client makes at least one connection (clients may retry or open
	// more); every SSH client at least one.
	if kinds["ja3"] < len(clients) || kinds["ja3s"] < len(clients) {
		t.Errorf("tshark saw %d ClientHellos and %d ServerHellos, want at least %d each (%v)", kinds["ja3"], kinds["ja3s"], len(clients), clients)
	}
	if kinds["hassh"] < len(sshClients) || kinds["hasshserver"] < len(sshClients) {
		t.Errorf("tshark saw %d client and %d server KEXINITs, want at least %d each (%v)", kinds["hassh"], kinds["hasshserver"], len(sshClients), sshClients)
	}
	if len(ours) != len(theirs) {
		t.Errorf("we found %d handshakes, tshark %d", len(ours), len(theirs))
	}
	for i := 0; i < max(len(ours), len(theirs)); i++ {
		var o, th tsharkHandshake
		if i < len(ours) {
			o = ours[i]
		}
		if i < len(theirs) {
			th = theirs[i]
		}
		if o != th {
			t.Errorf("handshake %d differs:\n ours   %+v\n tshark %+v", i, o, th)
		}
	}
	// The split Go clients must really have sent their hello and KEXINIT over
	// several segments (tshark says how many it reassembled them from).
	for _, filter := range []string{"tls.handshake.type==1 && tcp.segment.count > 1", "ssh.kex.hassh && tcp.segment.count > 1"} {
		out, err := exec.Command("tshark", "-r", path, "-n", "-d", "tcp.port=="+tp+",tls", "-d", "tcp.port=="+sp+",ssh",
			"-Y", filter, "-T", "fields", "-e", "tcp.segment.count").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		if strings.TrimSpace(string(out)) == "" {
			t.Errorf("no handshake matching %q in the capture: the split client did not split", filter)
		} else {
			t.Logf("%s: reassembled from %s segments", filter, strings.Fields(string(out)))
		}
	}
	distinct := map[string]bool{}
	for _, h := range ours {
		distinct[h.kind+" "+h.value] = true
	}
	t.Logf("%d handshakes equal to tshark's (%d distinct fingerprints)", len(ours), len(distinct))
	if t.Failed() {
		if keep := os.Getenv("DECNET_KEEP_PCAP"); keep != "" {
			data, _ := os.ReadFile(path)
			os.WriteFile(keep, data, 0o644)
		}
	}
}
