// Package snmp is an SNMP agent honeypot on 161/udp. It answers SNMPv1 and SNMPv2c
// GetRequest, GetNextRequest and GetBulkRequest over a persona MIB (the system group
// with a sysDescr that follows the decky's OS, the interfaces table with the decky's
// MAC, the IP address table and hrSystem), records every community string as a
// credential (a wrong one gets no answer, as from a real agent), and answers SNMPv3
// engine discovery with a per-decky engine ID, logging the user name and capturing an
// authenticated request's HMAC in hashcat's SNMPv3 format (mode 25000).
//
// SNMPv1/v2c messages are decoded and encoded with github.com/gosnmp/gosnmp. SNMPv3
// is parsed by hand (v3.go): gosnmp's decoder refuses an authenticated message unless
// it already holds the user's keys (and rewrites the packet while trying), and its
// encoder writes msgID as a fixed four-byte integer where net-snmp (and nmap's match
// for it) use the shortest form.
package snmp

import (
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "snmp",
		Summary: "SNMP agent (v1/v2c persona MIB, community capture, v3 discovery and HMAC capture)",
		Ports:   []fleet.Port{{Number: Port, Proto: "udp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is SNMP's agent port.
const Port = 161

// Persona keys.
const (
	KeyCommunities   = "communities"
	KeyRWCommunities = "rw_communities"
	KeySysDescr      = "sys_descr"
	KeySysObjectID   = "sys_object_id"
	KeySysContact    = "sys_contact"
	KeySysLocation   = "sys_location"
	KeyV3            = "v3"
)

// Keys are the snmp service's persona keys.
var Keys = []service.Key{
	{Name: KeyCommunities, Kind: service.List, Default: "public", Check: checkCommunities,
		Help: "read-only community strings the agent answers (others get no answer)"},
	{Name: KeyRWCommunities, Kind: service.List, Check: checkCommunities,
		Help: "read-write community strings (answered like read-only ones; SETs get notWritable)"},
	{Name: KeySysDescr, Kind: service.String, Check: checkText,
		Help: "sysDescr.0 (default: follows the distro, e.g. `Linux <host> <kernel> <build> x86_64`, Cisco IOS text, Windows' Hardware/Software line)"},
	{Name: KeySysObjectID, Kind: service.String, Check: checkOID,
		Help: "sysObjectID.0 (default: net-snmp's for Linux/BSD, Microsoft's for Windows, a Catalyst's for IOS)"},
	{Name: KeySysContact, Kind: service.String, Check: checkText,
		Help: "sysContact.0 (default: Debian's snmpd.conf `Me <me@example.org>` on Linux, empty elsewhere)"},
	{Name: KeySysLocation, Kind: service.String, Check: checkText,
		Help: "sysLocation.0 (default: Debian's snmpd.conf `Sitting on the Dock of the Bay` on Linux, else `Server Room`)"},
	{Name: KeyV3, Kind: service.Bool,
		Help: "answer SNMPv3 (default: yes, except Windows, whose SNMP service has no v3)"},
}

func checkCommunities(v string) error {
	for _, c := range service.SplitList(v) {
		if len(c) > 64 {
			return fmt.Errorf("community %q is longer than 64 bytes", c)
		}
		for _, b := range []byte(c) {
			if b < 0x21 || b > 0x7e {
				return fmt.Errorf("community %q holds a byte that is not printable ASCII", c)
			}
		}
	}
	return nil
}

func checkText(v string) error {
	if len(v) > 255 {
		return fmt.Errorf("is %d bytes long; SNMP DisplayStrings hold at most 255", len(v))
	}
	return nil
}

func checkOID(v string) error {
	if _, err := parseOID(v); err != nil {
		return err
	}
	return nil
}

// parseOID parses a dotted OID (a leading dot is allowed) of at least two arcs.
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 128 {
		return nil, fmt.Errorf("%q is not an OID like 1.3.6.1.4.1.8072.3.2.10", s)
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not an OID like 1.3.6.1.4.1.8072.3.2.10", s)
		}
		out[i] = uint32(n)
	}
	if out[0] > 2 || (out[0] < 2 && out[1] > 39) {
		return nil, fmt.Errorf("%q is not a valid OID (first arcs out of range)", s)
	}
	return out, nil
}
