package sniffer

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"decnet/internal/event"
)

// BenchmarkReadCapture measures the offline path (pcap reader, decoder,
// reassembly, ClientHello parsing, JA3/JA4) on 1000 synthetic TLS connections of
// four packets each (SYN, SYN-ACK, the ClientHello in two segments).
func BenchmarkReadCapture(b *testing.B) {
	hello := clientHello(b)
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65536, layers.LinkTypeEthernet)
	at := time.Unix(1700000000, 0)
	const conns = 1000
	for i := 0; i < conns; i++ {
		port := uint16(10000 + i)
		c := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: port, dport: 443}
		sv := seg{src: "10.0.0.2", dst: "10.0.0.9", sport: 443, dport: port}
		syn, sa, p1, p2 := c, sv, c, c
		syn.seq, syn.syn = 99, true
		sa.seq, sa.syn, sa.ackf = 499, true, true
		p1.seq, p1.ackf, p1.payload = 100, true, hello[:200]
		p2.seq, p2.ackf, p2.payload = 300, true, hello[200:]
		for _, sg := range []seg{syn, sa, p1, p2} {
			d := sg.frame(b)
			at = at.Add(100 * time.Microsecond)
			w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(d), Length: len(d)}, d)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		s, _ := New(Config{Sink: func(event.Event) error { n++; return nil }})
		if err := s.ReadCapture(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if n != conns+1 { // every ClientHello, one tcp_syn (the same signature is reported once a minute)
			b.Fatalf("%d events, want %d", n, conns+1)
		}
	}
	b.ReportMetric(float64(b.N*conns)/b.Elapsed().Seconds(), "handshakes/s")
}
