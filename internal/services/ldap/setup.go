// Package ldap is an LDAP honeypot on 389/tcp that answers like an Active Directory
// domain controller of the persona's domain: LDAPv3 messages are BER-decoded (with
// github.com/go-asn1-ber/asn1-ber), simple binds are captured in plaintext and refused
// with AD's invalidCredentials text, SASL binds are recorded, the anonymous rootDSE
// search returns a DC's rootDSE (the one nmap and ldapsearch read), and every other
// operation gets the answer an unauthenticated AD connection gets.
//
// The library decodes BER; what is hand-written here is the LDAP layer on top of it
// (message framing with a size bound, the protocol operations, filter rendering) and
// the AD wire form of responses (AD writes every constructed length in the 4-byte
// long form, which nmap's service fingerprints match byte for byte). Those parsers
// are bounded and fuzzed.
package ldap

import (
	"fmt"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

func init() {
	service.Register(service.Spec{
		Name:    "ldap",
		Summary: "LDAP as an Active Directory DC: rootDSE of the persona domain, simple bind passwords captured",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is LDAP over TCP.
const Port = 389

// Persona keys. domain, netbios_domain and netbios_name are smb's key names, so one
// decky's INI subsections read the same.
const (
	KeyDomain        = "domain"
	KeyNetBIOSDomain = "netbios_domain"
	KeyNetBIOSName   = "netbios_name"
	KeySite          = "site"
	KeyAnonymousBind = "anonymous_bind"
	KeyFunctional    = "functional_level"
)

// Keys are the ldap service's persona keys.
var Keys = []service.Key{
	{Name: KeyDomain, Kind: service.String, Default: "corp.local", Help: "Active Directory DNS domain the DC serves (DC=corp,DC=local)", Check: checkADDomain},
	{Name: KeyNetBIOSDomain, Kind: service.String, Help: "NetBIOS domain name (default: the domain's first label, upper-case), named in the NTLM CHALLENGE", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeyNetBIOSName, Kind: service.String, Help: "the DC's computer name (default: the decky's hostname, upper-case, 15 characters at most)", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeySite, Kind: service.String, Default: "Default-First-Site-Name", Help: "AD site of the DC (in dsServiceName and serverName)", Check: checkRDNValue},
	{Name: KeyAnonymousBind, Kind: service.Bool, Default: "true", Help: "anonymous and unauthenticated (DN, empty password) simple binds succeed, as on a default AD DC; false refuses them with invalidCredentials"},
	{Name: KeyFunctional, Kind: service.Int, Help: "domain/forest/DC functionality level (default: 7, Windows Server 2016 level, what 2016–2022 DCs report)", Check: service.IntRange(0, 10)},
}

func checkADDomain(v string) error {
	if err := service.CheckDomain(v); err != nil {
		return err
	}
	if !strings.Contains(v, ".") {
		return fmt.Errorf("%q is not an Active Directory DNS domain (write it dotted, e.g. corp.local)", v)
	}
	return nil
}

func checkRDNValue(v string) error {
	if v == "" || len(v) > 63 {
		return fmt.Errorf("%q must be 1 to 63 characters", v)
	}
	if strings.ContainsAny(v, `,=+<>#;"\`) {
		return fmt.Errorf("%q holds a character that needs escaping in a DN", v)
	}
	return ntlmssp.CheckPrintableASCII(v)
}

// persona is the resolved identity of the DC.
type persona struct {
	domain     string // corp.local
	netbiosDom string // CORP
	host       string // DC01 (NetBIOS computer name)
	site       string
	anonymous  bool
	functional int
	build      int    // Windows build number (17763, 20348, …)
	vtag       string // the "vNNNN" suffix of AD's diagnostic messages
}

func newPersona(rt *service.Runtime) persona {
	p := persona{
		domain:     strings.ToLower(rt.Persona(KeyDomain)),
		site:       rt.Persona(KeySite),
		anonymous:  rt.PersonaBool(KeyAnonymousBind, true),
		functional: rt.PersonaInt(KeyFunctional, 7),
	}
	if p.domain == "" {
		p.domain = "corp.local"
	}
	if p.site == "" {
		p.site = "Default-First-Site-Name"
	}
	p.netbiosDom = rt.Persona(KeyNetBIOSDomain)
	if p.netbiosDom == "" {
		first, _, _ := strings.Cut(p.domain, ".")
		p.netbiosDom = strings.ToUpper(first)
		if len(p.netbiosDom) > 15 {
			p.netbiosDom = p.netbiosDom[:15]
		}
	}
	p.host = rt.Persona(KeyNetBIOSName)
	if p.host == "" {
		h := rt.Config.Hostname
		if h == "" {
			h = rt.Config.Decky
		}
		short, _, _ := strings.Cut(h, ".")
		p.host = strings.ToUpper(short)
		if len(p.host) > 15 {
			p.host = p.host[:15]
		}
		// A DN-special character in a hostname would break the DNs below; DECNET's
		// hostnames never hold one, but a user-set hostname might.
		p.host = strings.Map(func(r rune) rune {
			if strings.ContainsRune(`,=+<>#;"\ `, r) || r < 0x20 || r > 0x7e {
				return '-'
			}
			return r
		}, p.host)
		if p.host == "" {
			p.host = "DC01"
		}
	}
	p.build = windowsBuild(rt.Distro)
	p.vtag = "v4563" // Windows Server 2019 (and what most DC scans show)
	if p.build >= 20348 {
		p.vtag = "v4f7c" // Windows Server 2022
	}
	return p
}

// windowsBuild reads the build from a Windows distro's kernel ("10.0.17763"); other
// families get 17763 (a Linux decky running ldap still tells the AD story).
func windowsBuild(d catalog.Distro) int {
	if d.OSFamily == catalog.FamilyWindows || d.OSFamily == catalog.FamilyWindowsServer {
		parts := strings.Split(d.Kernel, ".")
		if len(parts) == 3 {
			var n int
			if _, err := fmt.Sscanf(parts[2], "%d", &n); err == nil && n > 0 {
				return n
			}
		}
	}
	return 17763
}

// baseDN is the domain's naming context: corp.local → DC=corp,DC=local.
func (p persona) baseDN() string {
	labels := strings.Split(p.domain, ".")
	for i, l := range labels {
		labels[i] = "DC=" + l
	}
	return strings.Join(labels, ",")
}

// dnsHostName is the DC's FQDN: DC01.corp.local.
func (p persona) dnsHostName() string { return p.host + "." + p.domain }
