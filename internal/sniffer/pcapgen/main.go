// Command pcapgen builds a large capture for the sniffer benchmark (bench/sniff.sh):
// it reads the TCP/IPv4 connections of seed captures (pcap or pcapng, Ethernet)
// and writes -flows copies of them, cycling through the seeds, each copy with its
// own client and server addresses and client port, so every copy is a distinct
// connection with the seed's exact TCP payloads (the same handshakes).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

type conn struct {
	frames [][]byte
	times  []time.Duration // offset from the connection's first frame
	client [2]any
}

func main() {
	out := flag.String("o", "big.pcap", "output pcap")
	flows := flag.Int("flows", 100000, "connections to write")
	perFlow := flag.Int("packets", 16, "frames kept from the start of each seed connection")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: pcapgen [-o big.pcap] [-flows N] [-packets N] seed.pcap...")
		os.Exit(2)
	}
	var seeds []*conn
	for _, path := range flag.Args() {
		cs, err := readSeed(path, *perFlow)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pcapgen: %s: %v\n", path, err)
			os.Exit(1)
		}
		seeds = append(seeds, cs...)
	}
	if len(seeds) == 0 {
		fmt.Fprintln(os.Stderr, "pcapgen: the seeds hold no TCP/IPv4 connection over Ethernet")
		os.Exit(1)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	base := time.Unix(1767225600, 0)
	packets := 0
	for i := 0; i < *flows; i++ {
		c := seeds[i%len(seeds)]
		client := net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}
		server := net.IP{172, 16, byte(i % 251), byte(1 + i%250)}
		cport := layers.TCPPort(1024 + i%64000)
		start := base.Add(time.Duration(i) * time.Millisecond)
		for j, fr := range c.frames {
			d, err := rewrite(fr, c, client, server, cport)
			if err != nil {
				continue
			}
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: start.Add(c.times[j]), CaptureLength: len(d), Length: len(d)}, d); err != nil {
				fmt.Fprintln(os.Stderr, "pcapgen:", err)
				os.Exit(1)
			}
			packets++
		}
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	f.Close()
	fmt.Fprintf(os.Stderr, "pcapgen: %d connections (%d seeds), %d packets → %s\n", *flows, len(seeds), packets, *out)
}

// rewrite gives a seed frame the copy's addresses and client port.
func rewrite(frame []byte, c *conn, client, server net.IP, cport layers.TCPPort) ([]byte, error) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if eth == nil || ip == nil || tcp == nil {
		return nil, errors.New("not TCP/IPv4")
	}
	fromClient := ip.SrcIP.Equal(c.client[0].(net.IP)) && tcp.SrcPort == c.client[1].(layers.TCPPort)
	if fromClient {
		ip.SrcIP, ip.DstIP, tcp.SrcPort = client, server, cport
	} else {
		ip.SrcIP, ip.DstIP, tcp.DstPort = server, client, cport
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(tcp.Payload))
	return buf.Bytes(), err
}

// readSeed returns the TCP/IPv4 connections of a capture, each with its first
// perFlow frames; the client is the SYN's sender, else the first sender.
func readSeed(path string, perFlow int) ([]*conn, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r src
	var link layers.LinkType
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		r, link = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		r, link = pr, pr.LinkType()
	}
	if link != layers.LinkTypeEthernet {
		return nil, nil
	}
	type key struct {
		a, b string
	}
	conns := map[key]*conn{}
	var order []*conn
	var first = map[*conn]time.Time{}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return nil, err
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil || p.Layer(layers.LayerTypeIPv6) != nil || len(p.Layers()) > 4 {
			continue // plain Ethernet/IPv4/TCP only (no tunnels, no VLAN)
		}
		s := fmt.Sprintf("%s:%d", ip.SrcIP, tcp.SrcPort)
		d := fmt.Sprintf("%s:%d", ip.DstIP, tcp.DstPort)
		k := key{min(s, d), max(s, d)}
		c := conns[k]
		if c == nil {
			if !tcp.SYN || tcp.ACK {
				continue // only connections whose start was captured
			}
			c = &conn{client: [2]any{ip.SrcIP, tcp.SrcPort}}
			conns[k] = c
			order = append(order, c)
			first[c] = ci.Timestamp
		}
		if len(c.frames) < perFlow {
			c.frames = append(c.frames, data)
			c.times = append(c.times, ci.Timestamp.Sub(first[c]))
		}
	}
	return order, nil
}
