// Package dns is a DNS honeypot on 53/udp and 53/tcp: authoritative for the decky's
// domain (SOA, NS, A, AAAA, MX, TXT and, on Windows, the AD SRV records, all derived
// from the persona), a resolver that refuses or denies every outside name, BIND's
// version.bind/hostname.bind CHAOS answers (Windows DNS hides its version), and
// zone transfers (AXFR/IXFR) recorded as alerts and refused, or answered with the
// bait zone when the persona allows it. Every query is a request event.
//
// The wire format is github.com/miekg/dns; only TCP's two-byte framing and the
// answers are written here.
package dns

import (
	"fmt"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "dns",
		Summary: "DNS server (BIND or Windows DNS persona): authoritative for the decky's domain, queries and zone transfer attempts recorded",
		Ports:   []fleet.Port{{Number: Port, Proto: "udp"}, {Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is DNS.
const Port = 53

// Persona keys. domain is smb's and ldap's key name, so one decky's INI reads the same.
const (
	KeyDomain    = "domain"
	KeyVersion   = "version"
	KeyRecursion = "recursion"
	KeyAllowAXFR = "allow_axfr"
	KeyHosts     = "hosts"
	KeyNSID      = "nsid"
)

// Recursion modes for names outside the decky's zone.
const (
	RecursionRefuse   = "refuse"   // REFUSED, no RA: BIND with recursion off for this client
	RecursionNXDomain = "nxdomain" // NXDOMAIN with RA: a filtering resolver
)

// Keys are the dns service's persona keys.
var Keys = []service.Key{
	{Name: KeyDomain, Kind: service.String, Default: "corp.local", Help: "DNS domain the server is authoritative for", Check: service.CheckDomain},
	{Name: KeyVersion, Kind: service.String, Help: `version.bind answer; "none" hides it as Windows DNS and "version none;" do (default: the distro's BIND, e.g. 9.18.28-1~deb12u2-Debian; Windows: none)`, Check: checkText},
	{Name: KeyRecursion, Kind: service.String, Default: RecursionRefuse, Help: "answer to names outside the domain: refuse (REFUSED) or nxdomain (NXDOMAIN)", Check: checkRecursion},
	{Name: KeyAllowAXFR, Kind: service.Bool, Default: "false", Help: "answer zone transfers with the bait zone (always recorded) instead of refusing them"},
	{Name: KeyHosts, Kind: service.List, Help: "host names in the zone besides the server itself (default: mail, www, vpn, intranet, files, backup, git on Linux; exchange, sql01, files, vpn, wsus on Windows)", Check: checkHosts},
	{Name: KeyNSID, Kind: service.String, Help: "server identifier for EDNS NSID and hostname.bind/id.server (default: none, as BIND ships)", Check: checkText},
}

func checkText(v string) error {
	if len(v) > 255 {
		return fmt.Errorf("%q is longer than 255 bytes", v)
	}
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
		}
	}
	return nil
}

func checkRecursion(v string) error {
	if v != RecursionRefuse && v != RecursionNXDomain {
		return fmt.Errorf("%q is not refuse or nxdomain", v)
	}
	return nil
}

func checkHosts(v string) error {
	for _, h := range service.SplitList(v) {
		if err := service.CheckDomain(h); err != nil || strings.Contains(h, ".") {
			return fmt.Errorf("%q is not a single host label", h)
		}
	}
	return nil
}

// bindVersions is the BIND each distro packages (what `named -v` prints after
// "BIND ").
var bindVersions = map[string]string{
	"debian":   "9.18.28-1~deb12u2-Debian",
	"ubuntu22": "9.18.28-0ubuntu0.22.04.1-Ubuntu",
	"ubuntu20": "9.18.28-0ubuntu0.20.04.1-Ubuntu",
	"rocky9":   "9.16.23-RH",
	"centos7":  "9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16",
	"alpine":   "9.18.27",
	"fedora":   "9.18.24",
	"kali":     "9.20.2-1-Debian",
	"arch":     "9.20.0",
	"freebsd":  "9.18.27",
}

func isWindows(d catalog.Distro) bool {
	return d.OSFamily == catalog.FamilyWindows || d.OSFamily == catalog.FamilyWindowsServer
}

// defaultVersion is the version.bind text of a distro ("" for none).
func defaultVersion(d catalog.Distro) string {
	if isWindows(d) {
		return ""
	}
	if v, ok := bindVersions[d.Slug]; ok {
		return v
	}
	return bindVersions["debian"]
}
