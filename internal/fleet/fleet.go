// Package fleet holds the desired state of a DECNET deployment: the deckies, their
// addresses, personas and services. It is pure data: config builds it, the compose
// renderer and the engine consume it, the state file mirrors it.
package fleet

import (
	"net/netip"
	"strconv"
)

// Driver names the Docker network driver used for the decoy LAN.
type Driver string

const (
	Macvlan Driver = "macvlan"
	IPvlan  Driver = "ipvlan"
)

// Fleet is everything one `decnet deploy` puts on a LAN.
type Fleet struct {
	// Interface is the parent NIC of the decoy LAN (never chosen as eth0 by tests).
	Interface string `json:"interface"`
	// Subnet is the LAN the deckies live on; Gateway is its router.
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	// HostIP is this host's address on Subnet (never given to a decky).
	HostIP netip.Addr `json:"host_ip"`
	// IPRange is the minimal CIDR covering every decky IP (Docker's ip-range and the hairpin route).
	IPRange netip.Prefix `json:"ip_range"`
	Driver  Driver       `json:"driver"`
	// LogTarget is an optional syslog target (host:port, udp://, tcp://, tls://).
	LogTarget string  `json:"log_target,omitempty"`
	Deckies   []Decky `json:"deckies"`
}

// Decky is one fake machine.
type Decky struct {
	Name      string            `json:"name"`     // stable identity, e.g. decky-01; events carry this
	Hostname  string            `json:"hostname"` // cosmetic hostname the decky presents
	IP        netip.Addr        `json:"ip"`
	MAC       string            `json:"mac"` // aa:bb:cc:dd:ee:ff, from a vendor OUI that fits the persona
	Archetype string            `json:"archetype,omitempty"`
	Distro    string            `json:"distro"`    // catalog distro slug
	OSFamily  string            `json:"os_family"` // catalog OS family slug
	NmapOS    string            `json:"nmap_os,omitempty"`
	Sysctls   map[string]string `json:"sysctls"` // namespaced sysctls of the base container
	Services  []Service         `json:"services"`
	// Secrets holds per-decky, per-service generated secrets (host keys, certificates),
	// keyed by service name then secret name. Generated at deploy time, kept in the state.
	Secrets map[string]map[string]string `json:"secrets,omitempty"`
}

// Service is one honeypot service on a decky: a registered plugin or a BYOS container.
type Service struct {
	Name string `json:"name"`
	// Persona holds the validated persona key values (raw strings, canonicalised),
	// including defaults, for registered services.
	Persona map[string]string `json:"persona,omitempty"`
	// Custom is set for "bring your own service" sections ([custom-<name>]).
	Custom *Custom `json:"custom,omitempty"`
}

// Custom describes a BYOS container.
type Custom struct {
	Image string   `json:"image"`
	Exec  []string `json:"exec,omitempty"`
	Ports []Port   `json:"ports,omitempty"`
}

// Port is a listening port.
type Port struct {
	Number int    `json:"port"`
	Proto  string `json:"proto"` // "tcp" or "udp"
}

func (p Port) String() string { return strconv.Itoa(p.Number) + "/" + p.Proto }

// Decky returns the decky with the given name.
func (f *Fleet) Decky(name string) (*Decky, bool) {
	for i := range f.Deckies {
		if f.Deckies[i].Name == name {
			return &f.Deckies[i], true
		}
	}
	return nil, false
}
