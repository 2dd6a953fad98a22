// Package netdetect owns discovery of the host's LAN: the interface of the default
// route, its IPv4 address and gateway (via netlink), and RFC 5227-style ARP probes
// that tell whether an address is already taken before a decky claims it. Every
// function works in the network namespace of the calling OS thread.
package netdetect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpRetries bounds retries of a netlink dump the kernel reports as interrupted.
const dumpRetries = 5

// nexthop is one way out of a default route.
type nexthop struct {
	linkIndex int
	gw        netip.Addr
	metric    int
}

// defaultNexthops lists the IPv4 default routes of the main table as next hops,
// lowest metric first (multipath routes contribute each hop).
func defaultNexthops() ([]nexthop, error) {
	var routes []netlink.Route
	var err error
	for range dumpRetries {
		routes, err = netlink.RouteList(nil, netlink.FAMILY_V4)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list the routing table: %w", err)
	}
	var hops []nexthop
	for _, r := range routes {
		if !isDefault(r.Dst) || (r.Type != 0 && r.Type != unix.RTN_UNICAST) {
			continue
		}
		if len(r.MultiPath) > 0 {
			for _, h := range r.MultiPath {
				hops = append(hops, nexthop{linkIndex: h.LinkIndex, gw: toAddr(h.Gw), metric: r.Priority})
			}
			continue
		}
		hops = append(hops, nexthop{linkIndex: r.LinkIndex, gw: toAddr(r.Gw), metric: r.Priority})
	}
	slices.SortStableFunc(hops, func(a, b nexthop) int { return a.metric - b.metric })
	return hops, nil
}

func isDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0
}

func toAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

// DefaultInterface returns the name of the interface the IPv4 default route leaves by
// (the lowest-metric one when there are several).
func DefaultInterface() (string, error) {
	hops, err := defaultNexthops()
	if err != nil {
		return "", err
	}
	for _, h := range hops {
		if h.linkIndex == 0 {
			continue
		}
		link, err := netlink.LinkByIndex(h.linkIndex)
		if err != nil {
			return "", fmt.Errorf("the default route uses interface index %d, which cannot be read: %w", h.linkIndex, err)
		}
		return link.Attrs().Name, nil
	}
	return "", errors.New("there is no IPv4 default route, so the LAN interface cannot be detected; name it explicitly")
}

func linkByName(name string) (netlink.Link, error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("interface %s does not exist", name)
		}
		return nil, fmt.Errorf("cannot read interface %s: %w", name, err)
	}
	return link, nil
}

// InterfaceAddr returns the first primary IPv4 address of the interface with its
// prefix length (e.g. 192.168.1.23/24).
func InterfaceAddr(name string) (netip.Prefix, error) {
	link, err := linkByName(name)
	if err != nil {
		return netip.Prefix{}, err
	}
	var addrs []netlink.Addr
	for range dumpRetries {
		addrs, err = netlink.AddrList(link, netlink.FAMILY_V4)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cannot list the addresses of interface %s: %w", name, err)
	}
	// Primary addresses first, in the kernel's order.
	slices.SortStableFunc(addrs, func(a, b netlink.Addr) int {
		return (a.Flags & unix.IFA_F_SECONDARY) - (b.Flags & unix.IFA_F_SECONDARY)
	})
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip := toAddr(a.IP)
		ones, bits := a.Mask.Size()
		if !ip.Is4() || bits != 32 {
			continue
		}
		return netip.PrefixFrom(ip, ones), nil
	}
	return netip.Prefix{}, fmt.Errorf("interface %s has no IPv4 address", name)
}

// Gateway returns the gateway of the IPv4 default route that leaves by the named
// interface.
func Gateway(name string) (netip.Addr, error) {
	link, err := linkByName(name)
	if err != nil {
		return netip.Addr{}, err
	}
	hops, err := defaultNexthops()
	if err != nil {
		return netip.Addr{}, err
	}
	onLink := false
	for _, h := range hops {
		if h.linkIndex != link.Attrs().Index {
			continue
		}
		onLink = true
		if h.gw.Is4() {
			return h.gw, nil
		}
	}
	if onLink {
		return netip.Addr{}, fmt.Errorf("the default route via interface %s has no gateway address", name)
	}
	return netip.Addr{}, fmt.Errorf("there is no IPv4 default route via interface %s, so its gateway cannot be detected; set it explicitly", name)
}

// DefaultProbeTimeout is how long ProbeFunc waits for an ARP answer per address.
const DefaultProbeTimeout = time.Second

// ProbeFunc adapts ARPProbe to ipplan.Plan.InUse on the given interface. An address
// that cannot be probed (socket error, cancelled context) counts as in use: a decky
// never claims an address nobody could check.
func ProbeFunc(ctx context.Context, iface string) func(netip.Addr) bool {
	return func(ip netip.Addr) bool {
		used, err := ARPProbe(ctx, iface, ip, DefaultProbeTimeout)
		return used || err != nil
	}
}
