package ntlmssp

import (
	"fmt"
	"strings"
)

// Persona checks for the machine identity every Windows-facing service presents in
// its NTLM CHALLENGE (smb, rdp, ldap, mssql share the keys domain, netbios_domain
// and netbios_name, so one INI subsection describes the machine the same way).

// CheckPrintableASCII refuses a value with a byte outside printable ASCII.
func CheckPrintableASCII(v string) error {
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
		}
	}
	return nil
}

// CheckDomainName validates a workgroup or DNS domain name: 1 to 255 printable
// ASCII characters.
func CheckDomainName(v string) error {
	if v == "" || len(v) > 255 {
		return fmt.Errorf("%q must be 1 to 255 characters", v)
	}
	return CheckPrintableASCII(v)
}

// CheckNetBIOSName validates a NetBIOS computer or domain name: 1 to 15 printable
// ASCII characters, none of those Windows forbids (\ / : * ? " < > | space period)
// nor those that would need escaping in an LDAP DN (, = + ; #).
func CheckNetBIOSName(v string) error {
	if v == "" || len(v) > 15 {
		return fmt.Errorf("%q must be 1 to 15 characters", v)
	}
	if strings.ContainsAny(v, `\/:*?"<>| .,=+;#`) {
		return fmt.Errorf("%q holds a character NetBIOS names cannot have", v)
	}
	return CheckPrintableASCII(v)
}
