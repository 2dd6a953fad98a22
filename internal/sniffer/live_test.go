package sniffer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/testenv"
)

// ipCmd runs ip(8) and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestLiveCaptureOnVeth captures on the host end of a veth pair whose other end
// sits in a network namespace (dnt-sniff-*): a TLS client in the namespace talks to
// a TLS server on the host end, and the AF_PACKET capture must report its SYN and
// its ClientHello and the server's ServerHello, named after the decky map.
func TestLiveCaptureOnVeth(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip", "curl")
	id := fmt.Sprintf("%d", os.Getpid()%10000)
	ns, host, peer := "dnt-sniff-"+id, "dnt-snh"+id, "dnt-snp"+id
	// Remove what a crashed run with the same id left behind.
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", host).Run()
	// 198.18.0.0/15 is reserved for benchmarking (RFC 2544): never a real network.
	octet := os.Getpid() % 250
	hostIP := fmt.Sprintf("198.18.%d.1", octet)
	peerIP := fmt.Sprintf("198.18.%d.2", octet)
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "link", "add", host, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	ipCmd(t, "link", "set", peer, "netns", ns)
	ipCmd(t, "addr", "add", hostIP+"/30", "dev", host)
	ipCmd(t, "link", "set", host, "up")
	ipCmd(t, "-n", ns, "addr", "add", peerIP+"/30", "dev", peer)
	ipCmd(t, "-n", ns, "link", "set", peer, "up")
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")

	l, err := tls.Listen("tcp", hostIP+":8443", &tls.Config{Certificates: []tls.Certificate{testenv.SelfSigned(t, "decnet.test")}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				buf := make([]byte, 1024)
				c.Read(buf)
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
			}()
		}
	}()

	var mu sync.Mutex
	var evs []event.Event
	got := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			Iface:       host,
			Deckies:     map[netip.Addr]string{netip.MustParseAddr(hostIP): "decky-live"},
			OnlyDeckies: true,
			Filter:      netip.MustParsePrefix(hostIP + "/30"),
			Sink: func(e event.Event) error {
				mu.Lock()
				evs = append(evs, e)
				mu.Unlock()
				got <- struct{}{}
				return nil
			},
		})
	}()
	time.Sleep(300 * time.Millisecond) // the socket is bound
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sk", "--max-time", "10", "https://"+hostIP+":8443/").CombinedOutput()
	if err != nil || string(out) != "ok" {
		t.Fatalf("curl from the namespace: %v %q", err, out)
	}
	want := map[string]bool{KindTCPSYN: false, KindTLSClient: false, KindTLSServer: false}
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		for _, e := range evs {
			if _, ok := want[e.Fields["fp_kind"]]; ok {
				want[e.Fields["fp_kind"]] = true
				if e.Decky != "decky-live" || e.AttackerIP != peerIP {
					t.Errorf("%s event: decky %q attacker %q", e.Fields["fp_kind"], e.Decky, e.AttackerIP)
				}
			}
		}
		all := want[KindTCPSYN] && want[KindTLSClient] && want[KindTLSServer]
		mu.Unlock()
		if all {
			break
		}
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("events seen: %v", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of its context ending")
	}
	mu.Lock()
	for _, e := range evs {
		switch e.Fields["fp_kind"] {
		case KindTLSClient:
			if !strings.HasPrefix(e.Fields["ja4"], "t13") || e.Fields["dst_port"] != "8443" {
				t.Errorf("curl's ClientHello: %v", e.Fields)
			}
		case KindTCPSYN:
			// A Linux client: TTL 64, DF, MSS 1460 on a 1500-byte veth, Linux's option order.
			if e.Fields["ttl"] != "64" || e.Fields["df"] != "1" || e.Fields["mss"] != "1460" || e.Fields["options"] != "mss,sok,ts,nop,ws" {
				t.Errorf("curl's SYN: %v", e.Fields)
			}
		}
	}
	mu.Unlock()
}
