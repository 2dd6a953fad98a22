package lab

import (
	"fmt"
	"net/netip"
	"regexp"
)

// Defaults of a lab. The subnet sits in a corner of 10.0.0.0/8 that home
// routers (192.168.x), Docker (172.17+/16) and most VPNs leave alone; Up still
// refuses it when the host already uses any part of it.
const (
	DefaultName = "decnet"
)

var (
	// DefaultSubnet is the lab LAN when Config.Subnet is unset.
	DefaultSubnet = netip.MustParsePrefix("10.47.0.0/24")
)

// MaxNameLen bounds Config.Name: the longest link name derived from it,
// Name+"-lan0", must fit the kernel's 15-byte interface name limit.
const MaxNameLen = 15 - len("-lan0")

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Config describes a lab. Zero fields take defaults (see WithDefaults).
type Config struct {
	// Name prefixes every object of the lab: links <Name>-lan0 and
	// <Name>-att0, network namespace <Name>-attacker. Default "decnet".
	Name string
	// Subnet is the lab LAN (IPv4, /16 to /28). Default 10.47.0.0/24.
	Subnet netip.Prefix
	// HostIP is the host's own address on the lab LAN, carried by the
	// parent link as a NIC carries the host's address on a real LAN.
	// Default: first address of Subnet (.1).
	HostIP netip.Addr
	// AttackerIP is the attacker namespace's address. Default: broadcast-5
	// (.250 in a /24).
	AttackerIP netip.Addr
	// Gateway is the lab's "router" address: nothing is assigned to it (the
	// lab has no router and no way out), but it is reserved so deckies and
	// the IP allocator avoid it, as they would avoid a real LAN's gateway.
	// Default: last usable address (.254 in a /24).
	Gateway netip.Addr
}

// WithDefaults returns c with its zero fields filled in.
func (c Config) WithDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if !c.Subnet.IsValid() {
		c.Subnet = DefaultSubnet
	}
	c.Subnet = c.Subnet.Masked()
	if !c.Subnet.Addr().Is4() || c.Subnet.Bits() < 16 || c.Subnet.Bits() > 28 {
		// Validate reports it; offsets below only make sense for IPv4 /16../28.
		return c
	}
	network := c.Subnet.Addr()
	broadcast := lastAddr(c.Subnet)
	if !c.HostIP.IsValid() {
		c.HostIP = network.Next()
	}
	if !c.AttackerIP.IsValid() {
		c.AttackerIP = addOffset(broadcast, -5)
	}
	if !c.Gateway.IsValid() {
		c.Gateway = broadcast.Prev()
	}
	return c
}

// Validate checks a configuration (after WithDefaults).
func (c Config) Validate() error {
	if err := c.validateName(); err != nil {
		return err
	}
	if !c.Subnet.IsValid() || !c.Subnet.Addr().Is4() {
		return fmt.Errorf("lab subnet %v is invalid: the lab needs an IPv4 subnet", c.Subnet)
	}
	if c.Subnet.Bits() < 16 || c.Subnet.Bits() > 28 {
		return fmt.Errorf("lab subnet %v has an unsupported size: use a prefix length between /16 and /28", c.Subnet)
	}
	network, broadcast := c.Subnet.Addr(), lastAddr(c.Subnet)
	seen := map[netip.Addr]string{}
	for _, a := range []struct {
		role string
		ip   netip.Addr
	}{{"host IP", c.HostIP}, {"attacker IP", c.AttackerIP}, {"gateway", c.Gateway}} {
		switch {
		case !a.ip.IsValid() || !a.ip.Is4():
			return fmt.Errorf("lab %s %v is invalid: it must be an IPv4 address", a.role, a.ip)
		case !c.Subnet.Contains(a.ip):
			return fmt.Errorf("lab %s %v is outside the lab subnet %v", a.role, a.ip, c.Subnet)
		case a.ip == network || a.ip == broadcast:
			return fmt.Errorf("lab %s %v is the network or broadcast address of %v", a.role, a.ip, c.Subnet)
		}
		if other, dup := seen[a.ip]; dup {
			return fmt.Errorf("lab %s %v is the same address as the %s", a.role, a.ip, other)
		}
		seen[a.ip] = a.role
	}
	return nil
}

// ParentName is the host end of the lab's veth pair, the deckies' macvlan
// parent: "<name>-lan0".
func ParentName(name string) string { return name + "-lan0" }

// PeerName is the attacker end of the veth pair: "<name>-att0".
func PeerName(name string) string { return name + "-att0" }

// NamespaceName is the attacker network namespace: "<name>-attacker".
func NamespaceName(name string) string { return name + "-attacker" }

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func addOffset(ip netip.Addr, off int) netip.Addr {
	a := ip.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v = uint32(int64(v) + int64(off))
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (c Config) validateName() error {
	if len(c.Name) > MaxNameLen {
		return fmt.Errorf("lab name %q is too long: at most %d characters so that %q fits the 15-byte interface name limit", c.Name, MaxNameLen, c.Name+"-lan0")
	}
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("lab name %q is invalid: use a lower-case letter followed by lower-case letters, digits or '-'", c.Name)
	}
	return nil
}
