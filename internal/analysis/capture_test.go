package analysis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"decnet/internal/testenv"
)

// These tests re-measure the tool entries of synTable: they run the real scanner,
// capture its SYNs with tcpdump, read them back with tshark (an independent
// decoder) and check that every SYN matches the tool's entry.

// capture runs tcpdump on iface with filter while scan runs, and returns the SYNs
// it saw as tcp_syn event fields.
func capture(t *testing.T, iface, filter string, scan func()) []map[string]string {
	t.Helper()
	c := testenv.StartCapture(t, "tcpdump", iface, filter)
	scan()
	pcap := c.Stop()
	out, err := exec.Command("tshark", "-r", pcap, "-T", "fields", "-E", "separator=|",
		"-e", "ip.ttl", "-e", "tcp.window_size_value", "-e", "tcp.options.mss_val", "-e", "tcp.options.wscale.shift",
		"-e", "ip.flags.df", "-e", "ip.len", "-e", "ip.id", "-e", "tcp.option_kind").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	kinds := map[string]string{"0": "eol", "1": "nop", "2": "mss", "3": "ws", "4": "sok", "8": "ts"}
	var syns []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		p := strings.Split(line, "|")
		if len(p) != 8 {
			t.Fatalf("tshark line %q", line)
		}
		var opts []string
		if p[7] != "" {
			for _, k := range strings.Split(p[7], ",") {
				name, ok := kinds[k]
				if !ok {
					name = "?" + k
				}
				opts = append(opts, name)
			}
		}
		var id int64
		fmt.Sscanf(p[6], "0x%x", &id)
		syns = append(syns, map[string]string{"ttl": p[0], "window": p[1], "mss": p[2], "wscale": p[3], "df": p[4], "ip_len": p[5],
			"ip_id": fmt.Sprint(id), "options": strings.Join(opts, ",")})
	}
	return syns
}

func checkSyns(t *testing.T, syns []map[string]string, want string, min int) {
	t.Helper()
	if len(syns) < min {
		t.Fatalf("captured %d SYNs, want at least %d", len(syns), min)
	}
	for _, f := range syns {
		f := f
		delete(f, "ip_id") // random for nmap and masscan; only zmap's entry looks at it
		s, ok := parseSyn(f)
		if !ok {
			t.Fatalf("captured SYN %v does not parse", f)
		}
		m, why, ok := matchSyn(s)
		if !ok || m.Label != want {
			t.Errorf("captured %s SYN %s matched %q (%v), want %s", want, s.key(), m.Label, ok, want)
			continue
		}
		t.Logf("%s: %s", want, why)
	}
}

func TestCapturedNmapSYNs(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "tcpdump", "tshark", "nmap")
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
			c.Close()
		}
	}()
	open := l.Addr().(*net.TCPAddr).Port
	closed := open + 1
	filter := fmt.Sprintf("tcp[13] & 0x12 == 0x02 and dst host 127.0.0.1 and (dst port %d or dst port %d)", open, closed)
	t.Run("SYN scan", func(t *testing.T) {
		syns := capture(t, "lo", filter, func() {
			if out, err := exec.Command("nmap", "-sS", "-n", "-Pn", "-p", fmt.Sprintf("%d,%d", open, closed), "127.0.0.1").CombinedOutput(); err != nil {
				t.Fatalf("nmap -sS: %v\n%s", err, out)
			}
		})
		checkSyns(t, syns, "nmap", 2)
	})
	t.Run("OS detection", func(t *testing.T) {
		syns := capture(t, "lo", filter, func() {
			if out, err := exec.Command("nmap", "-O", "-n", "-Pn", "-p", fmt.Sprintf("%d,%d", open, closed), "127.0.0.1").CombinedOutput(); err != nil {
				t.Fatalf("nmap -O: %v\n%s", err, out)
			}
		})
		checkSyns(t, syns, "nmap", 8)
	})
}

func TestCapturedMasscanSYNs(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "tcpdump", "tshark", "masscan", "ip")
	// masscan writes its own Ethernet frames and needs a router MAC: scan over a
	// veth pair into a namespace of the test's own.
	id := fmt.Sprint(os.Getpid() % 100000)
	ns, a, b := "dnt-syn"+id, "dnt-sa"+id, "dnt-sb"+id
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	exec.Command("ip", "link", "del", a).Run() // stale objects of a crashed run with the same pid
	exec.Command("ip", "netns", "del", ns).Run()
	sh("netns", "add", ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", a).Run()
		exec.Command("ip", "netns", "del", ns).Run()
	})
	sh("link", "add", a, "type", "veth", "peer", "name", b)
	sh("link", "set", b, "netns", ns)
	sh("addr", "add", "10.199.78.1/30", "dev", a)
	sh("link", "set", a, "up")
	sh("-n", ns, "addr", "add", "10.199.78.2/30", "dev", b)
	sh("-n", ns, "link", "set", b, "up")
	out, err := exec.Command("ip", "-n", ns, "-br", "link", "show", b).Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) < 3 {
		t.Fatalf("reading the peer MAC: %v %q", err, out)
	}
	mac := fields[2]
	syns := capture(t, a, "tcp[13] & 0x12 == 0x02 and dst host 10.199.78.2", func() {
		cmd := exec.Command("masscan", "10.199.78.2", "-p1-20,80,443", "--adapter", a, "--adapter-ip", "10.199.78.1",
			"--router-mac", mac, "--rate", "500", "--wait", "1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("masscan: %v\n%s", err, out)
		}
	})
	checkSyns(t, syns, "masscan", 22)
}
