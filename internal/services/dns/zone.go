package dns

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	mdns "github.com/miekg/dns"
)

// zone is the decky's authoritative zone: records by owner name (lower-case, fully
// qualified) in a stable order.
type zone struct {
	origin string // "corp.local."
	soa    *mdns.SOA
	names  map[string][]mdns.RR
	order  []string // owner names, origin first, for AXFR
}

// zoneInput is what a zone is derived from.
type zoneInput struct {
	domain  string
	host    string     // the server's own host label (ns1, or the Windows DC's name)
	ip      netip.Addr // the decky's address
	hosts   []string
	windows bool
}

const zoneTTL = 3600

// buildZone derives a plausible zone from the persona. Addresses of the other hosts
// are stable per domain and name (a hash), inside the decky's /24, so every decky of
// a fleet tells the same story and a restart changes nothing.
func buildZone(in zoneInput) *zone {
	origin := mdns.Fqdn(strings.ToLower(in.domain))
	z := &zone{origin: origin, names: map[string][]mdns.RR{}}
	hdr := func(name string, t uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: zoneTTL}
	}
	self := strings.ToLower(in.host) + "." + origin
	serial := zoneSerial(origin)
	if in.windows {
		// Windows DNS: the DC is the primary, the responsible person hostmaster, and
		// its AD-integrated zone's timers.
		z.soa = &mdns.SOA{Hdr: hdr(origin, mdns.TypeSOA), Ns: self, Mbox: "hostmaster." + origin,
			Serial: serial % 10000, Refresh: 900, Retry: 600, Expire: 86400, Minttl: 3600}
	} else {
		z.soa = &mdns.SOA{Hdr: hdr(origin, mdns.TypeSOA), Ns: self, Mbox: "hostmaster." + origin,
			Serial: serial, Refresh: 604800, Retry: 86400, Expire: 2419200, Minttl: 604800}
	}
	z.add(z.soa)
	z.add(&mdns.NS{Hdr: hdr(origin, mdns.TypeNS), Ns: self})
	ula := ulaPrefix(origin)
	addHost := func(owner string, a netip.Addr) {
		z.add(&mdns.A{Hdr: hdr(owner, mdns.TypeA), A: a.AsSlice()})
		b := ula
		b[15] = a.As4()[3]
		z.add(&mdns.AAAA{Hdr: hdr(owner, mdns.TypeAAAA), AAAA: b[:]})
	}
	if in.windows {
		// An AD domain's apex resolves to its DCs.
		addHost(origin, in.ip)
	} else {
		z.add(&mdns.MX{Hdr: hdr(origin, mdns.TypeMX), Preference: 10, Mx: "mail." + origin})
		z.add(&mdns.TXT{Hdr: hdr(origin, mdns.TypeTXT), Txt: []string{"v=spf1 mx -all"}})
	}
	addHost(self, in.ip)
	used := map[byte]bool{in.ip.As4()[3]: true}
	for _, h := range in.hosts {
		h = strings.ToLower(h)
		owner := h + "." + origin
		if owner == self {
			continue
		}
		addHost(owner, hostAddr(in.ip, origin, h, used))
	}
	if in.windows {
		dc := func(name string, port uint16) {
			z.add(&mdns.SRV{Hdr: hdr(name+"."+origin, mdns.TypeSRV), Priority: 0, Weight: 100, Port: port, Target: self})
		}
		dc("_ldap._tcp", 389)
		dc("_kerberos._tcp", 88)
		dc("_kerberos._udp", 88)
		dc("_kpasswd._tcp", 464)
		dc("_kpasswd._udp", 464)
		dc("_gc._tcp", 3268)
		dc("_ldap._tcp.dc._msdcs", 389)
		dc("_kerberos._tcp.dc._msdcs", 88)
		dc("_ldap._tcp.gc._msdcs", 3268)
		dc("_ldap._tcp.pdc._msdcs", 389)
	} else {
		// The MX must resolve even when the persona's host list leaves mail out.
		if _, ok := z.names["mail."+origin]; !ok {
			addHost("mail."+origin, hostAddr(in.ip, origin, "mail", used))
		}
	}
	z.order = make([]string, 0, len(z.names))
	for n := range z.names {
		if n != origin {
			z.order = append(z.order, n)
		}
	}
	sort.Strings(z.order)
	z.order = append([]string{origin}, z.order...)
	return z
}

func (z *zone) add(rr mdns.RR) {
	n := rr.Header().Name
	z.names[n] = append(z.names[n], rr)
}

// contains says whether name is the zone's origin or below it.
func (z *zone) contains(name string) bool {
	return mdns.IsSubDomain(z.origin, name)
}

// exists says whether name owns records or is an empty non-terminal above some.
func (z *zone) exists(name string) bool {
	if _, ok := z.names[name]; ok {
		return true
	}
	for n := range z.names {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// lookup returns name's records of type t (every record for ANY).
func (z *zone) lookup(name string, t uint16) []mdns.RR {
	var out []mdns.RR
	for _, rr := range z.names[name] {
		if t == mdns.TypeANY || rr.Header().Rrtype == t {
			out = append(out, mdns.Copy(rr))
		}
	}
	return out
}

// transfer returns the zone as an AXFR sends it: SOA, every other record, SOA.
func (z *zone) transfer() []mdns.RR {
	out := []mdns.RR{mdns.Copy(z.soa)}
	for _, n := range z.order {
		for _, rr := range z.names[n] {
			if rr.Header().Rrtype != mdns.TypeSOA {
				out = append(out, mdns.Copy(rr))
			}
		}
	}
	return append(out, mdns.Copy(z.soa))
}

// zoneSerial is a YYYYMMDDnn serial stable per zone, in 2024–2025.
func zoneSerial(origin string) uint32 {
	h := sha256.Sum256([]byte("serial/" + origin))
	n := binary.BigEndian.Uint32(h[:4])
	year := 2024 + n%2
	month := 1 + (n>>1)%12
	day := 1 + (n>>5)%28
	seq := 1 + (n>>10)%4
	return year*1000000 + month*10000 + day*100 + seq
}

// ulaPrefix is a stable fdXX:XXXX:XXXX::/48 unique local prefix for the zone.
func ulaPrefix(origin string) [16]byte {
	h := sha256.Sum256([]byte("ula/" + origin))
	var b [16]byte
	b[0] = 0xfd
	copy(b[1:6], h[:5])
	return b
}

// hostAddr picks a stable address for host in ip's /24 that no other host uses.
func hostAddr(ip netip.Addr, origin, host string, used map[byte]bool) netip.Addr {
	h := sha256.Sum256([]byte("host/" + origin + "/" + host))
	o := 10 + int(h[0])%240
	for used[byte(o)] {
		o = 10 + (o-10+1)%240
	}
	used[byte(o)] = true
	a := ip.As4()
	a[3] = byte(o)
	return netip.AddrFrom4(a)
}

// defaultHosts are the names a zone has besides the server.
func defaultHosts(windows bool) []string {
	if windows {
		return []string{"exchange", "sql01", "files", "vpn", "wsus"}
	}
	return []string{"mail", "www", "vpn", "intranet", "files", "backup", "git"}
}

// String renders the zone in master-file form (docs and tests).
func (z *zone) String() string {
	var b strings.Builder
	for _, rr := range z.transfer()[1:] {
		fmt.Fprintln(&b, rr.String())
	}
	return b.String()
}
