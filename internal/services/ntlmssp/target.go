package ntlmssp

import (
	"strconv"
	"strings"
)

// Persona is how a Windows service names itself, from the persona keys DECNET's
// Windows-protocol services share (smb, rdp, mssql use the same key names so one
// INI subsection reads the same): the domain (a workgroup name, or an AD DNS domain
// such as corp.local for a domain member), optional NetBIOS domain and computer
// names, the decky's hostname and its Windows version ("10.0.19045").
type Persona struct {
	Hostname      string
	Domain        string // "WORKGROUP" or an AD DNS domain
	NetBIOSDomain string // default: the AD domain's first label, upper-case
	NetBIOSName   string // default: the hostname's first label, upper-case, 15 characters at most
	Kernel        string // Windows version "major.minor.build"
}

// Target is the CHALLENGE identity of a Windows machine with this persona: a domain
// member names its domain (NetBIOS and DNS, tree = domain) and its FQDN; a workgroup
// machine is its own domain.
func (p Persona) Target() Target {
	host := p.Hostname
	if host == "" {
		host = "localhost"
	}
	short, _, _ := strings.Cut(host, ".")
	nb := p.NetBIOSName
	if nb == "" {
		nb = NetBIOSName(short)
	}
	domain := p.Domain
	if domain == "" {
		domain = "WORKGROUP"
	}
	t := Target{NbComputer: nb, DNSComputer: strings.ToLower(short)}
	if strings.Contains(domain, ".") {
		nbd := p.NetBIOSDomain
		if nbd == "" {
			first, _, _ := strings.Cut(domain, ".")
			nbd = NetBIOSName(first)
		}
		dns := strings.ToLower(domain)
		t.DomainJoined = true
		t.TargetName, t.NbDomain = nbd, nbd
		t.DNSDomain, t.DNSTree = dns, dns
		t.DNSComputer = strings.ToLower(short) + "." + dns
	} else {
		t.TargetName, t.NbDomain, t.DNSDomain = nb, nb, strings.ToLower(short)
	}
	t.Version = ParseVersion(p.Kernel)
	return t
}

// NetBIOSName is s upper-case and cut to NetBIOS's 15 characters.
func NetBIOSName(s string) string {
	s = strings.ToUpper(s)
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

// ParseVersion reads a Windows version "10.0.19045" (a Windows distro's Kernel);
// anything else is Windows 10 22H2's 10.0.19045.
func ParseVersion(k string) Version {
	parts := strings.SplitN(k, ".", 3)
	if len(parts) == 3 {
		a, e1 := strconv.Atoi(parts[0])
		b, e2 := strconv.Atoi(parts[1])
		c, e3 := strconv.Atoi(parts[2])
		if e1 == nil && e2 == nil && e3 == nil && a >= 0 && a < 256 && b >= 0 && b < 256 && c >= 0 && c < 65536 {
			return Version{Major: byte(a), Minor: byte(b), Build: uint16(c)}
		}
	}
	return Version{Major: 10, Minor: 0, Build: 19045}
}
