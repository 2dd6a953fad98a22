package sniffer

import (
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
)

// FuzzPacket feeds arbitrary frames to the decoder and the sniffer: nothing may
// panic, every event must format, and the byte budget must come back in full.
func FuzzPacket(f *testing.F) {
	f.Add(seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 1, dport: 443, seq: 1, ackf: true, payload: []byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0}}.frame(f), uint8(1))
	f.Add(seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 1, dport: 22, seq: 1, syn: true, vlan: true}.frame(f), uint8(1))
	f.Add([]byte{0, 0, 0, 2, 0x45, 0, 0, 40}, uint8(0))
	f.Fuzz(func(t *testing.T, frame []byte, link uint8) {
		s, _ := New(Config{Sink: func(e event.Event) error {
			if _, err := event.Format(e); err != nil {
				t.Fatalf("event does not format: %v", err)
			}
			return nil
		}})
		now := time.Unix(1700000000, 0)
		for i := 0; i < 3; i++ { // the same frame thrice: retransmissions
			s.Packet(layers.LinkType(link), frame, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(frame), Length: len(frame)})
		}
		s.Flush()
		if s.budget != s.lim.BufferedBytes {
			t.Fatalf("budget %d after flush, want %d", s.budget, s.lim.BufferedBytes)
		}
	})
}

// FuzzStream splits arbitrary client and server bytes into segments (sizes and
// order from the input) and runs them through reassembly and the protocol
// parsers.
func FuzzStream(f *testing.F) {
	k := fingerprint.KexInit{KexAlgos: "curve25519-sha256", CiphersC2S: "aes128-ctr", MACsC2S: "hmac-sha2-256", CompressionC2S: "none"}
	f.Add(append([]byte("SSH-2.0-x\r\n"), fingerprint.SSHPacket(k.Marshal())...), []byte("SSH-2.0-y\r\n"), []byte{7, 3, 200, 1})
	f.Add([]byte{0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0}, []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}, []byte{1, 2, 3})
	f.Add([]byte("CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x01\x01"), []byte("HTTP/1.1 200 OK\r\n\r\n"), []byte{5})
	f.Add([]byte{5, 1, 0, 0x16, 3, 1, 0, 2, 1, 0}, []byte{5, 0}, []byte{2, 1})
	f.Fuzz(func(t *testing.T, client, server, cuts []byte) {
		var evs int
		s, _ := New(Config{Limits: Limits{StreamBytes: 4096}, Sink: func(e event.Event) error {
			if _, err := event.Format(e); err != nil {
				t.Fatalf("event does not format: %v", err)
			}
			evs++
			return nil
		}})
		now := time.Unix(1700000000, 0)
		var segs []seg
		segs = append(segs, seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 99, syn: true})
		split := func(b []byte, from seg, isn uint32) {
			off, c := 0, 0
			for off < len(b) {
				n := 1 + int(cuts[c%len(cuts)])%64
				c++
				p := from
				p.seq, p.ackf, p.payload = isn+uint32(off), true, b[off:min(off+n, len(b))]
				segs = append(segs, p)
				off += n
			}
		}
		if len(cuts) > 0 {
			split(client, seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40000, dport: 443}, 100)
			split(server, seg{src: "10.0.0.2", dst: "10.0.0.9", sport: 443, dport: 40000}, 500)
		}
		// Reorder by the cut bytes: swap neighbours where a cut byte is odd.
		for i := 1; i+1 < len(segs) && i-1 < len(cuts); i++ {
			if cuts[i-1]&1 == 1 {
				segs[i], segs[i+1] = segs[i+1], segs[i]
			}
		}
		for _, sg := range segs {
			d := sg.frame(t)
			s.Packet(layers.LinkTypeEthernet, d, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(d), Length: len(d)})
		}
		s.Flush()
		if s.budget != s.lim.BufferedBytes {
			t.Fatalf("budget %d after flush, want %d", s.budget, s.lim.BufferedBytes)
		}
	})
}
