package llmnr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"

	"decnet/internal/event"
	"decnet/internal/service"
)

// serveLinkLocal serves a port on a deployed decky, where queries arrive by
// multicast. The runtime's ServeUDP binds one dual-stack IPv6 socket, and Linux
// delivers IPv4 multicast to an IPv6 socket only for groups joined on that very
// socket, which the runtime does not expose. So this opens an IPv4 socket
// (0.0.0.0:port) and an IPv6-only one ([::]:port), joins the port's groups on every
// up, multicast-capable, non-loopback interface, and serves both as ServeUDP does:
// within the runtime's UDP limits, one datagram at a time, a panic ends only that
// datagram (an error event).
// Failing to join a group is logged; unicast queries still arrive.
func serveLinkLocal(ctx context.Context, rt *service.Runtime, port int, handler func(data []byte, peer netip.AddrPort, reply func([]byte) error)) error {
	g4, g6 := mdnsGroup4, mdnsGroup6
	if port == PortLLMNR {
		g4, g6 = llmnrGroup4, llmnrGroup6
	}
	ifs, err := net.Interfaces()
	if err != nil {
		rt.Log.Warn("llmnr: cannot list interfaces; multicast queries will not arrive", "err", err)
	}
	var conns []*net.UDPConn
	for _, v := range []struct {
		netw, addr string
		group      netip.Addr
	}{{"udp4", fmt.Sprintf("0.0.0.0:%d", port), g4}, {"udp6", fmt.Sprintf("[::]:%d", port), g6}} {
		pc, err := net.ListenPacket(v.netw, v.addr)
		if err != nil {
			if v.netw == "udp6" && len(conns) > 0 {
				rt.Log.Info("llmnr: no IPv6 socket", "port", port, "err", err)
				continue // a decky without IPv6
			}
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("listen on %d/udp: %w", port, err)
		}
		uc := pc.(*net.UDPConn)
		conns = append(conns, uc)
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
				continue
			}
			if err := join(uc, v.group, ifi.Index); err != nil {
				rt.Log.Info("llmnr: cannot join multicast group", "group", v.group.String(), "interface", ifi.Name, "err", err)
			}
		}
	}
	if rt.OnListen != nil {
		rt.OnListen(port, conns[0].LocalAddr())
	}
	defer context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})()
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	var mu sync.Mutex // one datagram at a time across both sockets, as ServeUDP
	for _, uc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 65535)
			for {
				n, from, err := uc.ReadFromUDPAddrPort(buf)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
						return
					}
					errs <- fmt.Errorf("read on %d/udp: %w", port, err)
					return
				}
				peer := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
				if !rt.AdmitDatagram(peer, port) {
					continue
				}
				data := append([]byte(nil), buf[:n]...)
				reply := func(b []byte) error {
					_, err := uc.WriteToUDPAddrPort(b, from)
					return err
				}
				func() {
					mu.Lock()
					defer mu.Unlock()
					defer func() {
						if p := recover(); p != nil {
							rt.Log.Error("handler panic", "peer", peer.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
							rt.Emit(event.Error, peer, map[string]string{"error": "internal error"}, "")
						}
					}()
					handler(data, peer, reply)
				}()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		if ctx.Err() == nil {
			return err
		}
	default:
	}
	return nil
}

// join adds the socket to a multicast group on one interface.
func join(uc *net.UDPConn, group netip.Addr, ifindex int) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if group.Is4() {
			serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
				&unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifindex)})
			return
		}
		serr = unix.SetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP,
			&unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifindex)})
	})
	if err != nil {
		return err
	}
	return serr
}
