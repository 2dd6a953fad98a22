package netdetect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"decnet/internal/ipplan"
)

const nsPrefix = "dnt-netdetect-"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("DECNET_FULL_SUITE") == "1" {
			t.Fatal("this test needs root (network namespaces) and DECNET_FULL_SUITE=1 is set")
		}
		t.Skip("skipping: needs root to create network namespaces (set DECNET_FULL_SUITE=1 to make this a failure)")
	}
}

// removeStaleNamespaces deletes lab namespaces left by crashed runs of this test (their
// name carries the pid of a process that no longer exists).
func removeStaleNamespaces(t *testing.T) {
	matches, _ := filepath.Glob("/run/netns/" + nsPrefix + "*")
	for _, m := range matches {
		name := filepath.Base(m)
		pidPart, _, _ := strings.Cut(strings.TrimPrefix(name, nsPrefix), "-")
		pid, err := strconv.Atoi(pidPart)
		if err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			if err := netns.DeleteNamed(name); err == nil {
				t.Logf("removed stale lab namespace %s", name)
			}
		}
	}
}

// newNamedNS creates a named namespace without leaving the calling thread in it.
func newNamedNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	done := make(chan struct{})
	var h netns.NsHandle
	var err error
	go func() {
		defer close(done)
		// The thread is locked and never unlocked: it switches namespace, so Go
		// discards it when this goroutine ends instead of reusing it.
		runtime.LockOSThread()
		h, err = netns.NewNamed(name)
	}()
	<-done
	if err != nil {
		t.Fatalf("cannot create network namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("cannot delete network namespace %s: %v", name, err)
		}
	})
	return h
}

// inNS runs fn on a thread that sits in ns; the thread is discarded afterwards.
func inNS(t *testing.T, ns netns.NsHandle, fn func()) {
	t.Helper()
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err = netns.Set(ns); err != nil {
			return
		}
		fn()
	}()
	<-done
	if err != nil {
		t.Fatalf("cannot enter the lab namespace: %v", err)
	}
}

type lab struct {
	a, b netns.NsHandle
}

const (
	vethA    = "dnt-nd-a"
	vethB    = "dnt-nd-b"
	dummy    = "dnt-nd-dummy"
	bare     = "dnt-nd-bare"
	labHost  = "10.213.0.1"
	labPeer  = "10.213.0.2"
	labPeer2 = "10.213.0.3"
)

// setupLab builds two namespaces joined by a veth pair:
//
//	A: dnt-nd-a 10.213.0.1/24, default via 10.213.0.2 metric 100;
//	   dnt-nd-alt 10.214.0.1/24, default via 10.214.0.254 metric 500;
//	   dnt-nd-bare (no address); both are veth pairs whose peers stay in A
//	B: dnt-nd-b 10.213.0.2/24 and 10.213.0.3/24, no default route
//
// Nothing is created in the host namespace.
func setupLab(t *testing.T) *lab {
	t.Helper()
	requireRoot(t)
	removeStaleNamespaces(t)
	base := fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), time.Now().UnixNano()%100000)
	l := &lab{a: newNamedNS(t, base+"-a"), b: newNamedNS(t, base+"-b")}

	ha, err := netlink.NewHandleAt(l.a)
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(l.b)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("lab setup: %s: %v", what, err)
		}
	}
	must("add veth", ha.LinkAdd(&netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: vethA},
		PeerName:      vethB,
		PeerNamespace: netlink.NsFd(int(l.b)),
	}))
	// Second and third links are veth pairs kept inside A (no dummy module needed).
	must("add second link", ha.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: dummy}, PeerName: dummy + "-p"}))
	must("add bare link", ha.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: bare}, PeerName: bare + "-p"}))

	up := func(h *netlink.Handle, name string, addrs ...string) netlink.Link {
		t.Helper()
		link, err := h.LinkByName(name)
		must("find "+name, err)
		for _, a := range addrs {
			ad, err := netlink.ParseAddr(a)
			must("parse "+a, err)
			must("address "+a+" on "+name, h.AddrAdd(link, ad))
		}
		must("up "+name, h.LinkSetUp(link))
		return link
	}
	up(ha, "lo")
	up(hb, "lo")
	la := up(ha, vethA, labHost+"/24")
	up(hb, vethB, labPeer+"/24", labPeer2+"/24")
	ld := up(ha, dummy, "10.214.0.1/24")
	up(ha, dummy+"-p")
	up(ha, bare)
	up(ha, bare+"-p")

	must("default route via veth", ha.RouteAdd(&netlink.Route{LinkIndex: la.Attrs().Index, Gw: net.ParseIP(labPeer), Priority: 100}))
	must("default route via dummy", ha.RouteAdd(&netlink.Route{LinkIndex: ld.Attrs().Index, Gw: net.ParseIP("10.214.0.254"), Priority: 500}))
	return l
}

func TestDetectInLab(t *testing.T) {
	l := setupLab(t)
	inNS(t, l.a, func() {
		iface, err := DefaultInterface()
		if err != nil || iface != vethA {
			t.Errorf("DefaultInterface() = %q, %v, want %q", iface, err, vethA)
		}
		p, err := InterfaceAddr(vethA)
		if err != nil || p != netip.MustParsePrefix(labHost+"/24") {
			t.Errorf("InterfaceAddr(%s) = %s, %v", vethA, p, err)
		}
		gw, err := Gateway(vethA)
		if err != nil || gw != netip.MustParseAddr(labPeer) {
			t.Errorf("Gateway(%s) = %s, %v", vethA, gw, err)
		}
		gw, err = Gateway(dummy)
		if err != nil || gw != netip.MustParseAddr("10.214.0.254") {
			t.Errorf("Gateway(%s) = %s, %v", dummy, gw, err)
		}
		if _, err := Gateway(bare); err == nil || !strings.Contains(err.Error(), "no IPv4 default route via interface "+bare) {
			t.Errorf("Gateway(%s) error = %v", bare, err)
		}
		if _, err := InterfaceAddr(bare); err == nil || err.Error() != "interface "+bare+" has no IPv4 address" {
			t.Errorf("InterfaceAddr(%s) error = %v", bare, err)
		}
		if _, err := InterfaceAddr("dnt-nd-missing"); err == nil || err.Error() != "interface dnt-nd-missing does not exist" {
			t.Errorf("InterfaceAddr(missing) error = %v", err)
		}
		if _, err := Gateway("dnt-nd-missing"); err == nil {
			t.Error("Gateway(missing) succeeded")
		}
	})
	inNS(t, l.b, func() {
		if iface, err := DefaultInterface(); err == nil {
			t.Errorf("DefaultInterface() without a default route = %q", iface)
		}
		if _, err := Gateway(vethB); err == nil {
			t.Error("Gateway without a default route succeeded")
		}
		p, err := InterfaceAddr(vethB)
		if err != nil || p != netip.MustParsePrefix(labPeer+"/24") {
			t.Errorf("InterfaceAddr(%s) = %s, %v, want the first address", vethB, p, err)
		}
	})
}

func TestARPProbeInLab(t *testing.T) {
	l := setupLab(t)
	inNS(t, l.a, func() {
		ctx := context.Background()
		tests := []struct {
			ip   string
			want bool
		}{
			{labPeer, true},  // the peer's primary address
			{labPeer2, true}, // the peer's secondary address
			{"10.213.0.99", false},
		}
		for _, tc := range tests {
			got, err := ARPProbe(ctx, vethA, netip.MustParseAddr(tc.ip), 600*time.Millisecond)
			if err != nil || got != tc.want {
				t.Errorf("ARPProbe(%s) = %v, %v, want %v", tc.ip, got, err, tc.want)
			}
		}

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := ARPProbe(cctx, vethA, netip.MustParseAddr("10.213.0.98"), time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled probe error = %v, want context.Canceled", err)
		}
		if _, err := ARPProbe(ctx, vethA, netip.MustParseAddr("2001:db8::1"), time.Second); err == nil {
			t.Error("IPv6 probe succeeded")
		}
		if _, err := ARPProbe(ctx, "dnt-nd-missing", netip.MustParseAddr(labPeer), time.Second); err == nil {
			t.Error("probe on a missing interface succeeded")
		}

		// The adapter drives ipplan: .1 is the host, .2 the gateway, .3 answers ARP.
		host, err := InterfaceAddr(vethA)
		if err != nil {
			t.Fatalf("InterfaceAddr: %v", err)
		}
		gw, err := Gateway(vethA)
		if err != nil {
			t.Fatalf("Gateway: %v", err)
		}
		plan := ipplan.Plan{Subnet: host.Masked(), Host: host.Addr(), Gateway: gw, InUse: ProbeFunc(ctx, vethA)}
		got, err := plan.Allocate(2)
		want := []netip.Addr{netip.MustParseAddr("10.213.0.4"), netip.MustParseAddr("10.213.0.5")}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Allocate with ARP probing = %v, %v, want %v", got, err, want)
		}
	})
}

func TestAnswers(t *testing.T) {
	own := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	other := net.HardwareAddr{0x00, 0x50, 0x56, 0, 0, 2}
	target := netip.MustParseAddr("10.0.0.9")
	frame := func(src net.HardwareAddr, op uint16, sip, tip string) []byte {
		b := make([]byte, 14+28)
		copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(b[6:12], src)
		b[12], b[13] = 0x08, 0x06
		p := b[14:]
		p[1], p[2], p[4], p[5] = 1, 0x08, 6, 4
		p[7] = byte(op)
		copy(p[8:14], src)
		s4, t4 := netip.MustParseAddr(sip).As4(), netip.MustParseAddr(tip).As4()
		copy(p[14:18], s4[:])
		copy(p[24:28], t4[:])
		return b
	}
	tests := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"reply from target", frame(other, 2, "10.0.0.9", "0.0.0.0"), true},
		{"announcement from target", frame(other, 1, "10.0.0.9", "10.0.0.9"), true},
		{"someone else probes target", frame(other, 1, "0.0.0.0", "10.0.0.9"), true},
		{"unrelated request", frame(other, 1, "10.0.0.7", "10.0.0.9"), false},
		{"reply from another ip", frame(other, 2, "10.0.0.8", "10.0.0.1"), false},
		{"our own probe", frame(own, 1, "0.0.0.0", "10.0.0.9"), false},
		{"truncated", frame(other, 2, "10.0.0.9", "0.0.0.0")[:20], false},
		{"not arp", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x50, 0x56, 0, 0, 2, 0x08, 0x00}, make([]byte, 28)...), false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		if got := answers(tc.frame, own, target); got != tc.want {
			t.Errorf("%s: answers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAnnounceInLab: B holds A's address at a wrong MAC (as after a redeploy gave
// the address to a new interface); one announcement from A corrects it, without any
// other traffic between them. Stations that never held the address learn nothing.
func TestAnnounceInLab(t *testing.T) {
	l := setupLab(t)
	hb, err := netlink.NewHandleAt(l.b)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	lb, err := hb.LinkByName(vethB)
	if err != nil {
		t.Fatal(err)
	}
	wrong := net.HardwareAddr{0x02, 0xde, 0xad, 0, 0, 1}
	if err := hb.NeighSet(&netlink.Neigh{LinkIndex: lb.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_STALE,
		IP: net.ParseIP(labHost), HardwareAddr: wrong}); err != nil {
		t.Fatal(err)
	}
	macOf := func(ip string) net.HardwareAddr {
		neighs, err := hb.NeighList(lb.Attrs().Index, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range neighs {
			if n.IP.String() == ip {
				return n.HardwareAddr
			}
		}
		return nil
	}
	if got := macOf(labHost); got.String() != wrong.String() {
		t.Fatalf("seeded neighbour entry reads %s", got)
	}
	var own net.HardwareAddr
	inNS(t, l.a, func() {
		ifi, err := net.InterfaceByName(vethA)
		if err != nil {
			t.Error(err)
			return
		}
		own = ifi.HardwareAddr
		if err := Announce(vethA, netip.MustParseAddr(labHost)); err != nil {
			t.Errorf("Announce: %v", err)
		}
		if err := Announce(vethA, netip.MustParseAddr("2001:db8::1")); err == nil {
			t.Error("announcing an IPv6 address succeeded")
		}
		if err := Announce("dnt-nd-missing", netip.MustParseAddr(labHost)); err == nil {
			t.Error("announcing on a missing interface succeeded")
		}
	})
	deadline := time.Now().Add(2 * time.Second)
	for macOf(labHost).String() != own.String() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := macOf(labHost); got.String() != own.String() {
		t.Errorf("after the announcement B holds %s at %s, want %s", labHost, got, own)
	}
	inNS(t, l.a, func() {
		if err := Announce(vethA, netip.MustParseAddr("10.213.0.77")); err != nil {
			t.Errorf("Announce: %v", err)
		}
	})
	time.Sleep(200 * time.Millisecond)
	if got := macOf("10.213.0.77"); got != nil {
		t.Errorf("B learnt an address it never held from an announcement: %s", got)
	}
}

func TestAnnouncementFrame(t *testing.T) {
	mac := net.HardwareAddr{0x00, 0x50, 0x56, 0x12, 0x34, 0x56}
	b, err := announcement(mac, netip.MustParseAddr("10.0.0.9"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ffffffffffff" + "005056123456" + "0806" + // Ethernet: broadcast, from mac, ARP
		"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
		"005056123456" + "0a000009" + "000000000000" + "0a000009" // sender = target = ip
	if got := fmt.Sprintf("%x", b[:42]); got != want {
		t.Errorf("announcement frame\n got %s\nwant %s", got, want)
	}
	if !answers(b, net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("10.0.0.9")) {
		t.Error("ARPProbe would not see an announcement as the address being in use")
	}
	if _, err := announcement(nil, netip.MustParseAddr("10.0.0.9")); err == nil {
		t.Error("announcement without a MAC succeeded")
	}
}
