package llmnr

import (
	"net/netip"
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzAnswer decodes arbitrary datagrams as the handler does and answers them in
// every mode: no panic, and every answer packs and stays within one datagram.
func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{{"desktop-7k2qj9a.", mdns.TypeA}, {"nas01.local.", mdns.TypeANY}, {"_services._dns-sd._udp.local.", mdns.TypePTR}, {"_smb._tcp.local.", mdns.TypePTR}, {"wpad.", mdns.TypeAAAA}} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.t)
		b, _ := m.Pack()
		f.Add(b, uint16(5353))
	}
	f.Add([]byte("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01"), uint16(40000))
	rs := []*responder{
		{name: "DESKTOP-7K2QJ9A", ip: netip.MustParseAddr("10.0.0.5"), respond: RespondSelf},
		{name: "nas01", ip: netip.MustParseAddr("fd00::5"), respond: RespondAll, dnssd: dnssdRecords("nas01", []string{"ssh", "smb", "http", "https", "ftp", "mqtt"})},
		{name: "x", respond: RespondSilent},
	}
	f.Fuzz(func(t *testing.T, data []byte, port uint16) {
		q := new(mdns.Msg)
		if q.Unpack(data) != nil || q.Response {
			return
		}
		for _, r := range rs {
			for _, proto := range []string{"llmnr", "mdns"} {
				m := r.answer(q, proto, port)
				if m == nil {
					continue
				}
				if r.respond == RespondSilent {
					t.Fatal("a silent responder answered")
				}
				b, err := m.Pack()
				if err != nil {
					t.Fatalf("answer does not pack: %v", err)
				}
				if len(b) > maxReply {
					t.Fatalf("answer of %d bytes", len(b))
				}
			}
		}
	})
}
