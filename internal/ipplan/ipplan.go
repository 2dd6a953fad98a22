// Package ipplan owns decky address planning: the minimal CIDR that covers a set of
// decky IPs (Docker's ip-range and the host hairpin route), allocation of free
// addresses on the LAN subnet, and validation of explicitly configured addresses.
// It is pure: the only outside knowledge comes through Plan.InUse (an ARP probe).
package ipplan

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// maxScan bounds how many candidate addresses Allocate examines, so a huge (IPv6)
// subnet whose addresses all look taken cannot make it loop for ever.
const maxScan = 1 << 24

// CoveringPrefix returns the smallest CIDR prefix that contains every address in ips
// (DECNET's ips_to_range: XOR the lowest and highest address and keep their common
// leading bits). IPv4-mapped IPv6 addresses count as IPv4. All addresses must be of
// one family.
func CoveringPrefix(ips []netip.Addr) (netip.Prefix, error) {
	if len(ips) == 0 {
		return netip.Prefix{}, errors.New("there are no IP addresses to cover")
	}
	lo, hi := ips[0].Unmap(), ips[0].Unmap()
	if !lo.IsValid() {
		return netip.Prefix{}, errors.New("cannot cover an invalid (empty) IP address")
	}
	for _, ip := range ips[1:] {
		ip = ip.Unmap()
		if !ip.IsValid() {
			return netip.Prefix{}, errors.New("cannot cover an invalid (empty) IP address")
		}
		if ip.Is4() != lo.Is4() {
			return netip.Prefix{}, fmt.Errorf("cannot cover %s and %s with one prefix: they are of different IP families", lo, ip)
		}
		if ip.Less(lo) {
			lo = ip
		}
		if hi.Less(ip) {
			hi = ip
		}
	}
	common := commonBits(lo, hi)
	p, err := lo.Prefix(common)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cannot build a /%d prefix from %s: %w", common, lo, err)
	}
	return p, nil
}

// commonBits counts the leading bits a and b (same family) share.
func commonBits(a, b netip.Addr) int {
	if a.Is4() {
		x, y := a.As4(), b.As4()
		return bits.LeadingZeros32(be32(x[:]) ^ be32(y[:]))
	}
	x, y := a.As16(), b.As16()
	if d := be64(x[:8]) ^ be64(y[:8]); d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(be64(x[8:])^be64(y[8:]))
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be64(b []byte) uint64 {
	return uint64(be32(b[:4]))<<32 | uint64(be32(b[4:]))
}

// lastAddr returns the highest address of p (the broadcast address for IPv4).
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		a := p.Addr().As4()
		for i := range a {
			a[i] |= hostMask(p.Bits(), i)
		}
		return netip.AddrFrom4(a)
	}
	a := p.Addr().As16()
	for i := range a {
		a[i] |= hostMask(p.Bits(), i)
	}
	return netip.AddrFrom16(a)
}

// hostMask returns the host-bit mask of byte i for a prefix of the given length.
func hostMask(prefixBits, i int) byte {
	n := prefixBits - 8*i // network bits in this byte
	switch {
	case n >= 8:
		return 0
	case n <= 0:
		return 0xff
	default:
		return 0xff >> n
	}
}

// Plan describes the LAN decky addresses are planned on.
type Plan struct {
	Subnet  netip.Prefix // the LAN
	Gateway netip.Addr   // its router; never allocated (may be zero)
	Host    netip.Addr   // this host's address on the LAN; never allocated (may be zero)
	// Start is the optional first address to allocate from (DECNET's ip-start).
	Start netip.Addr
	// Reserved holds addresses already taken (explicitly configured deckies).
	Reserved []netip.Addr
	// InUse reports whether something already answers on an address (an ARP probe).
	// It is asked only about addresses that pass every other check. May be nil.
	InUse func(netip.Addr) bool
}

// usableRange returns the first and last assignable addresses of the subnet: an IPv4
// subnet larger than /31 loses its network and broadcast addresses, an IPv6 subnet its
// subnet-router anycast (all-zero host) address.
func (p Plan) usableRange() (first, last netip.Addr, err error) {
	if !p.Subnet.IsValid() {
		return first, last, errors.New("the subnet is not set")
	}
	s := p.Subnet.Masked()
	first, last = s.Addr(), lastAddr(s)
	if s.Addr().Is4() {
		if s.Bits() < 31 {
			first, last = first.Next(), last.Prev()
		}
	} else if s.Bits() < 128 {
		first = first.Next()
	}
	return first, last, nil
}

// Allocate returns n free addresses in ascending order, starting at Start (or the
// first usable address) and skipping the network and broadcast addresses, the gateway,
// the host, Reserved and any address InUse reports taken.
func (p Plan) Allocate(n int) ([]netip.Addr, error) {
	if n < 0 {
		return nil, fmt.Errorf("cannot allocate a negative number (%d) of addresses", n)
	}
	if n == 0 {
		return nil, nil
	}
	first, last, err := p.usableRange()
	if err != nil {
		return nil, err
	}
	subnet := p.Subnet.Masked()
	cur := first
	if p.Start.IsValid() {
		start := p.Start.Unmap()
		if !subnet.Contains(start) {
			return nil, fmt.Errorf("the start address %s is outside the subnet %s", start, subnet)
		}
		if start.Less(first) || last.Less(start) {
			return nil, fmt.Errorf("the start address %s is not an assignable address of %s", start, subnet)
		}
		cur = start
	}
	taken := map[netip.Addr]bool{}
	for _, a := range []netip.Addr{p.Gateway, p.Host} {
		if a.IsValid() {
			taken[a.Unmap()] = true
		}
	}
	for _, a := range p.Reserved {
		taken[a.Unmap()] = true
	}
	from := cur
	out := make([]netip.Addr, 0, min(n, 4096))
	for scanned := 0; ; scanned++ {
		if scanned >= maxScan {
			return nil, fmt.Errorf("found only %d of %d free addresses in the first %d addresses of %s from %s",
				len(out), n, maxScan, subnet, from)
		}
		if !taken[cur] && (p.InUse == nil || !p.InUse(cur)) {
			out = append(out, cur)
			if len(out) == n {
				return out, nil
			}
		}
		if cur == last {
			break
		}
		cur = cur.Next()
	}
	return nil, fmt.Errorf("the subnet %s has only %d free addresses from %s on, but %d are needed",
		subnet, len(out), from, n)
}

// CheckExplicit reports why ip cannot be given to a decky: outside the subnet, the
// network or broadcast address, the gateway, or this host's address. Duplicates across
// deckies are the caller's check (see Duplicates).
func (p Plan) CheckExplicit(ip netip.Addr) error {
	if !ip.IsValid() {
		return errors.New("the IP address is empty")
	}
	ip = ip.Unmap()
	if !p.Subnet.IsValid() {
		return errors.New("the subnet is not set")
	}
	subnet := p.Subnet.Masked()
	if !subnet.Contains(ip) {
		return fmt.Errorf("%s is outside the subnet %s", ip, subnet)
	}
	if p.Gateway.IsValid() && ip == p.Gateway.Unmap() {
		return fmt.Errorf("%s is the gateway", ip)
	}
	if p.Host.IsValid() && ip == p.Host.Unmap() {
		return fmt.Errorf("%s is this host's own address", ip)
	}
	first, last, _ := p.usableRange()
	if ip.Less(first) {
		return fmt.Errorf("%s is the network address of %s", ip, subnet)
	}
	if last.Less(ip) {
		return fmt.Errorf("%s is the broadcast address of %s", ip, subnet)
	}
	return nil
}

// Duplicates returns every address that occurs more than once in ips, each once, in
// the order its second occurrence appears. IPv4-mapped IPv6 addresses equal their IPv4
// form.
func Duplicates(ips []netip.Addr) []netip.Addr {
	seen := make(map[netip.Addr]int, len(ips))
	var dups []netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		seen[ip]++
		if seen[ip] == 2 {
			dups = append(dups, ip)
		}
	}
	return slices.Clip(dups)
}
