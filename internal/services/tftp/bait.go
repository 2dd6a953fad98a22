package tftp

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"decnet/internal/service"
)

// bait renders one bait file for a decky.
type bait func(rt *service.Runtime) string

var baits = map[string]bait{
	"pxelinux.cfg/default": pxeDefault,
	"startup-config":       startupConfig,
	"network-confg":        networkConfg,
}

func baitNames() string {
	names := make([]string, 0, len(baits))
	for n := range baits {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// lanPrefix returns the decky's /24 as "a.b.c." (or a private default).
func lanPrefix(rt *service.Runtime) string {
	if a, err := netip.ParseAddr(rt.Config.IP); err == nil && a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.", b[0], b[1], b[2])
	}
	return "192.168.10."
}

func selfIP(rt *service.Runtime) string {
	if a, err := netip.ParseAddr(rt.Config.IP); err == nil && a.Is4() {
		return a.String()
	}
	return lanPrefix(rt) + "5"
}

// token derives a stable per-decky string (hashes and keys in the bait files), so
// the files do not change between restarts and differ between deckies.
func token(rt *service.Runtime, what string, n int) string {
	s := sha256.Sum256([]byte("decnet-tftp\x00" + rt.Config.Decky + "\x00" + what))
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[int(s[i%len(s)]+byte(i/len(s)))%len(alphabet)]
	}
	return string(out)
}

func pxeDefault(rt *service.Runtime) string {
	ip := selfIP(rt)
	return `DEFAULT menu.c32
PROMPT 0
TIMEOUT 300
ONTIMEOUT local
MENU TITLE PXE Boot Menu

LABEL local
  MENU LABEL Boot from local disk
  LOCALBOOT 0

LABEL ubuntu-22.04-autoinstall
  MENU LABEL Install Ubuntu 22.04 (autoinstall)
  KERNEL images/ubuntu-22.04/vmlinuz
  INITRD images/ubuntu-22.04/initrd
  APPEND ip=dhcp url=http://` + ip + `/iso/ubuntu-22.04.4-live-server-amd64.iso autoinstall ds=nocloud-net;s=http://` + ip + `/autoinstall/ cloud-config-url=/dev/null

LABEL rescue
  MENU LABEL Rescue shell (root password in preseed)
  KERNEL images/debian-12/linux
  INITRD images/debian-12/initrd.gz
  APPEND auto=true priority=critical url=http://` + ip + `/preseed/rescue.cfg
`
}

func startupConfig(rt *service.Runtime) string {
	host := rt.Config.Hostname
	if host == "" {
		host = "core-sw01"
	}
	lan := lanPrefix(rt)
	return `!
! Last configuration change at 09:14:27 UTC Mon Oct 14 2024 by netadmin
! NVRAM config last updated at 09:14:31 UTC Mon Oct 14 2024 by netadmin
!
version 15.2
no service pad
service timestamps debug datetime msec
service timestamps log datetime msec
service password-encryption
!
hostname ` + host + `
!
boot-start-marker
boot-end-marker
!
enable secret 5 $1$` + token(rt, "salt", 4) + `$` + token(rt, "enable", 22) + `
!
username netadmin privilege 15 secret 5 $1$` + token(rt, "salt2", 4) + `$` + token(rt, "netadmin", 22) + `
username backup privilege 1 password 7 0822455D0A16544541
aaa new-model
!
ip domain-name corp.local
ip ssh version 2
!
interface Vlan1
 ip address ` + selfIP(rt) + ` 255.255.255.0
 no shutdown
!
ip default-gateway ` + lan + `1
ip route 0.0.0.0 0.0.0.0 ` + lan + `1
!
snmp-server community ` + token(rt, "community", 10) + ` RW 10
snmp-server community public RO
snmp-server location Server Room
access-list 10 permit ` + lan + `0 0.0.0.255
!
tacacs-server host ` + lan + `20 key 7 02050D480809
!
line con 0
 password 7 045802150C2E
line vty 0 4
 transport input ssh telnet
 login local
line vty 5 15
 transport input ssh
!
end
`
}

func networkConfg(rt *service.Runtime) string {
	return `! Cisco AutoInstall network-wide defaults
ip host ` + rt.Config.Hostname + ` ` + selfIP(rt) + `
ip domain-name corp.local
ip name-server ` + lanPrefix(rt) + `10
!
end
`
}
