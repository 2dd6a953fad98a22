package llmnr

import (
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// advertised maps a decky service to the DNS-SD types a Linux host running it
// announces through avahi (Samba registers _smb._tcp and _device-info._tcp itself).
var advertised = map[string][]struct {
	typ  string
	port uint16
}{
	"ssh":   {{"_ssh._tcp", 22}, {"_sftp-ssh._tcp", 22}},
	"smb":   {{"_smb._tcp", 445}, {"_device-info._tcp", 0}},
	"http":  {{"_http._tcp", 80}},
	"https": {{"_https._tcp", 443}},
	"ftp":   {{"_ftp._tcp", 21}},
	"mqtt":  {{"_mqtt._tcp", 1883}},
}

const servicesName = "_services._dns-sd._udp.local."

// dnssdRecords builds the DNS-SD records of a Linux decky (RFC 6763): the service
// type enumeration, one instance per type named after the host, its SRV and TXT.
// The host's own A/AAAA answers come from the responder. Nil when nothing is
// advertised.
func dnssdRecords(host string, services []string) map[string][]mdns.RR {
	target := strings.ToLower(host) + ".local."
	recs := map[string][]mdns.RR{}
	add := func(rr mdns.RR) {
		n := strings.ToLower(rr.Header().Name)
		recs[n] = append(recs[n], rr)
	}
	hdr := func(name string, t uint16, ttl uint32) mdns.RR_Header {
		return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
	}
	for _, svc := range services {
		for _, a := range advertised[svc] {
			typ := a.typ + ".local."
			inst := escapeInstance(host) + "." + typ
			add(&mdns.PTR{Hdr: hdr(servicesName, mdns.TypePTR, 4500), Ptr: typ})
			add(&mdns.PTR{Hdr: hdr(typ, mdns.TypePTR, 4500), Ptr: inst})
			add(&mdns.SRV{Hdr: hdr(inst, mdns.TypeSRV, mdnsTTL), Port: a.port, Target: target})
			txt := []string{""}
			if a.typ == "_device-info._tcp" {
				txt = []string{"model=MacSamba"} // Samba's default fruit:model
			}
			add(&mdns.TXT{Hdr: hdr(inst, mdns.TypeTXT, 4500), Txt: txt})
		}
	}
	if len(recs) == 0 {
		return nil
	}
	return recs
}

// escapeInstance escapes a host label for use as an instance name label.
func escapeInstance(s string) string {
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(s)
}

// mdnsRR copies rr for an answer to a question asked as name (the querier's case),
// with legacy-unicast TTLs when the query did not come from port 5353.
func (r *responder) mdnsRR(rr mdns.RR, name string, srcPort uint16) mdns.RR {
	c := mdns.Copy(rr)
	if strings.EqualFold(c.Header().Name, name) {
		c.Header().Name = name
	}
	if srcPort != PortMDNS && c.Header().Ttl > mdnsLegacyTTL {
		c.Header().Ttl = mdnsLegacyTTL
	}
	return c
}

// additional returns what RFC 6763 section 12 puts beside an answer: for a PTR to an
// instance its SRV and TXT, and for an SRV the host's address.
func (r *responder) additional(rr mdns.RR, srcPort uint16) []mdns.RR {
	var out []mdns.RR
	switch x := rr.(type) {
	case *mdns.PTR:
		for _, e := range r.dnssd[strings.ToLower(x.Ptr)] {
			if t := e.Header().Rrtype; t == mdns.TypeSRV || t == mdns.TypeTXT {
				out = append(out, r.mdnsRR(e, e.Header().Name, srcPort))
				if t == mdns.TypeSRV {
					out = append(out, r.hostAddr(srcPort)...)
				}
			}
		}
	case *mdns.SRV:
		out = append(out, r.hostAddr(srcPort)...)
	}
	return out
}

// hostAddr is the host's own address record as mDNS announces it.
func (r *responder) hostAddr(srcPort uint16) []mdns.RR {
	if !r.ip.IsValid() {
		return nil
	}
	ttl := uint32(mdnsTTL)
	if srcPort != PortMDNS {
		ttl = mdnsLegacyTTL
	}
	h := mdns.RR_Header{Name: strings.ToLower(r.name) + ".local.", Class: mdns.ClassINET, Ttl: ttl}
	if r.ip.Is4() {
		h.Rrtype = mdns.TypeA
		return []mdns.RR{&mdns.A{Hdr: h, A: r.ip.AsSlice()}}
	}
	h.Rrtype = mdns.TypeAAAA
	return []mdns.RR{&mdns.AAAA{Hdr: h, AAAA: netip.Addr(r.ip).AsSlice()}}
}
