package netdetect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// probeCount is how many probes ARPProbe sends within its timeout (RFC 5227 sends 3).
const probeCount = 3

// ARPProbe reports whether anything on the interface's link answers for ip. It sends
// RFC 5227 ARP probes (sender IP 0.0.0.0, so no neighbour cache learns anything),
// alternating with ordinary requests from the interface's own IPv4 address when it has
// one (some stacks only answer those), and waits up to timeout or until ctx ends.
// Any ARP packet that another station sends from ip, or another probe for ip, counts
// as "in use". Only IPv4 can be probed.
func ARPProbe(ctx context.Context, iface string, ip netip.Addr, timeout time.Duration) (bool, error) {
	ip = ip.Unmap()
	if !ip.Is4() {
		return false, fmt.Errorf("cannot ARP-probe %s: only IPv4 addresses can be probed", ip)
	}
	if timeout <= 0 {
		return false, fmt.Errorf("cannot ARP-probe %s with a timeout of %s", ip, timeout)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return false, fmt.Errorf("cannot ARP-probe %s: interface %s: %w", ip, iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return false, fmt.Errorf("cannot ARP-probe %s: interface %s has no Ethernet address", ip, iface)
	}
	var ownIP netip.Addr
	if p, err := InterfaceAddr(iface); err == nil {
		ownIP = p.Addr()
	}

	conn, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return false, fmt.Errorf("cannot open an ARP socket on %s: %w", iface, err)
	}
	defer conn.Close()

	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	send := func(i int) error {
		sender := netip.IPv4Unspecified()
		if i%2 == 1 && ownIP.IsValid() {
			sender = ownIP
		}
		fb, err := arpRequest(ifi.HardwareAddr, sender, ip)
		if err != nil {
			return err
		}
		_, err = conn.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
		return err
	}

	interval := time.Until(deadline) / probeCount
	buf := make([]byte, 1514)
	for i := 0; i < probeCount; i++ {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("ARP probe of %s on %s was cancelled: %w", ip, iface, err)
		}
		if err := send(i); err != nil {
			return false, fmt.Errorf("cannot send an ARP probe for %s on %s: %w", ip, iface, err)
		}
		until := time.Now().Add(interval)
		if i == probeCount-1 || until.After(deadline) {
			until = deadline
		}
		if err := conn.SetReadDeadline(until); err != nil {
			return false, fmt.Errorf("cannot set the ARP read deadline on %s: %w", iface, err)
		}
		if ctx.Err() != nil { // AfterFunc may have fired before the deadline was set
			_ = conn.SetReadDeadline(time.Now())
		}
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				return false, fmt.Errorf("cannot read ARP answers on %s: %w", iface, err)
			}
			if answers(buf[:n], ifi.HardwareAddr, ip) {
				return true, nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("ARP probe of %s on %s was cancelled: %w", ip, iface, err)
	}
	return false, nil
}

// answers reports whether frame is an ARP packet from another station that shows ip is
// taken: anything sent from ip (reply, request or announcement), or a probe for ip.
func answers(frame []byte, own net.HardwareAddr, ip netip.Addr) bool {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return false
	}
	if bytes.Equal(p.SenderHardwareAddr, own) || bytes.Equal(f.Source, own) {
		return false // our own probe or the kernel's traffic from this host
	}
	if p.SenderIP == ip {
		return true
	}
	return p.Operation == arp.OperationRequest && p.SenderIP == netip.IPv4Unspecified() && p.TargetIP == ip
}
