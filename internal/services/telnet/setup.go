// Package telnet is DECNET's telnet honeypot (23/tcp). It negotiates telnet options
// the way the persona's telnetd does (netkit telnetd on Linux, BusyBox telnetd on
// embedded devices, Cisco IOS on routers and switches), shows that system's login
// prompts and error texts, records every login attempt, and lets the persona's weak
// credentials into the emulated shell (internal/shell) or, on Cisco, a small IOS
// user-EXEC emulation. Nothing an attacker sends is ever executed.
package telnet

import (
	"fmt"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "telnet",
		Summary: "telnetd (Linux, BusyBox or Cisco IOS): logins captured, emulated shell",
		Ports:   []fleet.Port{{Number: 23, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyStyle    = "style"
	KeyUsers    = "users"
	KeyMaxTries = "max_tries"
	KeyBanner   = "banner"
)

// Styles: which telnetd the service imitates.
const (
	StyleLinux   = "linux"   // netkit telnetd + login: issue.net, "<host> login: "
	StyleBusyBox = "busybox" // BusyBox telnetd + login: "<host> login: "
	StyleCisco   = "cisco"   // Cisco IOS: "User Access Verification", "Username: "
)

// DefaultUsers are the credential pairs that log in unless the persona sets users
// (the same defaults as the ssh service, so a decky tells one story).
const DefaultUsers = "root:123456,root:password,admin:admin"

// Keys are the telnet service's persona keys.
var Keys = []service.Key{
	{Name: KeyStyle, Kind: service.String, Help: "telnetd to imitate: linux, busybox or cisco (default: from the decky's OS family: cisco → cisco, embedded → busybox, others → linux)", Check: checkStyle},
	{Name: KeyUsers, Kind: service.List, Default: DefaultUsers, Help: "user:password pairs whose login succeeds", Check: service.CheckUsers},
	{Name: KeyMaxTries, Kind: service.Int, Help: "failed logins before the connection is closed (default: 5 for linux, as login.defs LOGIN_RETRIES; 3 for busybox and cisco)", Check: service.IntRange(1, 100)},
	{Name: KeyBanner, Kind: service.String, Help: "text shown before the first login prompt (default: the distro's /etc/issue.net on linux, none on busybox; cisco always shows User Access Verification)", Check: checkBanner},
}

func checkStyle(v string) error {
	switch v {
	case "", StyleLinux, StyleBusyBox, StyleCisco:
		return nil
	}
	return fmt.Errorf("%q is not a telnet style (use linux, busybox or cisco)", v)
}

func checkBanner(v string) error {
	if len(v) > 4096 {
		return fmt.Errorf("is %d bytes long; at most 4096", len(v))
	}
	return nil
}

// styleFor picks the style for a decky: the persona's choice, else its OS family.
func styleFor(persona, osFamily string, d catalog.Distro) string {
	if persona != "" {
		return persona
	}
	fam := osFamily
	if fam == "" {
		fam = d.OSFamily
	}
	switch {
	case fam == catalog.FamilyCisco || d.OSFamily == catalog.FamilyCisco:
		return StyleCisco
	case fam == catalog.FamilyEmbedded:
		return StyleBusyBox
	}
	return StyleLinux
}
