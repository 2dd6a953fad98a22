package snmp

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// entry is one object instance of the persona MIB. Its value is computed when read,
// so sysUpTime and the interface counters move like a live machine's.
type entry struct {
	oid []uint32
	val func(now time.Time) (gosnmp.Asn1BER, any)
}

// mib is the persona's MIB view, sorted by OID for GETNEXT.
type mib struct {
	entries []entry
}

func oidString(o []uint32) string {
	var b strings.Builder
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

func mustOID(s string) []uint32 {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func join(base []uint32, arcs ...uint32) []uint32 {
	return append(append([]uint32(nil), base...), arcs...)
}

func constant(t gosnmp.Asn1BER, v any) func(time.Time) (gosnmp.Asn1BER, any) {
	return func(time.Time) (gosnmp.Asn1BER, any) { return t, v }
}

// buildMIB lays out the persona's objects: system, interfaces, ipAddrTable,
// hrSystem and (for v3 agents) snmpEngine.
func buildMIB(p *persona) *mib {
	m := &mib{}
	add := func(o []uint32, f func(time.Time) (gosnmp.Asn1BER, any)) {
		m.entries = append(m.entries, entry{oid: o, val: f})
	}
	sys := mustOID("1.3.6.1.2.1.1")
	add(join(sys, 1, 0), constant(gosnmp.OctetString, p.descr))
	add(join(sys, 2, 0), constant(gosnmp.ObjectIdentifier, "."+p.objectID))
	add(join(sys, 3, 0), func(now time.Time) (gosnmp.Asn1BER, any) { return gosnmp.TimeTicks, p.uptime(now) })
	add(join(sys, 4, 0), constant(gosnmp.OctetString, p.contact))
	add(join(sys, 5, 0), constant(gosnmp.OctetString, p.name))
	add(join(sys, 6, 0), constant(gosnmp.OctetString, p.location))
	services := 72 // applications + end-to-end (a host)
	switch p.family {
	case "windows":
		services = 76
	case "cisco":
		services = 6
	}
	add(join(sys, 7, 0), constant(gosnmp.Integer, services))
	add(join(sys, 8, 0), constant(gosnmp.TimeTicks, uint32(2+p.boots%7)))

	ifs := mustOID("1.3.6.1.2.1.2")
	add(join(ifs, 1, 0), constant(gosnmp.Integer, len(p.ifaces)))
	for i := range p.ifaces {
		f := p.ifaces[i]
		idx := uint32(i + 1)
		col := func(c uint32, fn func(time.Time) (gosnmp.Asn1BER, any)) { add(join(ifs, 2, 1, c, idx), fn) }
		// counter is a Counter32 growing at rate bytes per second of uptime, scaled.
		counter := func(num, den uint64) func(now time.Time) (gosnmp.Asn1BER, any) {
			return func(now time.Time) (gosnmp.Asn1BER, any) {
				secs := uint64(now.Sub(p.boot) / time.Second)
				return gosnmp.Counter32, uint32(secs * uint64(f.inRate) * num / den)
			}
		}
		col(1, constant(gosnmp.Integer, int(idx)))
		col(2, constant(gosnmp.OctetString, f.descr))
		col(3, constant(gosnmp.Integer, f.typ))
		col(4, constant(gosnmp.Integer, f.mtu))
		col(5, constant(gosnmp.Gauge32, f.speed))
		col(6, constant(gosnmp.OctetString, append([]byte{}, f.mac...)))
		col(7, constant(gosnmp.Integer, 1))
		col(8, constant(gosnmp.Integer, 1))
		col(9, constant(gosnmp.TimeTicks, uint32(0)))
		col(10, counter(1, 1))     // ifInOctets
		col(11, counter(1, 610))   // ifInUcastPkts
		col(12, counter(1, 52000)) // ifInNUcastPkts
		col(13, constant(gosnmp.Counter32, uint32(0)))
		col(14, constant(gosnmp.Counter32, uint32(0)))
		col(15, constant(gosnmp.Counter32, uint32(0)))
		col(16, counter(5, 8))     // ifOutOctets
		col(17, counter(5, 8*430)) // ifOutUcastPkts
		col(18, constant(gosnmp.Counter32, uint32(0)))
		col(19, constant(gosnmp.Counter32, uint32(0)))
		col(20, constant(gosnmp.Counter32, uint32(0)))
		col(21, constant(gosnmp.Gauge32, uint32(0)))
		col(22, constant(gosnmp.ObjectIdentifier, ".0.0"))
	}

	// ipAddrTable: loopback on the first interface, the decky's address on the
	// first one with a MAC.
	type addr struct {
		ip, mask [4]byte
		ifIndex  int
	}
	var addrs []addr
	for i, f := range p.ifaces {
		if f.typ == 24 {
			addrs = append(addrs, addr{[4]byte{127, 0, 0, 1}, [4]byte{255, 0, 0, 0}, i + 1})
		}
	}
	if p.ip.Is4() {
		for i, f := range p.ifaces {
			if len(f.mac) == 6 {
				addrs = append(addrs, addr{p.ip.As4(), [4]byte{255, 255, 255, 0}, i + 1})
				break
			}
		}
	}
	ipa := mustOID("1.3.6.1.2.1.4.20.1")
	for _, a := range addrs {
		idx := []uint32{uint32(a.ip[0]), uint32(a.ip[1]), uint32(a.ip[2]), uint32(a.ip[3])}
		col := func(c uint32, fn func(time.Time) (gosnmp.Asn1BER, any)) {
			add(append(join(ipa, c), idx...), fn)
		}
		col(1, constant(gosnmp.IPAddress, append([]byte{}, a.ip[:]...)))
		col(2, constant(gosnmp.Integer, a.ifIndex))
		col(3, constant(gosnmp.IPAddress, append([]byte{}, a.mask[:]...)))
		col(4, constant(gosnmp.Integer, 1))
		col(5, constant(gosnmp.Integer, 65535))
	}

	if p.family != "cisco" {
		hr := mustOID("1.3.6.1.2.1.25.1")
		add(join(hr, 1, 0), func(now time.Time) (gosnmp.Asn1BER, any) { return gosnmp.TimeTicks, p.uptime(now) + 417 })
		add(join(hr, 2, 0), func(now time.Time) (gosnmp.Asn1BER, any) { return gosnmp.OctetString, dateAndTime(now) })
		add(join(hr, 3, 0), constant(gosnmp.Integer, 393216))
		if p.cmdline != "" {
			add(join(hr, 4, 0), constant(gosnmp.OctetString, p.cmdline))
		}
		add(join(hr, 5, 0), constant(gosnmp.Gauge32, uint32(1)))
		add(join(hr, 6, 0), func(now time.Time) (gosnmp.Asn1BER, any) {
			return gosnmp.Gauge32, p.processes + uint32(now.Unix()/97%5)
		})
		add(join(hr, 7, 0), constant(gosnmp.Integer, 0))
	}

	if p.v3 {
		eng := mustOID("1.3.6.1.6.3.10.2.1")
		add(join(eng, 1, 0), constant(gosnmp.OctetString, append([]byte{}, p.engineID...)))
		add(join(eng, 2, 0), constant(gosnmp.Integer, int(p.boots)))
		add(join(eng, 3, 0), func(now time.Time) (gosnmp.Asn1BER, any) { return gosnmp.Integer, int(p.engineTime(now)) })
		add(join(eng, 4, 0), constant(gosnmp.Integer, 1500))
	}
	slices.SortFunc(m.entries, func(a, b entry) int { return slices.Compare(a.oid, b.oid) })
	return m
}

// dateAndTime encodes t as SNMPv2-TC DateAndTime (UTC, with the direction octets).
func dateAndTime(t time.Time) []byte {
	t = t.UTC()
	b := binary.BigEndian.AppendUint16(nil, uint16(t.Year()))
	return append(b, byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(t.Nanosecond()/100000000), '+', 0, 0)
}

// get returns the entry at exactly oid.
func (m *mib) get(oid []uint32) (entry, bool) {
	i, ok := slices.BinarySearchFunc(m.entries, oid, func(e entry, o []uint32) int { return slices.Compare(e.oid, o) })
	if !ok {
		return entry{}, false
	}
	return m.entries[i], true
}

// next returns the first entry after oid in lexicographic order.
func (m *mib) next(oid []uint32) (entry, bool) {
	i, ok := slices.BinarySearchFunc(m.entries, oid, func(e entry, o []uint32) int { return slices.Compare(e.oid, o) })
	if ok {
		i++
	}
	if i >= len(m.entries) {
		return entry{}, false
	}
	return m.entries[i], true
}

// hasObject reports whether oid names an instance of an object the MIB has (its
// parent is the parent of some entry): a GET of it gets noSuchInstance rather than
// noSuchObject.
func (m *mib) hasObject(oid []uint32) bool {
	if len(oid) < 2 {
		return false
	}
	parent := oid[:len(oid)-1]
	e, ok := m.next(parent)
	return ok && len(e.oid) > len(parent) && slices.Equal(e.oid[:len(parent)], parent)
}
