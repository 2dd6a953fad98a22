package sniffer

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// packetInfo is what the sniffer needs from one captured frame: the innermost IP
// header's addresses and SYN features, and its TCP segment.
type packetInfo struct {
	ts       time.Time
	src, dst netip.Addr
	ipv6     bool
	ttl      uint8 // IPv4 TTL or IPv6 hop limit
	df       bool  // IPv4 don't-fragment
	ipLen    int   // IPv4 total length, IPv6 payload length + 40
	tcp      *layers.TCP
}

// decoder turns frames into packetInfo. The fast path is a gopacket
// DecodingLayerParser over preallocated layers (Ethernet, 802.1Q, Linux SLL,
// BSD loopback, IPv4, IPv6, TCP: no allocation per packet); frames that carry TCP
// inside a tunnel (GRE, VXLAN, Geneve, IP-in-IP) take gopacket's general decoder and
// use the innermost IP and TCP layers. A decoder is not safe for concurrent use.
type decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	lo    layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	tcp   layers.TCP

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	slowTCP layers.TCP
}

func newDecoder() *decoder {
	return &decoder{parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}, decoded: make([]gopacket.LayerType, 0, 8)}
}

// parser returns the fast parser that starts at layer first.
func (d *decoder) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	p := d.parsers[first]
	if p == nil {
		p = gopacket.NewDecodingLayerParser(first, &d.eth, &d.dot1q, &d.sll, &d.lo, &d.ip4, &d.ip6, &d.tcp)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return p
}

// firstLayer maps a link type to the layer its frames start with; ok is false for
// link types the sniffer does not read.
func firstLayer(link layers.LinkType, data []byte) (first gopacket.LayerType, skip int, ok bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, 0, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, 0, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, 0, true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return ipByVersion(data, 0)
	}
	return 0, 0, false
}

// udpTunnel reports whether a UDP datagram goes to a VXLAN or Geneve port (the
// UDP encapsulations gopacket decodes), so that only those take the slow path.
func udpTunnel(udp []byte) bool {
	if len(udp) < 8 {
		return false
	}
	switch binary.BigEndian.Uint16(udp[2:]) {
	case 4789, 6081:
		return true
	}
	return false
}

func ipByVersion(data []byte, off int) (gopacket.LayerType, int, bool) {
	if len(data) <= off {
		return 0, 0, false
	}
	switch data[off] >> 4 {
	case 4:
		return layers.LayerTypeIPv4, off, true
	case 6:
		return layers.LayerTypeIPv6, off, true
	}
	return 0, 0, false
}

// decode fills pi from one frame. It reports false for frames without a usable TCP
// segment (other protocols, IP fragments, truncated or malformed headers).
func (d *decoder) decode(link layers.LinkType, data []byte, pi *packetInfo) bool {
	first, skip, ok := firstLayer(link, data)
	if !ok {
		return false
	}
	data = data[skip:]
	d.decoded = d.decoded[:0]
	err := d.parser(first).DecodeLayers(data, &d.decoded)
	var ip, tcp bool
	var tunnel bool
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			if ip { // IP inside IP (e.g. 4in4): the fast path stops at the outer one
				tunnel = true
			}
			ip = true
			pi.ipv6 = false
			pi.src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			pi.dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			pi.ttl = d.ip4.TTL
			pi.df = d.ip4.Flags&layers.IPv4DontFragment != 0
			pi.ipLen = int(d.ip4.Length)
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				return false // no defragmentation: a TCP header is never fragmented in practice
			}
			switch d.ip4.Protocol {
			case layers.IPProtocolGRE, layers.IPProtocolIPv4, layers.IPProtocolIPv6:
				tunnel = true
			case layers.IPProtocolUDP:
				tunnel = udpTunnel(d.ip4.Payload)
			}
		case layers.LayerTypeIPv6:
			ip = true
			pi.ipv6 = true
			pi.src, _ = netip.AddrFromSlice(d.ip6.SrcIP.To16())
			pi.dst, _ = netip.AddrFromSlice(d.ip6.DstIP.To16())
			pi.ttl = d.ip6.HopLimit
			pi.df = false
			pi.ipLen = int(d.ip6.Length) + 40
			switch d.ip6.NextHeader {
			case layers.IPProtocolGRE, layers.IPProtocolIPv4, layers.IPProtocolIPv6,
				layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
				tunnel = true
			case layers.IPProtocolUDP:
				tunnel = udpTunnel(d.ip6.Payload)
			}
		case layers.LayerTypeTCP:
			tcp = true
		}
	}
	if tcp && err == nil {
		pi.tcp = &d.tcp
		return pi.src.IsValid() && pi.dst.IsValid()
	}
	if !ip || !tunnel {
		return false
	}
	return d.slow(first, data, pi)
}

// slow decodes a tunnelled or extension-header frame with gopacket's general
// decoder and keeps the innermost IP header and TCP segment.
func (d *decoder) slow(first gopacket.LayerType, data []byte, pi *packetInfo) bool {
	pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{NoCopy: true, Lazy: false})
	var tcp *layers.TCP
	var ok bool
	for _, l := range pkt.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			pi.ipv6 = false
			pi.src, _ = netip.AddrFromSlice(l.SrcIP.To4())
			pi.dst, _ = netip.AddrFromSlice(l.DstIP.To4())
			pi.ttl, pi.df, pi.ipLen = l.TTL, l.Flags&layers.IPv4DontFragment != 0, int(l.Length)
			ok = l.Flags&layers.IPv4MoreFragments == 0 && l.FragOffset == 0
			tcp = nil
		case *layers.IPv6:
			pi.ipv6 = true
			pi.src, _ = netip.AddrFromSlice(l.SrcIP.To16())
			pi.dst, _ = netip.AddrFromSlice(l.DstIP.To16())
			pi.ttl, pi.df, pi.ipLen = l.HopLimit, false, int(l.Length)+40
			ok = true
			tcp = nil
		case *layers.TCP:
			tcp = l
		}
	}
	if tcp == nil || !ok || !pi.src.IsValid() || !pi.dst.IsValid() {
		return false
	}
	d.slowTCP = *tcp
	pi.tcp = &d.slowTCP
	return true
}
