package netdetect

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// Announce broadcasts one RFC 5227 ARP announcement for ip on the interface: an ARP
// request whose sender and target address are both ip, from the interface's MAC.
// Every station that already holds ip in its neighbour cache replaces the MAC it had
// (Linux updates an existing entry on any ARP packet from that address, whatever
// arp_accept says); stations that do not hold it learn nothing unless they accept
// gratuitous ARP. The socket is opened in the calling thread's network namespace.
func Announce(iface string, ip netip.Addr) error {
	ip = ip.Unmap()
	if !ip.Is4() {
		return fmt.Errorf("cannot announce %s: ARP announces only IPv4 addresses", ip)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("cannot announce %s: interface %s: %w", ip, iface, err)
	}
	frame, err := announcement(ifi.HardwareAddr, ip)
	if err != nil {
		return fmt.Errorf("cannot announce %s on %s: %w", ip, iface, err)
	}
	conn, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return fmt.Errorf("cannot open an ARP socket on %s: %w", iface, err)
	}
	defer conn.Close()
	if _, err := conn.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
		return fmt.Errorf("cannot send the ARP announcement of %s on %s: %w", ip, iface, err)
	}
	return nil
}

// announcement is the Ethernet frame of an ARP announcement of ip at mac (RFC 5227
// section 2.3: a request whose sender and target are both ip).
func announcement(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	return arpRequest(mac, ip, ip)
}

// arpRequest is the Ethernet frame of a broadcast ARP request from mac asking for
// target, with sender as its sender address (0.0.0.0 for an RFC 5227 probe) and a
// zero target hardware address.
func arpRequest(mac net.HardwareAddr, sender, target netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("the interface has no Ethernet address (%q)", mac)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, sender, make(net.HardwareAddr, 6), target)
	if err != nil {
		return nil, err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return (&ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
}
