// Package mssql is a Microsoft SQL Server honeypot on 1433/tcp: TDS PRELOGIN with
// the persona's version (SQL Server 2019 by default), encryption negotiated as a
// default install does (a self-signed "SSL_Self_Signed_Fallback" certificate made
// at start, the TLS handshake carried in PRELOGIN packets, the login alone
// encrypted unless the client asks for more), LOGIN7 with the password
// de-obfuscated and captured with the client's host, application and library, the
// pre-7.0 TDS 4.2 login that DB-Library tools (and hydra) still send, and
// integrated (SSPI/NTLM) logons captured as a NetNTLMv2 hashcat line. Every login
// fails with SQL Server's own error 18456 "Login failed for user '…'.".
//
// The TDS framing and the login parsers are hand-written (no Go library has a TDS
// server side), bounded and fuzzed; NTLMSSP comes from internal/services/ntlmssp.
package mssql

import (
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

func init() {
	service.Register(service.Spec{
		Name:    "mssql",
		Summary: "Microsoft SQL Server (TDS 7.x and 4.2): PRELOGIN version, TLS-in-TDS, LOGIN7 password and SSPI/NTLM capture, error 18456",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is SQL Server's default instance port.
const Port = 1433

// Persona keys. domain, netbios_domain and netbios_name are smb's keys.
const (
	KeyVersion         = "version"
	KeyServerName      = "server_name"
	KeyForceEncryption = "force_encryption"
	KeyDomain          = "domain"
	KeyNetBIOSDomain   = "netbios_domain"
	KeyNetBIOSName     = "netbios_name"
)

// releases maps a product year to its RTM version, what a fresh install reports.
var releases = map[string]string{
	"2012": "11.0.2100.60",
	"2014": "12.0.2000.8",
	"2016": "13.0.1601.5",
	"2017": "14.0.1000.169",
	"2019": "15.0.2000.5",
	"2022": "16.0.1000.6",
}

// Keys are the mssql service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "2019", Help: "SQL Server release (2012, 2014, 2016, 2017, 2019, 2022: its RTM version, e.g. 2019 = 15.0.2000.5) or an exact version like 15.0.4335.1", Check: checkVersion},
	{Name: KeyServerName, Kind: service.String, Help: "server name in error messages, HOST or HOST\\INSTANCE (default: the NetBIOS computer name)", Check: checkServerName},
	{Name: KeyForceEncryption, Kind: service.Bool, Default: "false", Help: "Force Encryption: clients that do not ask for TLS are told it is required (a default install encrypts only the login)"},
	{Name: KeyDomain, Kind: service.String, Default: "WORKGROUP", Help: "workgroup, or the AD DNS domain (e.g. corp.local) named in the NTLM challenge of integrated logons", Check: service.CheckDomain},
	{Name: KeyNetBIOSDomain, Kind: service.String, Help: "NetBIOS domain name when domain is an AD domain (default: its first label, upper-case)", Check: checkNetBIOS},
	{Name: KeyNetBIOSName, Kind: service.String, Help: "NetBIOS computer name (default: the decky's hostname, upper-case, 15 characters at most)", Check: checkNetBIOS},
}

// parseVersion resolves a version key value to major, minor, build.
func parseVersion(v string) (maj, min, build int, full string, ok bool) {
	if r, found := releases[v]; found {
		v = r
	}
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return 0, 0, 0, "", false
	}
	var n [4]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 65535 || (i < 2 && x > 255) {
			return 0, 0, 0, "", false
		}
		n[i] = x
	}
	return n[0], n[1], n[2], v, true
}

func checkVersion(v string) error {
	if _, _, _, _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is neither a SQL Server release year (2012 to 2022) nor a version like 15.0.2000.5", v)
	}
	return nil
}

func checkServerName(v string) error {
	if v == "" || len(v) > 128 {
		return fmt.Errorf("%q must be 1 to 128 characters", v)
	}
	for _, c := range []byte(v) {
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
		}
	}
	return nil
}

func checkNetBIOS(v string) error {
	if err := ntlmssp.CheckNetBIOSName(v); err != nil {
		return err
	}
	return checkServerName(v)
}

// persona is what the server presents.
type persona struct {
	version    [4]byte // PRELOGIN VERSION: major, minor, build (big-endian)
	full       string
	serverName string
	force      bool
	target     ntlmssp.Target
}

func newPersona(rt *service.Runtime) persona {
	maj, min, build, full, ok := parseVersion(rt.Persona(KeyVersion))
	if !ok {
		maj, min, build, full, _ = parseVersion("2019")
	}
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	kernel := rt.Distro.Kernel
	if !strings.HasPrefix(rt.Distro.OSFamily, "windows") {
		kernel = "10.0.17763" // SQL Server on Linux answers NTLM through its Windows PAL
	}
	t := ntlmssp.Persona{Hostname: host, Domain: rt.Persona(KeyDomain), NetBIOSDomain: rt.Persona(KeyNetBIOSDomain),
		NetBIOSName: rt.Persona(KeyNetBIOSName), Kernel: kernel}.Target()
	name := rt.Persona(KeyServerName)
	if name == "" {
		name = t.NbComputer
	}
	return persona{
		version:    [4]byte{byte(maj), byte(min), byte(build >> 8), byte(build)},
		full:       full,
		serverName: name,
		force:      rt.PersonaBool(KeyForceEncryption, false),
		target:     t,
	}
}
