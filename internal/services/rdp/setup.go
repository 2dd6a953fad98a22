// Package rdp is a Remote Desktop honeypot on 3389/tcp that answers like a Windows
// host requiring Network Level Authentication: the X.224 Connection Confirm with an
// RDP_NEG_RSP selecting CredSSP (PROTOCOL_HYBRID) when the client offers it, TLS
// with a per-decky self-signed certificate named after the host (as Windows makes
// its own RDP certificate), then CredSSP (TSRequest) carrying NTLMSSP, raw or
// SPNEGO-wrapped. The NTLM CHALLENGE names the persona's NetBIOS and DNS domain and
// computer and its Windows build; the client's AUTHENTICATE yields a NetNTLMv2
// response captured as a hashcat -m 5600 line, and the logon then fails with
// STATUS_LOGON_FAILURE as it would for a wrong password. The mstshash cookie of the
// Connection Request (the user name most tools put there) is captured too. With
// NLA turned off (persona key nla=false) a TLS-only client is taken through the
// MCS connection sequence to its Client Info PDU, whose auto-logon password is
// captured in plain text.
//
// No maintained Go library implements the server side of X.224/RDP negotiation or
// CredSSP, so the TPKT/X.224 framing, the TSRequest reader and the few MCS/GCC PDUs
// are hand-written, bounded and fuzzed; TSRequest bodies are encoded and decoded
// with encoding/asn1, NTLMSSP and SPNEGO come from internal/services/ntlmssp.
package rdp

import (
	"fmt"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

func init() {
	service.Register(service.Spec{
		Name:    "rdp",
		Summary: "Remote Desktop (Windows, NLA): X.224, TLS, CredSSP/NTLMSSP NetNTLMv2 capture, mstshash cookie user",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is the Remote Desktop port (ms-wbt-server).
const Port = 3389

// Persona keys. domain, netbios_domain and netbios_name are smb's keys, so one INI
// subsection describes the machine the same way to both services.
const (
	KeyDomain        = "domain"
	KeyNetBIOSDomain = "netbios_domain"
	KeyNetBIOSName   = "netbios_name"
	KeyVersion       = "windows_version"
	KeyNLA           = "nla"
)

// Keys are the rdp service's persona keys.
var Keys = []service.Key{
	{Name: KeyDomain, Kind: service.String, Default: "WORKGROUP", Help: "workgroup name, or an Active Directory DNS domain (e.g. corp.local) to look domain-joined", Check: ntlmssp.CheckDomainName},
	{Name: KeyNetBIOSDomain, Kind: service.String, Help: "NetBIOS domain name when domain is an AD domain (default: its first label, upper-case)", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeyNetBIOSName, Kind: service.String, Help: "NetBIOS computer name (default: the decky's hostname, upper-case, 15 characters at most)", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeyVersion, Kind: service.String, Help: "Windows version in the NTLM CHALLENGE, major.minor.build (default: the decky's Windows distro, e.g. 10.0.19045 for windows10, 10.0.20348 for windows2022; 10.0.17763 on a non-Windows decky)", Check: checkVersion},
	{Name: KeyNLA, Kind: service.Bool, Default: "true", Help: "require Network Level Authentication (CredSSP), as Windows does by default: a client that offers only TLS or standard RDP security gets HYBRID_REQUIRED_BY_SERVER; false lets TLS-only clients in (their MCS Connect Initial is recorded)"},
}

func checkVersion(v string) error {
	if ntlmssp.ParseVersion(v).String() != v {
		return fmt.Errorf("%q is not a Windows version like 10.0.19045", v)
	}
	return nil
}

// persona is what the server presents.
type persona struct {
	target ntlmssp.Target
	nla    bool
	fqdn   string // certificate subject: the computer's DNS name
}

func newPersona(rt *service.Runtime) persona {
	kernel := rt.Persona(KeyVersion)
	if kernel == "" {
		kernel = "10.0.17763"
		if rt.Distro.OSFamily == catalog.FamilyWindows || rt.Distro.OSFamily == catalog.FamilyWindowsServer {
			kernel = rt.Distro.Kernel
		}
	}
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	t := ntlmssp.Persona{
		Hostname:      host,
		Domain:        rt.Persona(KeyDomain),
		NetBIOSDomain: rt.Persona(KeyNetBIOSDomain),
		NetBIOSName:   rt.Persona(KeyNetBIOSName),
		Kernel:        kernel,
	}.Target()
	fqdn := t.NbComputer
	if t.DomainJoined {
		fqdn = t.DNSComputer
	}
	return persona{target: t, nla: rt.PersonaBool(KeyNLA, true), fqdn: fqdn}
}
