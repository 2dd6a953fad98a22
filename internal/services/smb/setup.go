// Package smb is an SMB honeypot on 445/tcp: SMB2/3 NEGOTIATE (dialects 2.0.2–3.1.1
// as the persona offers), SESSION_SETUP with SPNEGO/NTLMSSP, and capture of the
// client's NetNTLMv2 (or v1) response as a hashcat-ready line; every logon then fails
// with STATUS_LOGON_FAILURE. A Windows decky answers as Windows (its build in the NTLM
// version field, Windows's SPNEGO mechanism list); a Linux decky answers as Samba.
// SMB1 negotiates that offer SMB2 switch to SMB2 as Windows does; plain SMB1 (NT LM
// 0.12) is served only when the persona enables it.
//
// No maintained Go library implements the server side of SMB2, SPNEGO acceptance or
// NTLMSSP (go-smb2 and go-ntlmssp are clients), so the framing is hand-written here,
// bounded and fuzzed; ASN.1 parsing uses encoding/asn1.
package smb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

func init() {
	service.Register(service.Spec{
		Name:    "smb",
		Summary: "SMB2/3 file server (Windows or Samba persona): NetNTLMv2 capture, hashcat-ready",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is SMB over TCP (microsoft-ds).
const Port = 445

// Persona keys.
const (
	KeyDomain          = "domain"
	KeyNetBIOSDomain   = "netbios_domain"
	KeyNetBIOSName     = "netbios_name"
	KeyDialects        = "dialects"
	KeySigningRequired = "signing_required"
	KeySMB1            = "smb1"
	KeyServerString    = "server_string"
)

// Keys are the smb service's persona keys.
var Keys = []service.Key{
	{Name: KeyDomain, Kind: service.String, Default: "WORKGROUP", Help: "workgroup name, or an Active Directory DNS domain (e.g. corp.local) to look domain-joined", Check: ntlmssp.CheckDomainName},
	{Name: KeyNetBIOSDomain, Kind: service.String, Help: "NetBIOS domain name when domain is an AD domain (default: its first label, upper-case)", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeyNetBIOSName, Kind: service.String, Help: "NetBIOS computer name (default: the decky's hostname, upper-case, 15 characters at most)", Check: ntlmssp.CheckNetBIOSName},
	{Name: KeyDialects, Kind: service.List, Default: "2.0.2,2.1,3.0,3.0.2,3.1.1", Help: "SMB2 dialects offered (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1); the highest one the client also offers wins", Check: checkDialects},
	{Name: KeySigningRequired, Kind: service.Bool, Default: "false", Help: "announce that signing is required (domain controllers do)"},
	{Name: KeySMB1, Kind: service.Bool, Default: "false", Help: "also serve SMB1 (NT LM 0.12) logons, as pre-2017 Windows and Samba with SMB1 enabled do"},
	{Name: KeyServerString, Kind: service.String, Help: "Samba's native LAN manager string on SMB1 (default: Samba 4.17.12-Debian style by distro)", Check: ntlmssp.CheckPrintableASCII},
}

// dialectNames maps persona names to SMB2 dialect revisions.
var dialectNames = map[string]uint16{"2.0.2": 0x0202, "2.1": 0x0210, "3.0": 0x0300, "3.0.2": 0x0302, "3.1.1": 0x0311}

func checkDialects(v string) error {
	l := service.SplitList(v)
	if len(l) == 0 {
		return fmt.Errorf("names no dialect")
	}
	for _, d := range l {
		if _, ok := dialectNames[d]; !ok {
			return fmt.Errorf("%q is not an SMB2 dialect (use 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1)", d)
		}
	}
	return nil
}

// SecretServerGUID is the decky's SMB server GUID (hex, 16 bytes): stable for the
// decky's life as a real server's is.
const SecretServerGUID = "smb_server_guid"

// Secrets generates the decky's server GUID at deploy time.
func Secrets(id service.Identity) (map[string]string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate smb server guid for %s: %w", id.Decky, err)
	}
	b[7] = b[7]&0x0f | 0x40 // version 4: the high nibble of data3, stored little-endian
	b[8] = b[8]&0x3f | 0x80
	return map[string]string{SecretServerGUID: hex.EncodeToString(b)}, nil
}

// persona is the resolved identity the server presents.
type persona struct {
	samba           bool
	guid            [16]byte
	dialects        []uint16
	signingRequired bool
	smb1            bool
	target          ntlmssp.Target
	mechs           []string // for tests and docs
	serverString    string   // Samba's NativeLanMan on SMB1
	nativeOS        string   // SMB1 NativeOS
	build           int      // Windows build (0 for Samba)
}

func newPersona(rt *service.Runtime) (*persona, error) {
	p := &persona{
		samba:           rt.Distro.OSFamily != catalog.FamilyWindows && rt.Distro.OSFamily != catalog.FamilyWindowsServer,
		signingRequired: rt.PersonaBool(KeySigningRequired, false),
		smb1:            rt.PersonaBool(KeySMB1, false),
	}
	g, err := hex.DecodeString(rt.Secret(SecretServerGUID))
	if err != nil || len(g) != 16 {
		return nil, fmt.Errorf("smb server guid is missing from the service secrets (redeploy the decky to generate it)")
	}
	copy(p.guid[:], g)
	for _, d := range rt.PersonaList(KeyDialects) {
		if v, ok := dialectNames[d]; ok {
			p.dialects = append(p.dialects, v)
		}
	}
	if len(p.dialects) == 0 {
		p.dialects = []uint16{0x0202, 0x0210, 0x0300, 0x0302, 0x0311}
	}

	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	short, _, _ := strings.Cut(host, ".")
	nb := rt.Persona(KeyNetBIOSName)
	if nb == "" {
		nb = strings.ToUpper(short)
		if len(nb) > 15 {
			nb = nb[:15]
		}
	}
	domain := rt.Persona(KeyDomain)
	if domain == "" {
		domain = "WORKGROUP"
	}
	t := ntlmssp.Target{NbComputer: nb, DNSComputer: strings.ToLower(short)}
	if strings.Contains(domain, ".") { // an AD domain: the decky is a member
		nbd := rt.Persona(KeyNetBIOSDomain)
		if nbd == "" {
			first, _, _ := strings.Cut(domain, ".")
			nbd = strings.ToUpper(first)
			if len(nbd) > 15 {
				nbd = nbd[:15]
			}
		}
		dns := strings.ToLower(domain)
		t.DomainJoined = true
		t.TargetName, t.NbDomain = nbd, nbd
		t.DNSDomain, t.DNSTree = dns, dns
		t.DNSComputer = strings.ToLower(short) + "." + dns
	} else if p.samba {
		// Samba standalone: target is the server, NetBIOS domain is the workgroup.
		t.TargetName, t.NbDomain = nb, strings.ToUpper(domain)
		t.DNSComputer = strings.ToLower(short)
		t.IncludeDNSEmpty = true
	} else {
		// A workgroup Windows machine is its own domain.
		t.TargetName, t.NbDomain, t.DNSDomain = nb, nb, strings.ToLower(short)
	}

	if p.samba {
		t.Version = ntlmssp.Version{Major: 6, Minor: 1, Build: 0} // what Samba's NTLMSSP announces
		p.serverString = rt.Persona(KeyServerString)
		if p.serverString == "" {
			p.serverString = sambaString(rt.Distro)
		}
		p.nativeOS = "Windows 6.1"
	} else {
		maj, min, build := parseWindowsVersion(rt.Distro.Kernel)
		t.Version = ntlmssp.Version{Major: byte(maj), Minor: byte(min), Build: uint16(build)}
		p.build = build
		// SMB1 NativeOS / NativeLanMan as Windows fills them: "Windows Server 2019
		// Standard 17763" and "Windows Server 2019 Standard 6.3".
		p.nativeOS = fmt.Sprintf("%s %d", windowsProduct(rt.Distro.Display), build)
		p.serverString = windowsProduct(rt.Distro.Display) + " 6.3"
	}
	p.target = t
	return p, nil
}

// windowsProduct drops the feature release from a display name ("Windows 10 Pro 22H2"
// → "Windows 10 Pro").
func windowsProduct(display string) string {
	f := strings.Fields(display)
	if n := len(f); n > 2 && strings.HasSuffix(f[n-1], "H2") || n > 2 && strings.HasSuffix(f[n-1], "H1") {
		return strings.Join(f[:n-1], " ")
	}
	return display
}

// parseWindowsVersion reads "10.0.19045" (a Windows distro's Kernel).
func parseWindowsVersion(k string) (major, minor, build int) {
	parts := strings.SplitN(k, ".", 3)
	major, minor, build = 10, 0, 19045
	if len(parts) == 3 {
		a, e1 := strconv.Atoi(parts[0])
		b, e2 := strconv.Atoi(parts[1])
		c, e3 := strconv.Atoi(parts[2])
		if e1 == nil && e2 == nil && e3 == nil && a < 256 && b < 256 && c < 65536 {
			major, minor, build = a, b, c
		}
	}
	return
}

// sambaVersions is the Samba each Linux distro packages.
var sambaVersions = map[string]string{
	"debian":   "4.17.12-Debian",
	"ubuntu22": "4.15.13-Ubuntu",
	"ubuntu20": "4.15.13-Ubuntu",
	"rocky9":   "4.19.4",
	"centos7":  "4.10.16",
	"alpine":   "4.18.9",
	"fedora":   "4.19.7",
	"kali":     "4.20.1-Debian",
	"arch":     "4.20.2",
	"freebsd":  "4.16.11",
}

func sambaString(d catalog.Distro) string {
	if v, ok := sambaVersions[d.Slug]; ok {
		return "Samba " + v
	}
	return "Samba 4.17.12-Debian"
}
