package snmp

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"decnet/internal/catalog"
	"decnet/internal/service"
	"decnet/internal/shell"
)

// persona is what the agent tells about its machine.
type persona struct {
	family    string // linux, windows, cisco, bsd
	descr     string
	objectID  string
	contact   string
	location  string
	name      string
	v3        bool
	engineID  []byte
	boots     uint32
	boot      time.Time // sysUpTime counts from here
	ifaces    []iface
	ip        netip.Addr
	processes uint32
	cmdline   string // hrSystemInitialLoadParameters (Linux)
}

// iface is one row of ifTable.
type iface struct {
	descr  string
	typ    int // IANAifType
	mtu    int
	speed  uint32
	mac    []byte
	inRate uint32 // bytes per second of uptime, for plausible counters
}

// family reduces the decky's OS family to the agent implementations we imitate.
func family(osFamily string, d catalog.Distro) string {
	if osFamily == "" {
		osFamily = d.OSFamily
	}
	switch osFamily {
	case catalog.FamilyWindows, catalog.FamilyWindowsServer:
		return "windows"
	case catalog.FamilyCisco:
		return "cisco"
	case catalog.FamilyBSD:
		return "bsd"
	}
	return "linux"
}

// seed derives stable per-decky numbers from the decky's identity, so uptime, engine
// ID and counters do not change between restarts of the service.
func seed(cfg service.Config) []byte {
	s := sha256.Sum256([]byte("decnet-snmp\x00" + cfg.Decky + "\x00" + cfg.Hostname))
	return s[:]
}

// newPersona builds the persona of rt's decky; start is the process start time.
func newPersona(rt *service.Runtime, start time.Time) *persona {
	cfg := rt.Config
	d := rt.Distro
	s := seed(cfg)
	host := cfg.Hostname
	if host == "" {
		host = cfg.Decky
	}
	p := &persona{family: family(cfg.OSFamily, d), name: host}
	p.ip, _ = netip.ParseAddr(cfg.IP)
	mac, err := net.ParseMAC(cfg.MAC)
	if err != nil || len(mac) != 6 {
		// No MAC in the config (a hand-run service): a stable locally administered one.
		mac = net.HardwareAddr{0x02, s[20], s[21], s[22], s[23], s[24]}
	}
	// Up for 3 to 60 days before the service started, the same span on every start.
	up := 3*24*time.Hour + time.Duration(binary.BigEndian.Uint32(s[0:4])%(57*24*3600))*time.Second
	p.boot = start.Add(-up)
	p.boots = 1 + uint32(s[4]%23)
	p.processes = 90 + uint32(s[5]%140)
	arch := d.Arch
	switch p.family {
	case "windows":
		build := strings.TrimPrefix(d.Kernel, "10.0.")
		if build == d.Kernel || build == "" {
			build = "17763"
		}
		p.descr = "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build " + build + " Multiprocessor Free)"
		p.objectID = "1.3.6.1.4.1.311.1.1.3.1.1" // windowsNT workstation
		if cfg.OSFamily == catalog.FamilyWindowsServer || d.OSFamily == catalog.FamilyWindowsServer {
			p.objectID = "1.3.6.1.4.1.311.1.1.3.1.2" // windowsNT server
		}
		p.location = ""
		p.ifaces = []iface{
			{descr: "Software Loopback Interface 1", typ: 24, mtu: 1500, speed: 1073741824},
			{descr: "Intel(R) 82574L Gigabit Network Connection", typ: 6, mtu: 1500, speed: 1000000000, mac: mac, inRate: 900 + uint32(s[6])*4},
		}
	case "cisco":
		p.descr = d.KernelBuild + "\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2024 by Cisco Systems, Inc.\r\nCompiled Thu 04-Apr-24 05:16 by mcpre"
		p.objectID = "1.3.6.1.4.1.9.1.1208" // a Catalyst 2960-X
		p.location = ""
		p.engineID = append([]byte{0x80, 0x00, 0x00, 0x09, 0x03, 0x00}, mac...)
		p.ifaces = []iface{
			{descr: "Vlan1", typ: 53, mtu: 1500, speed: 1000000000, mac: mac, inRate: 300 + uint32(s[6])},
			{descr: "GigabitEthernet1/0/1", typ: 6, mtu: 1500, speed: 1000000000, mac: mac, inRate: 1200 + uint32(s[6])*8},
			{descr: "Null0", typ: 1, mtu: 1500, speed: 4294967295},
		}
	case "bsd":
		if arch == "" {
			arch = "amd64"
		}
		p.descr = "FreeBSD " + host + " " + d.Kernel + " " + d.KernelBuild + " " + arch
		p.objectID = "1.3.6.1.4.1.8072.3.2.8" // net-snmp on FreeBSD
		p.contact, p.location = "root@"+host, "Server Room"
	default:
		if arch == "" {
			arch = "x86_64"
		}
		p.descr = "Linux " + host + " " + d.Kernel + " " + d.KernelBuild + " " + arch
		p.objectID = "1.3.6.1.4.1.8072.3.2.10" // net-snmp on Linux
		u := s[24:32]
		p.cmdline = fmt.Sprintf("BOOT_IMAGE=/boot/vmlinuz-%s root=UUID=%x-%x-%x-%x-%x ro quiet\n", d.Kernel, u[0:4], u[4:6], u[6:8], s[16:18], s[18:24])
		p.contact, p.location = "Me <me@example.org>", "Sitting on the Dock of the Bay"
	}
	if p.ifaces == nil { // net-snmp on Linux and BSD
		eth := shell.NICName(d) // what ip link says in the decky's ssh/telnet shell
		if p.family == "bsd" {
			eth = "em0"
		}
		p.ifaces = []iface{
			{descr: "lo", typ: 24, mtu: 65536, speed: 10000000, inRate: 40 + uint32(s[7])},
			{descr: eth, typ: 6, mtu: 1500, speed: 1000000000, mac: mac, inRate: 900 + uint32(s[6])*4},
		}
		if p.family == "bsd" {
			p.ifaces[0].descr, p.ifaces[0].mtu = "lo0", 16384
		}
	}
	if p.engineID == nil {
		// net-snmp's default engine ID: enterprise 8072, format 128 (random), 4
		// random bytes and the time of its first start.
		p.engineID = append([]byte{0x80, 0x00, 0x1f, 0x88, 0x80}, s[8:16]...)
		p.engineID = binary.BigEndian.AppendUint32(p.engineID, uint32(p.boot.Unix()))
	}
	p.v3 = p.family != "windows"
	if v, ok := cfg.Persona[KeyV3]; ok && v != "" {
		p.v3 = rt.PersonaBool(KeyV3, p.v3)
	}
	if v := rt.Persona(KeySysDescr); v != "" {
		p.descr = v
	}
	if v := rt.Persona(KeySysObjectID); v != "" {
		p.objectID = strings.TrimPrefix(v, ".")
	}
	if v, ok := cfg.Persona[KeySysContact]; ok && v != "" {
		p.contact = v
	}
	if v, ok := cfg.Persona[KeySysLocation]; ok && v != "" {
		p.location = v
	}
	return p
}

// uptime is sysUpTime in hundredths of a second (wrapping as TimeTicks do).
func (p *persona) uptime(now time.Time) uint32 {
	return uint32(now.Sub(p.boot) / (10 * time.Millisecond))
}

// engineTime is snmpEngineTime: seconds since the engine's last boot.
func (p *persona) engineTime(now time.Time) uint32 {
	return uint32(now.Sub(p.boot) / time.Second)
}
