package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netns"

	"decnet/internal/netdetect"
)

// announce sends an ARP announcement of the decky's LAN address from inside the
// network namespace of its base container (by its ID), as a host does when it
// brings an interface up. Without it, a station that held the address at another
// MAC — a decky replaced or redeployed with a new MAC, a previous fleet on the same
// range — keeps sending there until its cache entry is probed again, and tools that
// send raw frames to the MAC in the system's ARP cache (nmap does) never reach the
// decky: every port looks filtered. The packet socket needs CAP_NET_RAW in that
// namespace, which the host has and the decky's own processes do not, so the engine
// sends it rather than the decky.
func (e *Engine) announce(ctx context.Context, baseID, ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("cannot announce the decky's address %q: %w", ip, err)
	}
	in, err := e.cli.ContainerInspect(ctx, baseID)
	if err != nil {
		return fmt.Errorf("cannot inspect the base container to announce %s: %w", addr, err)
	}
	if in.State == nil || in.State.Pid <= 0 {
		return fmt.Errorf("cannot announce %s: the base container %s is not running", addr, in.Name)
	}
	ns, err := netns.GetFromPid(in.State.Pid)
	if err != nil {
		return fmt.Errorf("cannot open the network namespace of %s to announce %s: %w", in.Name, addr, err)
	}
	defer ns.Close()
	return inNamespace(ns, func() error {
		iface, err := interfaceWith(addr)
		if err != nil {
			return fmt.Errorf("in %s: %w", in.Name, err)
		}
		return netdetect.Announce(iface, addr)
	})
}

// inNamespace runs fn on an OS thread switched into ns, in a goroutine of its own:
// if the thread cannot switch back it stays locked and Go discards it with the
// goroutine, so no other code ever runs in the wrong namespace.
func inNamespace(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("cannot read the host network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("cannot enter the decky's network namespace: %w", err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("cannot return to the host network namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// interfaceWith names the interface of the current network namespace that carries addr.
func interfaceWith(addr netip.Addr) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("cannot list interfaces: %w", err)
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return "", fmt.Errorf("cannot list the addresses of %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr {
					return ifi.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("no interface carries %s", addr)
}
