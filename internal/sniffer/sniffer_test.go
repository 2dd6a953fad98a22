package sniffer

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
)

// frame builds an Ethernet/IPv4/TCP frame.
type seg struct {
	src, dst     string
	sport, dport uint16
	seq, ack     uint32
	syn, ackf    bool
	fin, rst     bool
	payload      []byte
	ttl          uint8
	window       uint16
	opts         []layers.TCPOption
	vlan         bool
}

func (s seg) frame(t testing.TB) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: net.ParseIP(s.src).To4(), DstIP: net.ParseIP(s.dst).To4()}
	win := s.window
	if win == 0 {
		win = 64240
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), Seq: s.seq, Ack: s.ack,
		SYN: s.syn, ACK: s.ackf, FIN: s.fin, RST: s.rst, Window: win, Options: s.opts}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	ls := []gopacket.SerializableLayer{eth, ip, tcp, gopacket.Payload(s.payload)}
	if s.vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload(s.payload)}
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// collect returns a sniffer whose events are appended to *out.
func collect(cfg Config, out *[]event.Event) *Sniffer {
	cfg.Sink = func(e event.Event) error { *out = append(*out, e); return nil }
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

func feed(t testing.TB, s *Sniffer, at time.Time, segs ...seg) {
	t.Helper()
	for i, sg := range segs {
		d := sg.frame(t)
		s.Packet(layers.LinkTypeEthernet, d, gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(d), Length: len(d)})
	}
}

func kinds(evs []event.Event) []string {
	var k []string
	for _, e := range evs {
		if f := e.Fields["fp_kind"]; f != "" {
			k = append(k, f)
		} else {
			k = append(k, e.Type)
		}
	}
	return k
}

// clientHello returns the TLS records of a real Go ClientHello.
func clientHello(t testing.TB) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		tls.Client(a, &tls.Config{ServerName: "split.example", InsecureSkipVerify: true, NextProtos: []string{"h2"}}).Handshake()
	}()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, _, err := fingerprint.ReadClientHello(b, 64<<10)
	a.Close()
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestHalfAdd(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	tests := []struct {
		name  string
		segs  [][2]int // offset, length
		limit int
		want  string
	}{
		{"in order", [][2]int{{0, 5}, {5, 5}, {10, 10}}, 100, string(data)},
		{"out of order", [][2]int{{10, 10}, {5, 5}, {0, 5}}, 100, string(data)},
		{"gap filled", [][2]int{{0, 5}, {10, 10}, {5, 5}}, 100, string(data)},
		{"retransmit overlap", [][2]int{{0, 8}, {4, 8}, {0, 3}, {12, 8}}, 100, string(data)},
		{"limit", [][2]int{{0, 5}, {5, 15}}, 7, "0123456"},
		{"gap never filled", [][2]int{{0, 5}, {10, 5}}, 100, "01234"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h half
			budget := 1 << 20
			h.started, h.next = true, 1000 // as after a SYN with ISN 999
			for _, sg := range tc.segs {
				h.add(1000+uint32(sg[0]), data[sg[0]:sg[0]+sg[1]], tc.limit, &budget)
			}
			if string(h.buf) != tc.want {
				t.Errorf("prefix %q, want %q", h.buf, tc.want)
			}
			if budget != 1<<20-len(h.buf)-h.oooLen {
				t.Errorf("budget %d, buffered %d", budget, len(h.buf)+h.oooLen)
			}
			h.finish(&budget)
			if budget != 1<<20 {
				t.Errorf("budget %d after finish, want it all back", budget)
			}
		})
	}
	// Sequence numbers that wrap around 2^32.
	var h half
	budget := 1 << 20
	h.started, h.next = true, 0xfffffffe
	h.add(0xfffffffe, data[:4], 100, &budget)
	h.add(2, data[4:8], 100, &budget)
	if string(h.buf) != "01234567" {
		t.Errorf("across the wrap: %q", h.buf)
	}
	// A budget that is spent refuses to buffer.
	var h2 half
	small := 3
	h2.add(1, data[:5], 100, &small)
	if len(h2.buf) != 0 || small != 3 {
		t.Errorf("over budget: buffered %q, budget %d", h2.buf, small)
	}
}

// TestSplitClientHello delivers a real ClientHello in small segments, reversed
// and with a retransmission, and checks the result equals the whole hello's.
func TestSplitClientHello(t *testing.T) {
	raw := clientHello(t)
	ch, err := fingerprint.ParseClientHelloRecords(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, wantJA3 := fingerprint.JA3(ch)
	wantJA4 := fingerprint.JA4(ch, fingerprint.TCP).JA4
	for _, order := range []string{"in order", "reversed", "retransmitted"} {
		t.Run(order, func(t *testing.T) {
			var evs []event.Event
			s := collect(Config{Deckies: map[netip.Addr]string{netip.MustParseAddr("10.0.0.2"): "decky-01"}}, &evs)
			c := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40000, dport: 443}
			syn := c
			syn.seq, syn.syn = 999, true
			now := time.Unix(1700000000, 0)
			feed(t, s, now, syn)
			var parts []seg
			for off := 0; off < len(raw); off += 120 { // ≤ 16 out-of-order segments when reversed
				p := c
				p.seq, p.ackf, p.payload = 1000+uint32(off), true, raw[off:min(off+120, len(raw))]
				parts = append(parts, p)
			}
			switch order {
			case "reversed":
				slices.Reverse(parts[1 : len(parts)-1]) // first and last in place, the middle reversed
			case "retransmitted":
				parts = append(parts[:3], append([]seg{parts[1], parts[2]}, parts[3:]...)...)
			}
			feed(t, s, now.Add(time.Millisecond), parts...)
			s.Flush()
			var got []event.Event
			for _, e := range evs {
				if e.Fields["fp_kind"] == KindTLSClient {
					got = append(got, e)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d tls_client events (%v), want 1", len(got), kinds(evs))
			}
			e := got[0]
			if e.Fields["ja3"] != wantJA3 || e.Fields["ja4"] != wantJA4 || e.Fields["sni"] != "split.example" || e.Fields["alpn"] != "h2" {
				t.Errorf("fields %v, want ja3 %s ja4 %s", e.Fields, wantJA3, wantJA4)
			}
			if e.Decky != "decky-01" || e.AttackerIP != "10.0.0.9" || e.AttackerPort != 40000 || e.Fields["dst_port"] != "443" || e.Service != Service || e.Type != event.Fingerprint {
				t.Errorf("event %+v", e)
			}
			if e.Fields["tls_version"] != "1.3" {
				t.Errorf("tls_version %q", e.Fields["tls_version"])
			}
		})
	}
}

func TestSYNSignatureAndDedup(t *testing.T) {
	var evs []event.Event
	s := collect(Config{}, &evs)
	opts := []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}
	syn := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40000, dport: 22, seq: 1, syn: true, ttl: 64, window: 64240, opts: opts, vlan: true}
	now := time.Unix(1700000000, 0)
	feed(t, s, now, syn, syn)                // the same signature twice: one event
	feed(t, s, now.Add(61*time.Second), syn) // a minute later: another
	if got := kinds(evs); !slices.Equal(got, []string{KindTCPSYN, KindTCPSYN}) {
		t.Fatalf("events %v", got)
	}
	f := evs[0].Fields
	want := map[string]string{"ttl": "64", "window": "64240", "mss": "1460", "wscale": "7", "options": "mss,sok,ts,nop,ws", "df": "1", "ip_len": "60", "dst_port": "22", "ip_version": "4", "fp_kind": KindTCPSYN}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q (all %v)", k, f[k], v, f)
		}
	}
	if evs[0].Decky != "10.0.0.2" {
		t.Errorf("decky %q: without a map the destination IP names it", evs[0].Decky)
	}
}

func TestScanDetection(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		probes  func() []seg
		want    bool
		synOnly string
		ports   string
	}{
		{"syn scan of 12 ports", func() []seg {
			var ss []seg
			for p := uint16(20); p < 32; p++ {
				ss = append(ss, seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000, dport: p, seq: 1, syn: true},
					seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000, dport: p, seq: 2, rst: true})
			}
			return ss
		}, true, "true", "20,21,22,23,24,25,26,27,28,29,30,31"},
		{"connect scan", func() []seg {
			var ss []seg
			for p := uint16(20); p < 32; p++ {
				ss = append(ss, seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000 + p, dport: p, seq: 1, syn: true},
					seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000 + p, dport: p, seq: 2, ackf: true})
			}
			return ss
		}, true, "false", ""},
		{"one port on three deckies", func() []seg {
			var ss []seg
			for _, d := range []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"} {
				ss = append(ss, seg{src: "10.0.0.66", dst: d, sport: 50000, dport: 445, seq: 1, syn: true})
			}
			return ss
		}, true, "true", "445"},
		{"nine ports only", func() []seg {
			var ss []seg
			for p := uint16(20); p < 29; p++ {
				ss = append(ss, seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000, dport: p, seq: 1, syn: true})
			}
			return ss
		}, false, "", ""},
		{"talking client is not a scanner", func() []seg {
			var ss []seg
			for p := uint16(20); p < 32; p++ {
				ss = append(ss, seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000 + p, dport: p, seq: 1, syn: true},
					seg{src: "10.0.0.66", dst: "10.0.0.2", sport: 50000 + p, dport: p, seq: 2, ackf: true, payload: []byte("hello\r\n")})
			}
			return ss
		}, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs []event.Event
			s := collect(Config{Deckies: map[netip.Addr]string{netip.MustParseAddr("10.0.0.2"): "decky-01"}}, &evs)
			feed(t, s, now, tc.probes()...)
			s.Tick(now.Add(30 * time.Second))
			for _, e := range evs {
				if e.Type == event.Scan {
					t.Fatalf("scan reported before its window ended: %v", e.Fields)
				}
			}
			s.Tick(now.Add(61 * time.Second))
			var scans []event.Event
			for _, e := range evs {
				if e.Type == event.Scan {
					scans = append(scans, e)
				}
			}
			if !tc.want {
				if len(scans) != 0 {
					t.Fatalf("unexpected scan %v", scans[0].Fields)
				}
				return
			}
			if len(scans) != 1 {
				t.Fatalf("%d scan events, want 1", len(scans))
			}
			f := scans[0].Fields
			if f["syn_only"] != tc.synOnly || tc.ports != "" && f["ports"] != tc.ports || scans[0].AttackerIP != "10.0.0.66" {
				t.Errorf("scan %+v", scans[0])
			}
			if tc.name == "syn scan of 12 ports" && (f["port_count"] != "12" || scans[0].Decky != "decky-01" || f["deckies"] != "1") {
				t.Errorf("scan fields %v decky %s", f, scans[0].Decky)
			}
		})
	}
}

func TestSSHAndHTTPFromSegments(t *testing.T) {
	k := fingerprint.KexInit{KexAlgos: "curve25519-sha256", ServerHostKeyAlgos: "ssh-ed25519", CiphersC2S: "aes128-ctr", CiphersS2C: "aes128-ctr",
		MACsC2S: "hmac-sha2-256", MACsS2C: "hmac-sha2-256", CompressionC2S: "none", CompressionS2C: "none"}
	client := append([]byte("SSH-2.0-dnt_client\r\n"), fingerprint.SSHPacket(k.Marshal())...)
	server := append([]byte("SSH-2.0-dnt_server\r\n"), fingerprint.SSHPacket(k.Marshal())...)
	var evs []event.Event
	s := collect(Config{}, &evs)
	now := time.Unix(1700000000, 0)
	c := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40001, dport: 2222}
	sv := seg{src: "10.0.0.2", dst: "10.0.0.9", sport: 2222, dport: 40001}
	var ss []seg
	syn := c
	syn.seq, syn.syn = 99, true
	sa := sv
	sa.seq, sa.syn, sa.ackf = 499, true, true
	ss = append(ss, syn, sa)
	for off := 0; off < len(server); off += 30 {
		p := sv
		p.seq, p.ackf, p.payload = 500+uint32(off), true, server[off:min(off+30, len(server))]
		ss = append(ss, p)
	}
	for off := 0; off < len(client); off += 7 {
		p := c
		p.seq, p.ackf, p.payload = 100+uint32(off), true, client[off:min(off+7, len(client))]
		ss = append(ss, p)
	}
	h := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40002, dport: 80, seq: 1, ackf: true, payload: []byte("GET /admin?x=1 HTTP/1.1\r\nHost: decky\r\nUser-Agent: sqlmap/1.7\r\n\r\n")}
	ss = append(ss, h)
	feed(t, s, now, ss...)
	s.Flush()
	byKind := map[string]map[string]string{}
	for _, e := range evs {
		byKind[e.Fields["fp_kind"]] = e.Fields
		if e.AttackerIP != "10.0.0.9" || e.Decky != "10.0.0.2" {
			t.Errorf("%s: attacker %s decky %s", e.Fields["fp_kind"], e.AttackerIP, e.Decky)
		}
	}
	hassh, _ := k.HASSH()
	hs, _ := k.HASSHServer()
	if f := byKind[KindSSHClient]; f["hassh"] != hassh || f["client_version"] != "SSH-2.0-dnt_client" || f["dst_port"] != "2222" {
		t.Errorf("ssh_client %v", f)
	}
	if f := byKind[KindSSHServer]; f["hassh_server"] != hs || f["server_version"] != "SSH-2.0-dnt_server" {
		t.Errorf("ssh_server %v", f)
	}
	if f := byKind[KindHTTP]; f["method"] != "GET" || f["path"] != "/admin?x=1" || f["user_agent"] != "sqlmap/1.7" || f["host"] != "decky" {
		t.Errorf("http %v", f)
	}
}

// TestIdentOnly reports an SSH identification line whose KEXINIT never came.
func TestIdentOnly(t *testing.T) {
	var evs []event.Event
	s := collect(Config{}, &evs)
	feed(t, s, time.Unix(1700000000, 0), seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40001, dport: 22, seq: 1, ackf: true, payload: []byte("SSH-2.0-Go\r\n")})
	s.Flush()
	if len(evs) != 1 || evs[0].Fields["client_version"] != "SSH-2.0-Go" || evs[0].Fields["hassh"] != "" {
		t.Fatalf("events %v", evs)
	}
}

func TestLimits(t *testing.T) {
	var evs []event.Event
	s := collect(Config{Limits: Limits{MaxFlows: 4, StreamBytes: 64}}, &evs)
	now := time.Unix(1700000000, 0)
	for i := 0; i < 10; i++ {
		feed(t, s, now, seg{src: "10.0.0.9", dst: "10.0.0.2", sport: uint16(40000 + i), dport: 443, seq: 1, ackf: true, payload: []byte{0x16, 3, 1, 0x10, 0}})
	}
	st := s.Stats()
	if len(s.flows) != 4 || st.FlowsRefused != 6 {
		t.Errorf("%d flows tracked, %d refused; want 4 and 6", len(s.flows), st.FlowsRefused)
	}
	for _, f := range s.flows {
		for _, h := range f.half {
			if len(h.buf) > 64 {
				t.Errorf("a direction holds %d bytes, limit 64", len(h.buf))
			}
		}
	}
	// Idle connections expire.
	s.Tick(now.Add(3 * time.Minute))
	if len(s.flows) != 0 {
		t.Errorf("%d flows left after the idle timeout", len(s.flows))
	}
	if s.budget != s.lim.BufferedBytes {
		t.Errorf("budget %d after every flow ended, want %d", s.budget, s.lim.BufferedBytes)
	}
}

func TestOnlyDeckies(t *testing.T) {
	var evs []event.Event
	s := collect(Config{OnlyDeckies: true, Deckies: map[netip.Addr]string{netip.MustParseAddr("10.0.0.2"): "decky-01"}}, &evs)
	now := time.Unix(1700000000, 0)
	feed(t, s, now, seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 1, dport: 22, seq: 1, syn: true},
		seg{src: "10.0.0.9", dst: "10.0.0.77", sport: 1, dport: 22, seq: 1, syn: true})
	if len(evs) != 1 || evs[0].Decky != "decky-01" || s.Stats().NotDecky != 1 {
		t.Fatalf("events %v, not-decky %d", evs, s.Stats().NotDecky)
	}
}

// TestFilter runs the kernel filter program in x/net/bpf's VM.
func TestFilter(t *testing.T) {
	tcpFrame := seg{src: "10.47.0.5", dst: "10.47.0.10", sport: 1, dport: 443, seq: 1, syn: true}.frame(t)
	vlanFrame := seg{src: "10.47.0.5", dst: "10.47.0.10", sport: 1, dport: 443, seq: 1, syn: true, vlan: true}.frame(t)
	outside := seg{src: "192.0.2.1", dst: "192.0.2.2", sport: 1, dport: 443, seq: 1, syn: true}.frame(t)
	fromRange := seg{src: "10.47.0.10", dst: "192.0.2.2", sport: 443, dport: 1, seq: 1, syn: true, ackf: true}.frame(t)
	udp := func() []byte {
		buf := gopacket.NewSerializeBuffer()
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 47, 0, 5}, DstIP: net.IP{10, 47, 0, 10}}
		u := &layers.UDP{SrcPort: 1, DstPort: 53}
		u.SetNetworkLayerForChecksum(ip)
		gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}, ip, u, gopacket.Payload("x"))
		return buf.Bytes()
	}()
	v6 := func() []byte {
		buf := gopacket.NewSerializeBuffer()
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		tcp := &layers.TCP{SrcPort: 1, DstPort: 22, SYN: true}
		tcp.SetNetworkLayerForChecksum(ip)
		gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}, ip, tcp)
		return buf.Bytes()
	}()
	tests := []struct {
		name   string
		prefix netip.Prefix
		frame  []byte
		pass   bool
	}{
		{"tcp, no prefix", netip.Prefix{}, tcpFrame, true},
		{"tcp behind 802.1Q", netip.Prefix{}, vlanFrame, true},
		{"udp", netip.Prefix{}, udp, false},
		{"ipv6 tcp", netip.Prefix{}, v6, true},
		{"ipv6 tcp with an IPv4 prefix", netip.MustParsePrefix("10.47.0.0/24"), v6, true},
		{"to the range", netip.MustParsePrefix("10.47.0.0/24"), tcpFrame, true},
		{"from the range", netip.MustParsePrefix("10.47.0.0/24"), fromRange, true},
		{"vlan to the range", netip.MustParsePrefix("10.47.0.0/24"), vlanFrame, true},
		{"outside the range", netip.MustParsePrefix("10.47.0.0/24"), outside, false},
		{"udp in the range", netip.MustParsePrefix("10.47.0.0/24"), udp, false},
	}
	for _, tc := range tests {
		raw, err := Filter(tc.prefix)
		if err != nil {
			t.Fatal(err)
		}
		var prog []bpf.Instruction
		for _, r := range raw {
			prog = append(prog, r.Disassemble())
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n, err := vm.Run(tc.frame)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (n > 0) != tc.pass || tc.pass && n < len(tc.frame) {
			t.Errorf("%s: filter returned %d for a %d-byte frame, want pass=%v", tc.name, n, len(tc.frame), tc.pass)
		}
	}
}

func TestParseDeckyMap(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"10.0.0.2=decky-01, 10.0.0.3=decky-02", map[string]string{"10.0.0.2": "decky-01", "10.0.0.3": "decky-02"}, ""},
		{"fd00::2=v6", map[string]string{"fd00::2": "v6"}, ""},
		{"10.0.0.2", nil, "not ip=name"},
		{"nope=decky", nil, "not an IP"},
		{"10.0.0.2=bad name", nil, "letters"},
		{"", nil, "empty"},
	}
	for _, tc := range tests {
		m, err := ParseDeckyMap(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(m) != len(tc.want) {
			t.Errorf("%q: %v %v", tc.in, m, err)
		}
		for ip, n := range tc.want {
			if m[netip.MustParseAddr(ip)] != n {
				t.Errorf("%q: %s → %q, want %q", tc.in, ip, m[netip.MustParseAddr(ip)], n)
			}
		}
	}
}

// TestReadCapturePcapng writes frames as pcapng and reads them back through
// ReadCapture, as `decnet sniff --read` does.
func TestReadCapturePcapng(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	d := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 1, dport: 22, seq: 1, syn: true}.frame(t)
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(d), Length: len(d)}, d); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	var evs []event.Event
	s := collect(Config{}, &evs)
	if err := s.ReadCapture(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Fields["fp_kind"] != KindTCPSYN || !evs[0].Time.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("events %v", evs)
	}
	if err := s.ReadCapture(context.Background(), strings.NewReader("not a capture")); err == nil {
		t.Error("a text file read as a capture")
	}
}

// TestPortReuse: a new SYN with another ISN on a known 4-tuple starts a new
// connection, whose ClientHello is read from its own start.
func TestPortReuse(t *testing.T) {
	hello := clientHello(t)
	var evs []event.Event
	s := collect(Config{}, &evs)
	now := time.Unix(1700000000, 0)
	for n, isn := range []uint32{1000, 500000} {
		c := seg{src: "10.0.0.9", dst: "10.0.0.2", sport: 40000, dport: 443}
		syn, data := c, c
		syn.seq, syn.syn = isn, true
		data.seq, data.ackf, data.payload = isn+1, true, hello
		feed(t, s, now.Add(time.Duration(n)*time.Second), syn, data)
	}
	s.Flush()
	n := 0
	for _, e := range evs {
		if e.Fields["fp_kind"] == KindTLSClient {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d ClientHellos reported, want 2 (%v)", n, kinds(evs))
	}
}
