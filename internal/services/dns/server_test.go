package dns

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"decnet/internal/event"
	"decnet/internal/service"
)

// testServer builds a server and a runtime that collects events.
func testServer(t testing.TB, distro string, persona map[string]string) (*server, *service.Runtime, *[]event.Event) {
	t.Helper()
	spec, _ := service.Lookup("dns")
	p, err := spec.Resolve(persona)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := service.NewRuntime(service.Config{Decky: "d", Hostname: "DC01", IP: "10.1.2.3", Distro: distro, Service: "dns", Persona: p,
		Secrets: map[string]string{SecretCookie: "00112233445566778899aabbccddeeff"}})
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	rt.Sink = func(e event.Event) { evs = append(evs, e) }
	s, err := newServer(rt)
	if err != nil {
		t.Fatal(err)
	}
	return s, rt, &evs
}

var peer = netip.MustParseAddrPort("192.0.2.7:5300")

func query(name string, t uint16, edit func(*mdns.Msg)) []byte {
	m := new(mdns.Msg)
	m.SetQuestion(name, t)
	if edit != nil {
		edit(m)
	}
	b, _ := m.Pack()
	return b
}

func TestHandleCases(t *testing.T) {
	s, rt, evs := testServer(t, "debian", nil)
	tests := []struct {
		name  string
		in    []byte
		rcode int // -1: no reply
		check func(*mdns.Msg) string
	}{
		{"garbage header query", []byte("\x12\x34\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00\xff"), mdns.RcodeFormatError, nil},
		{"short garbage", []byte("\x01\x02"), -1, nil},
		{"a response", func() []byte {
			m := new(mdns.Msg)
			m.SetQuestion("x.", 1)
			m.Response = true
			b, _ := m.Pack()
			return b
		}(), -1, nil},
		{"nmap status request", []byte("\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"), mdns.RcodeNotImplemented, func(m *mdns.Msg) string {
			if m.Opcode != mdns.OpcodeStatus {
				return "opcode not echoed"
			}
			return ""
		}},
		{"update refused", query("corp.local.", mdns.TypeSOA, func(m *mdns.Msg) { m.Opcode = mdns.OpcodeUpdate }), mdns.RcodeRefused, nil},
		{"edns version 1", query("corp.local.", mdns.TypeSOA, func(m *mdns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), mdns.RcodeBadVers, nil},
		{"axfr over udp", query("corp.local.", mdns.TypeAXFR, nil), mdns.RcodeFormatError, nil},
		{"other class", query("corp.local.", mdns.TypeA, func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassHESIOD }), mdns.RcodeRefused, nil},
		{"ANY at apex", query("corp.local.", mdns.TypeANY, nil), mdns.RcodeSuccess, func(m *mdns.Msg) string {
			if len(m.Answer) < 4 {
				return "ANY answered with too few records"
			}
			return ""
		}},
		{"case-insensitive", query("WWW.Corp.Local.", mdns.TypeA, nil), mdns.RcodeSuccess, func(m *mdns.Msg) string {
			if len(m.Answer) != 1 || m.Question[0].Name != "WWW.Corp.Local." {
				return "case not handled or question not echoed"
			}
			return ""
		}},
		{"no RD: authority NS", query("www.corp.local.", mdns.TypeA, func(m *mdns.Msg) { m.RecursionDesired = false }), mdns.RcodeSuccess, func(m *mdns.Msg) string {
			if len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != mdns.TypeNS {
				return "no NS in authority"
			}
			return ""
		}},
		{"nsid not configured", query("corp.local.", mdns.TypeSOA, func(m *mdns.Msg) {
			m.SetEdns0(4096, true)
			o := m.IsEdns0()
			o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID})
		}), mdns.RcodeSuccess, func(m *mdns.Msg) string {
			o := m.IsEdns0()
			if o == nil || len(o.Option) != 0 || o.UDPSize() != 1232 || !o.Do() {
				return "bad OPT " + o.String()
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.handle(tt.in, peer, "udp", rt)
			if tt.rcode < 0 {
				if out != nil {
					t.Fatalf("answered %x", out)
				}
				return
			}
			if len(out) != 1 {
				t.Fatalf("%d replies", len(out))
			}
			m := new(mdns.Msg)
			if err := m.Unpack(out[0]); err != nil {
				t.Fatalf("reply does not unpack: %v", err)
			}
			if m.Rcode != tt.rcode || !m.Response {
				t.Errorf("rcode %s, want %s", mdns.RcodeToString[m.Rcode], mdns.RcodeToString[tt.rcode])
			}
			if tt.check != nil {
				if msg := tt.check(m); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	if len(*evs) != len(tests) {
		t.Errorf("%d events for %d messages", len(*evs), len(tests))
	}
}

func TestUDPTruncation(t *testing.T) {
	s, rt, _ := testServer(t, "debian", nil)
	// A 500-byte TXT makes ANY at the apex larger than a plain (no EDNS) UDP reply.
	s.zone.add(&mdns.TXT{Hdr: mdns.RR_Header{Name: "corp.local.", Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 1}, Txt: []string{strings.Repeat("x", 250), strings.Repeat("y", 250)}})
	out := s.handle(query("corp.local.", mdns.TypeANY, nil), peer, "udp", rt)
	m := new(mdns.Msg)
	if err := m.Unpack(out[0]); err != nil {
		t.Fatal(err)
	}
	if len(out[0]) > 512 || !m.Truncated {
		t.Errorf("reply of %d bytes, TC=%v", len(out[0]), m.Truncated)
	}
}

func TestCookie(t *testing.T) {
	s, rt, _ := testServer(t, "debian", nil)
	out := s.handle(query("corp.local.", mdns.TypeSOA, func(m *mdns.Msg) {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}), peer, "udp", rt)
	m := new(mdns.Msg)
	m.Unpack(out[0])
	c := m.IsEdns0().Option[0].(*mdns.EDNS0_COOKIE)
	b, _ := hex.DecodeString(c.Cookie)
	if len(b) != 24 || hex.EncodeToString(b[:8]) != "0102030405060708" || b[8] != 1 {
		t.Errorf("cookie %s", c.Cookie)
	}
	// Windows DNS does no cookies.
	s, rt, _ = testServer(t, "windows2019", nil)
	out = s.handle(query("corp.local.", mdns.TypeSOA, func(m *mdns.Msg) {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}), peer, "udp", rt)
	m.Unpack(out[0])
	if len(m.IsEdns0().Option) != 0 || m.IsEdns0().UDPSize() != 4000 {
		t.Errorf("windows OPT %s", m.IsEdns0())
	}
}

func TestZoneStable(t *testing.T) {
	in := zoneInput{domain: "Corp.Local", host: "ns1", ip: netip.MustParseAddr("10.0.5.20"), hosts: defaultHosts(false)}
	a, b := buildZone(in).String(), buildZone(in).String()
	if a != b {
		t.Error("zone differs between builds")
	}
	z := buildZone(in)
	seen := map[string]bool{}
	for _, rr := range z.transfer() {
		if x, ok := rr.(*mdns.A); ok {
			ip := x.A.String()
			if seen[ip] || !strings.HasPrefix(ip, "10.0.5.") {
				t.Errorf("address %s reused or outside the /24", ip)
			}
			seen[ip] = true
		}
	}
	if z.soa.Serial < 2024010101 || z.soa.Serial > 2025123199 {
		t.Errorf("serial %d", z.soa.Serial)
	}
	if !z.exists("corp.local.") || z.exists("nope.corp.local.") || !z.contains("x.y.corp.local.") || z.contains("corp.localx.") {
		t.Error("zone membership wrong")
	}
	w := buildZone(zoneInput{domain: "corp.local", host: "dc01", ip: netip.MustParseAddr("10.0.5.20"), hosts: defaultHosts(true), windows: true})
	if !w.exists("_msdcs.corp.local.") || len(w.lookup("_ldap._tcp.corp.local.", mdns.TypeSRV)) != 1 {
		t.Error("windows zone lacks AD records")
	}
}

func TestWindowsVersionQuery(t *testing.T) {
	s, rt, _ := testServer(t, "windows2019", map[string]string{"version": "Microsoft DNS 10.0.17763 (4563...)"})
	out := s.handle([]byte("\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"), peer, "udp", rt)
	// nmap: \x07version\x04bind\0\0\x10\0\x03\xc0\x0c\0\x10\0\x01.{7}Microsoft DNS (10\.0\..+)
	if !strings.Contains(string(out[0]), "\x07version\x04bind\x00\x00\x10\x00\x03\xc0\x0c\x00\x10\x00\x01") || !strings.HasSuffix(string(out[0]), "Microsoft DNS 10.0.17763 (4563...)") {
		t.Errorf("reply %q", out[0])
	}
}
