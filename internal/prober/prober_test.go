package prober

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ssh"
	"decnet/internal/testenv"
)

// Every test here probes loopback addresses (127.0.0.0/8) only.

// memSink keeps the events it receives, after a format → parse round trip (what the
// ingester will read back from the spool).
type memSink struct {
	mu     sync.Mutex
	events []event.Event
}

func (m *memSink) Emit(e event.Event) error {
	line, err := event.Format(e)
	if err != nil {
		return err
	}
	back, err := event.Parse(line)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.events = append(m.events, back)
	m.mu.Unlock()
	return nil
}

func (m *memSink) all() []event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]event.Event(nil), m.events...)
}

func (m *memSink) kind(k string) []event.Event {
	var out []event.Event
	for _, e := range m.all() {
		if e.Fields["fp_kind"] == k {
			out = append(out, e)
		}
	}
	return out
}

// tlsServer serves TLS handshakes with Go's default configuration and an ECDSA
// P-256 certificate (the "go-default" server of ../fingerprint/testdata/jarm.json)
// on ip:0, counting connections.
func tlsServer(t *testing.T, ip string) (port int, conns *atomic.Int64) {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{testenv.SelfSigned(t, "decnet-prober-test")}}
	l, err := tls.Listen("tcp", net.JoinHostPort(ip, "0"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = c.(*tls.Conn).HandshakeContext(ctx)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, conns
}

// referenceJARM returns the JARM Salesforce's jarm.py gave the named server, and
// the software it was taken from.
func referenceJARM(t *testing.T, name string) (jarm, software string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fingerprint", "testdata", "jarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Servers []struct{ Name, Software, JARM string } `json:"servers"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, s := range ref.Servers {
		if s.Name == name {
			return s.JARM, s.Software
		}
	}
	t.Fatalf("no reference JARM for %s", name)
	return "", ""
}

// sshService runs DECNET's ssh service on loopback.
func sshService(t *testing.T) (port int) {
	t.Helper()
	secrets, err := ssh.Secrets(service.Identity{Decky: "decky-test", Hostname: "web-01"})
	if err != nil {
		t.Fatal(err)
	}
	h := servicetest.Start(t, "ssh", service.Config{Distro: "debian", Hostname: "web-01", IP: "192.168.1.50",
		Secrets: secrets, ArtifactDir: t.TempDir()})
	_, p, _ := net.SplitHostPort(h.Addr(22))
	port, _ = strconv.Atoi(p)
	return port
}

func ch(ips ...string) chan netip.Addr {
	c := make(chan netip.Addr, len(ips))
	for _, s := range ips {
		c <- netip.MustParseAddr(s)
	}
	close(c)
	return c
}

func TestProberLoopback(t *testing.T) {
	tlsPort, _ := tlsServer(t, "127.0.0.1")
	sshPort := sshService(t)

	// Independent oracle for the SSH side: tshark's ssh.kex.hasshserver on a capture
	// of the probe (root only).
	var capture *tsharkCapture
	_, lookErr := exec.LookPath("tshark")
	switch {
	case os.Geteuid() == 0 && lookErr == nil:
		capture = startTshark(t, sshPort)
	case testenv.FullSuite():
		t.Fatalf("the tshark oracle needs root and tshark (root: %v, tshark: %v)", os.Geteuid() == 0, lookErr)
	}
	sink := &memSink{}
	p, err := New(Config{JARMPorts: []int{tlsPort}, SSHPorts: []int{sshPort}, Timeout: 5 * time.Second}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), ch("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Probed != 1 || st.JARM != 1 || st.SSH != 1 {
		t.Fatalf("stats %+v, events %+v", st, sink.all())
	}
	for _, e := range sink.all() {
		if e.Service != "prober" || e.Decky != "prober" || e.Type != event.Fingerprint || e.AttackerIP != "127.0.0.1" || e.ID == "" {
			t.Errorf("event envelope %+v", e)
		}
	}

	j := sink.kind(KindJARM)[0]
	if j.Fields["dst_port"] != strconv.Itoa(tlsPort) || len(j.Fields["jarm"]) != 62 {
		t.Errorf("jarm event %v", j.Fields)
	}
	if want, sw := referenceJARM(t, "go-default"); sw == runtime.Version() && j.Fields["jarm"] != want {
		t.Errorf("JARM %s, Salesforce's jarm.py gave %s for this server", j.Fields["jarm"], want)
	}

	s := sink.kind(KindSSHProbe)[0]
	if s.Fields["dst_port"] != strconv.Itoa(sshPort) {
		t.Errorf("ssh event %v", s.Fields)
	}
	banner := readBanner(t, sshPort)
	if s.Fields["server_version"] != banner {
		t.Errorf("server_version %q, the server's banner is %q", s.Fields["server_version"], banner)
	}
	if h := s.Fields["hassh_server"]; h != fingerprint.MD5Hex(s.Fields["hassh_server_algorithms"]) || !strings.Contains(s.Fields["hassh_server_algorithms"], "curve25519-sha256") {
		t.Errorf("hassh_server %s of %q", h, s.Fields["hassh_server_algorithms"])
	}
	if capture != nil {
		h, algos := capture.stop(t)
		if h != s.Fields["hassh_server"] || algos != s.Fields["hassh_server_algorithms"] {
			t.Errorf("hassh_server %s %q; tshark saw %s %q", s.Fields["hassh_server"], s.Fields["hassh_server_algorithms"], h, algos)
		} else {
			t.Logf("hassh_server %s matches tshark", h)
		}
	} else {
		t.Log("tshark oracle skipped (needs root and tshark)")
	}
}

func readBanner(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(line, "\r\n")
}

type tsharkCapture struct {
	*testenv.Capture
	port int
}

// startTshark captures loopback traffic on port into a file; stop decodes it.
func startTshark(t *testing.T, port int) *tsharkCapture {
	t.Helper()
	return &tsharkCapture{Capture: testenv.StartCapture(t, "tshark", "lo", fmt.Sprintf("tcp port %d", port)), port: port}
}

// stop ends the capture and returns the server KEXINIT's HASSHServer tshark decodes.
func (c *tsharkCapture) stop(t *testing.T) (hassh, algos string) {
	t.Helper()
	out, err := exec.Command("tshark", "-r", c.Stop(), "-d", fmt.Sprintf("tcp.port==%d,ssh", c.port), "-T", "fields",
		"-e", "ssh.kex.hasshserver", "-e", "ssh.kex.hasshserver_algorithms").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 2)
		if len(f) == 2 && f[0] != "" {
			return f[0], f[1]
		}
	}
	t.Fatalf("tshark decoded no server KEXINIT in the capture:\n%s", out)
	return "", ""
}

func TestProberOncePerInterval(t *testing.T) {
	tlsPort, conns := tlsServer(t, "127.0.0.1")
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	state := filepath.Join(t.TempDir(), "prober-state.json")
	cfg := Config{Interval: time.Hour, JARMPorts: []int{tlsPort}, SSHPorts: []int{}, StatePath: state, Now: clock, Timeout: 5 * time.Second}
	sink := &memSink{}
	p, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p.Run(ctx, ch("127.0.0.1", "127.0.0.1", "::ffff:127.0.0.1"))
	if got := len(sink.all()); got != 1 || conns.Load() != 10 {
		t.Fatalf("first round: %d events, %d connections; want 1 and 10", got, conns.Load())
	}
	advance(59 * time.Minute)
	p.Run(ctx, ch("127.0.0.1"))
	if got := len(sink.all()); got != 1 {
		t.Fatalf("within the interval: %d events", got)
	}
	// A restarted prober remembers (state file).
	p2, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	p2.Run(ctx, ch("127.0.0.1"))
	if got := len(sink.all()); got != 1 || p2.Stats().Skipped != 1 {
		t.Fatalf("after restart within the interval: %d events, stats %+v", got, p2.Stats())
	}
	advance(2 * time.Minute)
	p2.Run(ctx, ch("127.0.0.1"))
	if got := len(sink.all()); got != 2 || conns.Load() != 20 {
		t.Fatalf("after the interval: %d events, %d connections", got, conns.Load())
	}
	// Addresses that are not one host are never probed.
	p2.Run(ctx, ch("0.0.0.0", "224.0.0.1", "255.255.255.255"))
	if conns.Load() != 20 {
		t.Fatal("probed a non-host address")
	}
}

// TestProberConcurrency probes eight loopback addresses whose server holds each
// connection a moment, and checks that at most Concurrency are probed at once.
func TestProberConcurrency(t *testing.T) {
	var cur, peak atomic.Int64
	var ips []string
	var port int
	for i := 2; i < 10; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		addr := "0"
		if port != 0 {
			addr = strconv.Itoa(port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, addr))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					n := cur.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					time.Sleep(20 * time.Millisecond)
					cur.Add(-1)
					c.Close() // no answer: the probe counts as unanswered, the scan goes on
				}()
			}
		}()
		ips = append(ips, ip)
	}
	sink := &memSink{}
	p, err := New(Config{Concurrency: 2, JARMPorts: []int{port}, SSHPorts: []int{}, Timeout: 5 * time.Second}, sink)
	if err != nil {
		t.Fatal(err)
	}
	p.Run(context.Background(), ch(ips...))
	if st := p.Stats(); st.Probed != 8 || st.NoAnswer != 8 || len(sink.all()) != 0 {
		t.Fatalf("stats %+v", st)
	}
	if peak.Load() != 2 {
		t.Fatalf("peak concurrent probes %d, want 2", peak.Load())
	}
}

func TestProbeSSHErrors(t *testing.T) {
	serve := func(handle func(net.Conn)) func(context.Context) (net.Conn, error) {
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
				go func() { defer c.Close(); handle(c) }()
			}
		}()
		return func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", l.Addr().String())
		}
	}
	ctx := context.Background()
	cases := []struct {
		name    string
		handle  func(net.Conn)
		version string
	}{
		{"http", func(c net.Conn) { c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) }, ""},
		{"silent", func(c net.Conn) { time.Sleep(time.Second) }, ""},
		{"ident then close", func(c net.Conn) { c.Write([]byte("SSH-2.0-dropbear_2022.83\r\n")) }, "SSH-2.0-dropbear_2022.83"},
		{"ident then garbage", func(c net.Conn) {
			c.Write([]byte("SSH-2.0-x\r\n\xff\xff\xff\xff\x00"))
			time.Sleep(time.Second)
		}, "SSH-2.0-x"},
		{"ident split", func(c net.Conn) {
			c.Write([]byte("SSH-2.0-Ope"))
			time.Sleep(50 * time.Millisecond)
			c.Write([]byte("nSSH_8.0\r\n"))
			buf := make([]byte, 4096)
			c.Read(buf)
			k := fingerprint.KexInit{KexAlgos: "k", CiphersS2C: "c", MACsS2C: "m", CompressionS2C: "none"}
			pkt := fingerprint.SSHPacket(k.Marshal())
			c.Write(pkt[:7])
			time.Sleep(50 * time.Millisecond)
			c.Write(pkt[7:])
			time.Sleep(time.Second)
		}, "SSH-2.0-OpenSSH_8.0"},
	}
	for _, c := range cases {
		res, err := ProbeSSH(ctx, serve(c.handle), 300*time.Millisecond)
		if res.ServerVersion != c.version {
			t.Errorf("%s: version %q, want %q", c.name, res.ServerVersion, c.version)
		}
		if c.name == "ident split" {
			if err != nil || !res.HasKexInit {
				t.Errorf("%s: %v", c.name, err)
			} else if h, a := res.KexInit.HASSHServer(); a != "k;c;m;none" || h != fingerprint.MD5Hex(a) {
				t.Errorf("%s: %s %q", c.name, h, a)
			}
		} else if err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestNewRejects(t *testing.T) {
	sink := &memSink{}
	for _, cfg := range []Config{
		{Interval: -time.Second},
		{Concurrency: -1},
		{JARMPorts: []int{0}},
		{SSHPorts: []int{70000}},
		{JARMPorts: []int{}, SSHPorts: []int{}},
	} {
		if _, err := New(cfg, sink); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil sink accepted")
	}
	p, err := New(Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Interval != 24*time.Hour || p.cfg.Concurrency != 4 || fmt.Sprint(p.cfg.JARMPorts) != "[443 8443]" || fmt.Sprint(p.cfg.SSHPorts) != "[22]" {
		t.Fatalf("defaults %+v", p.cfg)
	}
	bad := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	if _, err := New(Config{StatePath: bad}, sink); err == nil {
		t.Error("corrupt state accepted")
	}
}
