package dns

import (
	"testing"

	mdns "github.com/miekg/dns"

	"decnet/internal/event"
)

// FuzzHandle sends arbitrary bytes to the server as a UDP and a TCP query: no panic,
// every reply unpacks, and a UDP reply fits the client's limit.
func FuzzHandle(f *testing.F) {
	f.Add(query("www.corp.local.", mdns.TypeA, nil))
	f.Add(query("corp.local.", mdns.TypeAXFR, nil))
	f.Add(query("version.bind.", mdns.TypeTXT, func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS }))
	f.Add(query("corp.local.", mdns.TypeANY, func(m *mdns.Msg) {
		m.SetEdns0(4096, true)
		o := m.IsEdns0()
		o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID}, &mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}))
	f.Add([]byte("\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"))
	s, rt, _ := testServer(f, "debian", map[string]string{"allow_axfr": "true", "nsid": "ns1"})
	rt.Sink = func(event.Event) {} // keep nothing across millions of inputs
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tr := range []string{"udp", "tcp"} {
			for _, out := range s.handle(data, peer, tr, rt) {
				m := new(mdns.Msg)
				if err := m.Unpack(out); err != nil && len(out) > 12 {
					t.Fatalf("%s reply does not unpack: %v", tr, err)
				}
				if tr == "udp" && len(out) > 4096 {
					t.Fatalf("udp reply of %d bytes", len(out))
				}
			}
		}
	})
}
