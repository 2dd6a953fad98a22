package sniffer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The live capture is an AF_PACKET socket (github.com/mdlayher/packet: pure Go,
// deadlines through the runtime poller, so a cancelled context ends a blocked
// read). gopacket/afpacket would need cgo, and pcapgo.EthernetHandle blocks in
// recvmsg with no way to interrupt it. The BPF filter runs in the kernel and is
// attached before the socket is bound, so nothing else is ever copied to us.

const (
	ethPAll     = 0x0003 // ETH_P_ALL
	captureBuf  = 256 << 10
	readTimeout = 500 * time.Millisecond
	// socketBuffer is the receive buffer asked for the packet socket.
	socketBuffer = 8 << 20
)

// Filter returns the classic BPF program of the live capture on an Ethernet
// interface: TCP over IPv4 or IPv6, behind at most one 802.1Q tag; with a valid
// IPv4 prefix, only IPv4 packets from or to it (IPv6 TCP is kept). Accepted
// packets are captured whole.
func Filter(prefix netip.Prefix) ([]bpf.RawInstruction, error) {
	const accept, drop = 0x40000, 0
	prog := filterProgram(prefix, accept, drop)
	return bpf.Assemble(prog)
}

// filterProgram writes the filter with relative jumps computed from block sizes.
func filterProgram(prefix netip.Prefix, accept, drop uint32) []bpf.Instruction {
	// ipv4 block (for a given L2 offset): protocol TCP, optional prefix check.
	ipv4 := func(off uint32) []bpf.Instruction {
		b := []bpf.Instruction{
			bpf.LoadAbsolute{Off: 23 + off, Size: 1},
		}
		if !prefix.IsValid() || !prefix.Addr().Is4() {
			return append(b,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipFalse: 1},
				bpf.RetConstant{Val: accept},
				bpf.RetConstant{Val: drop},
			)
		}
		a4 := prefix.Masked().Addr().As4()
		netv := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
		mask := uint32(0)
		if bits := prefix.Bits(); bits > 0 {
			mask = ^uint32(0) << (32 - bits)
		}
		return append(b,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipFalse: 7},
			bpf.LoadAbsolute{Off: 26 + off, Size: 4}, // source
			bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: netv, SkipTrue: 3},
			bpf.LoadAbsolute{Off: 30 + off, Size: 4}, // destination
			bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: netv, SkipFalse: 1},
			bpf.RetConstant{Val: accept},
			bpf.RetConstant{Val: drop},
		)
	}
	ipv6 := func(off uint32) []bpf.Instruction {
		return []bpf.Instruction{
			bpf.LoadAbsolute{Off: 20 + off, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipFalse: 1},
			bpf.RetConstant{Val: accept},
			bpf.RetConstant{Val: drop},
		}
	}
	// dispatch on the ethertype at 12+off: IPv4 → v4 block, IPv6 → v6 block.
	l3 := func(off uint32, vlan []bpf.Instruction) []bpf.Instruction {
		v4, v6 := ipv4(off), ipv6(off)
		var b []bpf.Instruction
		b = append(b, bpf.LoadAbsolute{Off: 12 + off, Size: 2})
		// jeq IPv4 → fall into v4 (skip 0), else go to the next test
		b = append(b, bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x0800, SkipFalse: uint8(len(v4))})
		b = append(b, v4...)
		b = append(b, bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x86dd, SkipFalse: uint8(len(v6))})
		b = append(b, v6...)
		if vlan != nil {
			b = append(b, bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x8100, SkipFalse: uint8(len(vlan))})
			b = append(b, vlan...)
		}
		return append(b, bpf.RetConstant{Val: drop})
	}
	return l3(0, l3(4, nil))
}

// capture runs the live capture on cfg.Iface until ctx ends.
func (s *Sniffer) capture(ctx context.Context) error {
	ifi, err := net.InterfaceByName(s.cfg.Iface)
	if err != nil {
		return fmt.Errorf("sniffer: interface %q: %w", s.cfg.Iface, err)
	}
	if ifi.Flags&net.FlagLoopback == 0 && len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("sniffer: interface %s is not an Ethernet interface", ifi.Name)
	}
	filter, err := Filter(s.cfg.Filter)
	if err != nil {
		return fmt.Errorf("sniffer: assembling the capture filter: %w", err)
	}
	conn, err := packet.Listen(ifi, packet.Raw, ethPAll, &packet.Config{Filter: filter})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("sniffer: capturing on %s needs root or CAP_NET_RAW: %w", ifi.Name, err)
		}
		return fmt.Errorf("sniffer: opening a packet socket on %s: %w", ifi.Name, err)
	}
	defer conn.Close()
	// A larger socket buffer rides out bursts (the kernel caps it at rmem_max).
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
			}
		})
	}
	if s.cfg.Promiscuous {
		if err := conn.SetPromiscuous(true); err != nil {
			return fmt.Errorf("sniffer: promiscuous mode on %s: %w", ifi.Name, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	s.cfg.Log.Info("capturing", "iface", ifi.Name, "prefix", s.cfg.Filter.String())
	buf := make([]byte, captureBuf)
	defer s.Flush()
	lastStats := time.Now()
	for ctx.Err() == nil && s.err == nil {
		if err := conn.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
			return fmt.Errorf("sniffer: %w", err)
		}
		n, _, err := conn.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.Tick(now)
			} else if ctx.Err() == nil {
				return fmt.Errorf("sniffer: reading from %s: %w", ifi.Name, err)
			}
		} else {
			s.Packet(layers.LinkTypeEthernet, buf[:n], gopacket.CaptureInfo{Timestamp: now, CaptureLength: n, Length: n})
		}
		if now.Sub(lastStats) >= 5*time.Second {
			lastStats = now
			if st, err := conn.Stats(); err == nil {
				s.count(func(x *Stats) { x.KernelPackets += uint64(st.Packets); x.KernelDrops += uint64(st.Drops) })
			}
		}
	}
	if st, err := conn.Stats(); err == nil {
		s.count(func(x *Stats) { x.KernelPackets += uint64(st.Packets); x.KernelDrops += uint64(st.Drops) })
	}
	st := s.Stats()
	s.cfg.Log.Info("capture stopped", "iface", ifi.Name, "packets", st.Packets, "kernel_drops", st.KernelDrops, "events", sortedKinds(st.Events))
	return nil
}
