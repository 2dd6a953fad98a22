package lab_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/lab"
	"decnet/internal/testenv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The lab tests use their own names and subnets so they never meet the
// shared "dnt" lab of other packages' tests running in parallel.
var testCfg = lab.Config{Name: "dnttest", Subnet: netip.MustParsePrefix("10.213.9.0/24")}

// freshLab removes a stale lab of the given name, brings a new one up and
// removes it when the test ends.
func freshLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "nsenter", "bash")
	if stale, _, err := lab.Status(cfg.Name); err != nil {
		t.Fatal(err)
	} else if stale != nil {
		t.Logf("removing stale lab %q left by an earlier run", cfg.Name)
	}
	if err := lab.Down(cfg.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Down(cfg.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	l, err := lab.Up(cfg)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	return l
}

func linkIndex(t *testing.T, name string) int {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("link %s: %v", name, err)
	}
	return l.Attrs().Index
}

func TestUpCreatesLab(t *testing.T) {
	l := freshLab(t, testCfg)
	want := testCfg.WithDefaults()
	if l.Config != want || l.Parent != "dnttest-lan0" || l.Peer != "dnttest-att0" || l.Namespace != "dnttest-attacker" {
		t.Fatalf("Up returned %+v", l)
	}
	if len(l.Notes) != 0 {
		t.Errorf("a fresh lab has notes: %q", l.Notes)
	}

	parent, err := netlink.LinkByName("dnttest-lan0")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parent.(*netlink.Veth); !ok || parent.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("parent is %s, flags %v; want an up veth", parent.Type(), parent.Attrs().Flags)
	}
	addrs, err := netlink.AddrList(parent, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.213.9.1/24" {
		t.Errorf("parent addresses = %v, want only 10.213.9.1/24 (no IPv6 link-local)", addrs)
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv6/conf/dnttest-lan0/disable_ipv6"); strings.TrimSpace(string(v)) != "1" {
		t.Errorf("IPv6 not disabled on the parent: %q", v)
	}
	if _, err := netlink.LinkByName("dnttest-att0"); err == nil {
		t.Error("the attacker link is in the host namespace")
	}
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, "dnttest-attacker")); err != nil {
		t.Errorf("namespace file: %v", err)
	}

	// Inside the namespace: ask the kernel there, through nsenter.
	out, err := l.Command(context.Background(), "bash", "-c",
		"cat /sys/class/net/lo/operstate >/dev/null; cat /proc/net/if_inet6 2>/dev/null | wc -l; cat /proc/sys/net/ipv6/conf/dnttest-att0/disable_ipv6; cat /proc/net/route").Output()
	if err != nil {
		t.Fatalf("command in namespace: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 || lines[0] != "0" || lines[1] != "1" {
		t.Errorf("namespace IPv6 state = %q, want no IPv6 address and disable_ipv6=1", lines)
	}
	var routes []string
	for _, ln := range lines[3:] { // after the /proc/net/route header
		f := strings.Fields(ln)
		routes = append(routes, f[0]+" "+f[1]+" "+f[7])
	}
	// 10.213.9.0/24 in /proc/net/route's little-endian hex.
	if len(routes) != 1 || routes[0] != "dnttest-att0 0009D50A 00FFFFFF" {
		t.Errorf("namespace routes = %q, want only the lab subnet via dnttest-att0", routes)
	}

	// No route out: the kernel refuses a lookup for an outside address
	// (a route lookup sends nothing).
	err = l.Do(func() error {
		_, err := netlink.RouteGet(net.ParseIP("198.51.100.7"))
		return err
	})
	if !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("route lookup to an outside address from the namespace = %v, want network unreachable", err)
	}
	err = l.Do(func() error {
		routes, err := netlink.RouteGet(net.ParseIP("10.213.9.1"))
		if err == nil && (len(routes) != 1 || routes[0].LinkIndex == 0) {
			err = fmt.Errorf("unexpected routes %v", routes)
		}
		return err
	})
	if err != nil {
		t.Errorf("route lookup to the host's lab address from the namespace: %v", err)
	}

	st, ok, err := lab.Status("dnttest")
	if err != nil || !ok || st.Config != want || len(st.Problems) != 0 {
		t.Fatalf("Status = %+v, %v, %v; want the healthy lab", st, ok, err)
	}
}

func TestAttackerReachesHost(t *testing.T) {
	l := freshLab(t, testCfg)
	ln, err := net.Listen("tcp4", "10.213.9.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	peers := make(chan string, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			fmt.Fprintln(c, "pong")
			c.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A real process in the namespace (bash's /dev/tcp), through Command.
	out, err := l.Command(ctx, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/10.213.9.1/%d && cat <&3", port)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "pong" {
		t.Fatalf("bash in the namespace: %v: %q", err, out)
	}
	if got := <-peers; got != "10.213.9.250" {
		t.Errorf("host saw the command's connection from %s, want the attacker IP 10.213.9.250", got)
	}

	// A Go dial from the namespace.
	c, err := l.DialContext(ctx, "tcp4", fmt.Sprintf("10.213.9.1:%d", port))
	if err != nil {
		t.Fatalf("DialContext: %v", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || line != "pong\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if got := <-peers; got != "10.213.9.250" {
		t.Errorf("host saw the Go dial from %s, want 10.213.9.250", got)
	}
	if _, err := l.DialContext(ctx, "tcp", "localhost:80"); err == nil {
		t.Error("DialContext accepted a host name")
	}

	// The other way: a listener in the namespace, reached from the host.
	aln, err := l.Listen("tcp4", "10.213.9.250:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer aln.Close()
	go func() {
		if c, err := aln.Accept(); err == nil {
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	hc, err := net.DialTimeout("tcp4", aln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("host dial to the attacker namespace: %v", err)
	}
	hc.Close()
	if got := <-peers; got != "10.213.9.1" {
		t.Errorf("namespace saw the host from %s, want 10.213.9.1", got)
	}
	// The host itself cannot listen on the attacker's address: it is not the host's.
	if ln, err := net.Listen("tcp4", "10.213.9.250:0"); err == nil {
		ln.Close()
		t.Error("the attacker IP is assigned in the host namespace")
	}
}

func TestUpIsIdempotentAndRepairs(t *testing.T) {
	l := freshLab(t, testCfg)
	idx := linkIndex(t, l.Parent)

	again, err := lab.Up(testCfg)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if len(again.Notes) != 1 || !strings.Contains(again.Notes[0], "reused") {
		t.Errorf("second Up notes = %q, want a reuse note", again.Notes)
	}
	if linkIndex(t, l.Parent) != idx {
		t.Fatal("second Up recreated a healthy lab")
	}

	// Broken: the parent is down.
	parent, _ := netlink.LinkByName(l.Parent)
	if err := netlink.LinkSetDown(parent); err != nil {
		t.Fatal(err)
	}
	if st, ok, err := lab.Status(testCfg.Name); err != nil || ok || !containsAny(st.Problems, "is down") {
		t.Fatalf("Status of a lab with its parent down = %+v, %v, %v", st, ok, err)
	}
	assertRepaired(t, "is down")

	// Partial: the veth pair is gone, the namespace is left.
	parent, _ = netlink.LinkByName(l.Parent)
	if err := netlink.LinkDel(parent); err != nil {
		t.Fatal(err)
	}
	if st, ok, err := lab.Status(testCfg.Name); err != nil || ok || !containsAny(st.Problems, "missing") {
		t.Fatalf("Status of a partial lab = %+v, %v, %v", st, ok, err)
	}
	assertRepaired(t, "missing")

	// Unsafe: a default route in the namespace.
	l2, _, _ := lab.Status(testCfg.Name)
	err = l2.Do(func() error {
		att, err := netlink.LinkByName(l2.Peer)
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: att.Attrs().Index, Gw: net.ParseIP("10.213.9.254")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, ok, err := lab.Status(testCfg.Name); err != nil || ok || !containsAny(st.Problems, "default route") {
		t.Fatalf("Status of a lab with a default route = %+v, %v, %v", st, ok, err)
	}
	assertRepaired(t, "default route")

	// Different configuration: recreated with the new one.
	other := testCfg
	other.AttackerIP = netip.MustParseAddr("10.213.9.100")
	got, err := lab.Up(other)
	if err != nil {
		t.Fatal(err)
	}
	if got.AttackerIP != other.AttackerIP || !containsAny(got.Notes, "not the requested") {
		t.Errorf("Up with another config = %+v", got)
	}
	if st, ok, _ := lab.Status(testCfg.Name); !ok || st.AttackerIP != other.AttackerIP {
		t.Errorf("Status after reconfiguration = %+v, %v", st, ok)
	}
}

func assertRepaired(t *testing.T, problem string) {
	t.Helper()
	l, err := lab.Up(testCfg)
	if err != nil {
		t.Fatalf("Up on a broken lab: %v", err)
	}
	if !containsAny(l.Notes, "removed") || !containsAny(l.Notes, problem) {
		t.Errorf("Up on a broken lab notes = %q, want a removal note naming %q", l.Notes, problem)
	}
	if _, ok, err := lab.Status(testCfg.Name); err != nil || !ok {
		t.Fatalf("lab not healthy after repair: %v", err)
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestDown(t *testing.T) {
	l := freshLab(t, testCfg)
	// A link stacked on the parent (as the engine's hairpin is) goes too.
	mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "dnttest-mv0", ParentIndex: linkIndex(t, l.Parent)}, Mode: netlink.MACVLAN_MODE_BRIDGE}
	if err := netlink.LinkAdd(mv); err != nil {
		t.Fatal(err)
	}
	// A stacked link does not count as an overlap with the lab itself.
	if err := netlink.AddrAdd(mv, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("10.213.9.1"), Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
	if again, err := lab.Up(testCfg); err != nil || !containsAny(again.Notes, "reused") {
		t.Fatalf("Up with a hairpin on the parent = %v, %v", again, err)
	}

	if err := lab.Down(testCfg.Name); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for _, name := range []string{"dnttest-lan0", "dnttest-att0", "dnttest-mv0"} {
		if _, err := netlink.LinkByName(name); err == nil {
			t.Errorf("link %s still exists after Down", name)
		}
	}
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, "dnttest-attacker")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace file after Down: %v", err)
	}
	if st, ok, err := lab.Status(testCfg.Name); st != nil || ok || err != nil {
		t.Errorf("Status after Down = %+v, %v, %v; want nothing", st, ok, err)
	}
	if err := lab.Down(testCfg.Name); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

func TestUpRefusesOverlap(t *testing.T) {
	testenv.RequireRoot(t)
	linksBefore := countLinks(t)
	for _, tc := range []struct {
		name   string
		cfg    lab.Config
		reason string
	}{
		// lo always carries 127.0.0.1/8.
		{"loopback", lab.Config{Name: "dnttest2", Subnet: netip.MustParsePrefix("127.0.5.0/24")}, "address 127.0.0.1/8 on host interface lo"},
		{"bad name", lab.Config{Name: "dnttoolongname", Subnet: netip.MustParsePrefix("10.213.11.0/24")}, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lab.Up(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Up = %v, want a refusal mentioning %q", err, tc.reason)
			}
		})
	}

	t.Run("another lab", func(t *testing.T) {
		freshLab(t, testCfg)
		_, err := lab.Up(lab.Config{Name: "dnttest2", Subnet: netip.MustParsePrefix("10.213.9.128/25")})
		if err == nil || !strings.Contains(err.Error(), "dnttest-lan0") {
			t.Fatalf("Up overlapping another lab = %v, want a refusal naming dnttest-lan0", err)
		}
	})

	t.Run("route", func(t *testing.T) {
		// A blackhole route sends nothing anywhere; it stands for a route
		// the host already has (a VPN's, say) into the lab's range.
		dst := &net.IPNet{IP: net.ParseIP("10.213.250.0").To4(), Mask: net.CIDRMask(23, 32)}
		r := &netlink.Route{Dst: dst, Type: unix.RTN_BLACKHOLE}
		if err := netlink.RouteAdd(r); err != nil {
			t.Fatal(err)
		}
		defer netlink.RouteDel(r)
		_, err := lab.Up(lab.Config{Name: "dnttest2", Subnet: netip.MustParsePrefix("10.213.251.0/24")})
		if err == nil || !strings.Contains(err.Error(), "route to 10.213.250.0/23") {
			t.Fatalf("Up overlapping a host route = %v, want a refusal naming the route", err)
		}
	})

	if _, ok, _ := lab.Status("dnttest2"); ok {
		t.Error("a refused Up left a lab behind")
	}
	if n := countLinks(t); n != linksBefore {
		t.Errorf("refused Ups changed the number of host links from %d to %d", linksBefore, n)
	}
}

func countLinks(t *testing.T) int {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	return len(links)
}
