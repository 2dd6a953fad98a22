package ipplan

import (
	"net/netip"
	"testing"
)

// FuzzCoveringPrefix checks that the prefix covers every address and is minimal: one
// bit longer would split the lowest and highest address.
func FuzzCoveringPrefix(f *testing.F) {
	f.Add([]byte{192, 168, 1, 10, 192, 168, 1, 13}, false)
	f.Add([]byte{10, 0, 0, 255, 10, 0, 1, 0, 10, 0, 0, 7}, false)
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255}, false)
	f.Add([]byte("0123456789abcdef0123456789abcdeg"), true)
	f.Fuzz(func(t *testing.T, data []byte, v6 bool) {
		size := 4
		if v6 {
			size = 16
		}
		var ips []netip.Addr
		for len(data) >= size && len(ips) < 64 {
			a, _ := netip.AddrFromSlice(data[:size])
			ips = append(ips, a.Unmap())
			data = data[size:]
		}
		p, err := CoveringPrefix(ips)
		if len(ips) == 0 {
			if err == nil {
				t.Fatal("no error for no addresses")
			}
			return
		}
		if err != nil {
			// ::ffff:a.b.c.d from 16 bytes unmaps to IPv4 and may mix families.
			return
		}
		if p != p.Masked() {
			t.Fatalf("%s is not masked", p)
		}
		lo, hi := ips[0], ips[0]
		for _, ip := range ips {
			if !p.Contains(ip) {
				t.Fatalf("%s does not contain %s", p, ip)
			}
			if ip.Less(lo) {
				lo = ip
			}
			if hi.Less(ip) {
				hi = ip
			}
		}
		if p.Bits() < lo.BitLen() {
			longer, _ := lo.Prefix(p.Bits() + 1)
			if longer.Contains(hi) {
				t.Fatalf("%s is not minimal: %s covers %s..%s", p, longer, lo, hi)
			}
		}
	})
}

// FuzzAllocate checks Allocate's invariants on arbitrary small IPv4 plans.
func FuzzAllocate(f *testing.F) {
	f.Add([]byte{192, 168, 1, 0}, uint8(24), uint8(1), uint8(3), uint8(100), uint8(5), []byte{101, 103}, uint8(7))
	f.Add([]byte{10, 0, 0, 0}, uint8(30), uint8(1), uint8(2), uint8(0), uint8(2), []byte{}, uint8(0))
	f.Add([]byte{10, 0, 0, 0}, uint8(31), uint8(0), uint8(0), uint8(0), uint8(2), []byte{1}, uint8(0))
	f.Fuzz(func(t *testing.T, base []byte, bitsN, gw, host, start, n uint8, reserved []byte, inUseMod uint8) {
		if len(base) != 4 {
			return
		}
		bits := 20 + int(bitsN)%13 // /20../32
		a, _ := netip.AddrFromSlice(base)
		subnet := netip.PrefixFrom(a, bits).Masked()
		at := func(last byte) netip.Addr {
			b := subnet.Addr().As4()
			b[3] = b[3]&^hostMask(bits, 3) | last&hostMask(bits, 3)
			return netip.AddrFrom4(b)
		}
		p := Plan{Subnet: subnet, Gateway: at(gw), Host: at(host)}
		if start != 0 {
			p.Start = at(start)
		}
		for _, r := range reserved {
			p.Reserved = append(p.Reserved, at(r))
		}
		if inUseMod > 1 {
			p.InUse = func(x netip.Addr) bool { return int(x.As4()[3])%int(inUseMod) == 0 }
		}
		got, err := p.Allocate(int(n % 32))
		if err != nil {
			return
		}
		if len(got) != int(n%32) {
			t.Fatalf("got %d addresses, want %d", len(got), n%32)
		}
		for i, ip := range got {
			if err := p.CheckExplicit(ip); err != nil {
				t.Fatalf("allocated %s: %v", ip, err)
			}
			if i > 0 && !got[i-1].Less(ip) {
				t.Fatalf("not ascending: %v", got)
			}
			if p.Start.IsValid() && ip.Less(p.Start) {
				t.Fatalf("%s is before start %s", ip, p.Start)
			}
			for _, r := range p.Reserved {
				if ip == r {
					t.Fatalf("allocated reserved %s", ip)
				}
			}
			if p.InUse != nil && p.InUse(ip) {
				t.Fatalf("allocated in-use %s", ip)
			}
		}
	})
}
