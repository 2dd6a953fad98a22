package sniffer

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/gopacket/layers"

	"decnet/internal/event"
)

// Scan detection: a source that, within scanWindow from its first SYN, probes at
// least scanPorts distinct ports of one decky, or one port on at least scanDeckies
// deckies, without sending application data on them, is reported once per window.
const (
	scanWindow         = 60 * time.Second
	scanPorts          = 10
	scanDeckies        = 3
	synDedup           = time.Minute // one tcp_syn per (src, dst, signature) per minute
	maxProbesPerSource = 4096
	maxListedPorts     = 64
	maxListedDeckies   = 16
)

type synKey struct {
	src, dst netip.Addr
	sig      string
}

type probeKey struct {
	dst  netip.Addr
	port uint16
}

type probe struct {
	completed bool // the source acknowledged the SYN-ACK (a full handshake)
	data      bool // the source sent payload: it talked, not probed
}

type scanState struct {
	start, last time.Time
	probes      map[probeKey]*probe
}

// synTracker holds the bounded state behind tcp_syn deduplication and scan
// detection.
type synTracker struct {
	max     int
	seen    map[synKey]time.Time
	sources map[netip.Addr]*scanState
}

func newSYNTracker(max int) *synTracker {
	return &synTracker{max: max, seen: map[synKey]time.Time{}, sources: map[netip.Addr]*scanState{}}
}

// synSignature renders the p0f-like features of a SYN.
func synSignature(pi *packetInfo) map[string]string {
	tcp := pi.tcp
	opts := make([]string, 0, len(tcp.Options))
	f := map[string]string{
		"ttl":        strconv.Itoa(int(pi.ttl)),
		"window":     strconv.Itoa(int(tcp.Window)),
		"ip_len":     strconv.Itoa(pi.ipLen),
		"dst_port":   strconv.Itoa(int(tcp.DstPort)),
		"df":         "0",
		"ip_version": "4",
	}
	if pi.df {
		f["df"] = "1"
	}
	if pi.ipv6 {
		f["ip_version"] = "6"
	}
	for _, o := range tcp.Options {
		switch o.OptionType {
		case layers.TCPOptionKindEndList:
			opts = append(opts, "eol")
		case layers.TCPOptionKindNop:
			opts = append(opts, "nop")
		case layers.TCPOptionKindMSS:
			opts = append(opts, "mss")
			if len(o.OptionData) == 2 {
				f["mss"] = strconv.Itoa(int(binary.BigEndian.Uint16(o.OptionData)))
			}
		case layers.TCPOptionKindWindowScale:
			opts = append(opts, "ws")
			if len(o.OptionData) == 1 {
				f["wscale"] = strconv.Itoa(int(o.OptionData[0]))
			}
		case layers.TCPOptionKindSACKPermitted:
			opts = append(opts, "sok")
		case layers.TCPOptionKindSACK:
			opts = append(opts, "sack")
		case layers.TCPOptionKindTimestamps:
			opts = append(opts, "ts")
		default:
			opts = append(opts, "?"+strconv.Itoa(int(o.OptionType)))
		}
	}
	f["options"] = strings.Join(opts, ",")
	return f
}

// syn handles a client SYN: the tcp_syn event (deduplicated) and scan accounting.
func (t *synTracker) syn(s *Sniffer, pi *packetInfo) {
	fields := synSignature(pi)
	key := synKey{pi.src, pi.dst, fields["ttl"] + "|" + fields["window"] + "|" + fields["options"] + "|" + fields["mss"] + "|" + fields["wscale"] + "|" + fields["df"] + "|" + fields["ip_len"]}
	if at, ok := t.seen[key]; !ok || pi.ts.Sub(at) >= synDedup || pi.ts.Before(at) {
		if !ok && len(t.seen) >= t.max {
			t.expireSeen(pi.ts)
		}
		if ok || len(t.seen) < t.max {
			t.seen[key] = pi.ts
			s.emit(pi.ts, pi.dst, pi.src, int(pi.tcp.SrcPort), event.Fingerprint, KindTCPSYN, fields)
		}
	}

	st := t.sources[pi.src]
	if st != nil && pi.ts.Sub(st.start) >= scanWindow {
		t.report(s, pi.src, st)
		delete(t.sources, pi.src)
		st = nil
	}
	if st == nil {
		if len(t.sources) >= t.max {
			t.flush(s, false)
			if len(t.sources) >= t.max {
				return
			}
		}
		st = &scanState{start: pi.ts, probes: map[probeKey]*probe{}}
		t.sources[pi.src] = st
	}
	st.last = pi.ts
	k := probeKey{pi.dst, uint16(pi.tcp.DstPort)}
	if st.probes[k] == nil && len(st.probes) < maxProbesPerSource {
		st.probes[k] = &probe{}
	}
}

func (t *synTracker) expireSeen(now time.Time) {
	for k, at := range t.seen {
		if now.Sub(at) >= synDedup {
			delete(t.seen, k)
		}
	}
}

// clientPacket records that a probed source completed a handshake or sent data.
func (t *synTracker) clientPacket(pi *packetInfo, data bool) {
	st := t.sources[pi.src]
	if st == nil {
		return
	}
	p := st.probes[probeKey{pi.dst, uint16(pi.tcp.DstPort)}]
	if p == nil {
		return
	}
	if pi.tcp.ACK && !pi.tcp.RST {
		p.completed = true
	}
	if data {
		p.data = true
	}
}

// flush reports and forgets the sources whose window has ended (all of them with
// all), and forgets expired tcp_syn dedup entries.
func (t *synTracker) flush(s *Sniffer, all bool) {
	for src, st := range t.sources {
		if all || s.now.Sub(st.start) >= scanWindow {
			t.report(s, src, st)
			delete(t.sources, src)
		}
	}
	if all {
		clear(t.seen)
	} else {
		t.expireSeen(s.now)
	}
}

// report emits a scan event for one source's window when it crossed a threshold.
func (t *synTracker) report(s *Sniffer, src netip.Addr, st *scanState) {
	portsOf := map[netip.Addr]map[uint16]bool{}
	deckiesOf := map[uint16]map[netip.Addr]bool{}
	completed := false
	for k, p := range st.probes {
		if p.data {
			continue
		}
		if p.completed {
			completed = true
		}
		if portsOf[k.dst] == nil {
			portsOf[k.dst] = map[uint16]bool{}
		}
		portsOf[k.dst][k.port] = true
		if deckiesOf[k.port] == nil {
			deckiesOf[k.port] = map[netip.Addr]bool{}
		}
		deckiesOf[k.port][k.dst] = true
	}
	var top netip.Addr
	hit := false
	for d, ps := range portsOf {
		if len(ps) >= scanPorts {
			hit = true
		}
		if !top.IsValid() || len(ps) > len(portsOf[top]) || len(ps) == len(portsOf[top]) && d.Less(top) {
			top = d
		}
	}
	for _, ds := range deckiesOf {
		if len(ds) >= scanDeckies {
			hit = true
		}
	}
	if !hit {
		return
	}
	ports := make([]int, 0, len(deckiesOf))
	for p := range deckiesOf {
		ports = append(ports, int(p))
	}
	slices.Sort(ports)
	listed := ports[:min(len(ports), maxListedPorts)]
	ps := make([]string, len(listed))
	for i, p := range listed {
		ps[i] = strconv.Itoa(p)
	}
	deckies := make([]netip.Addr, 0, len(portsOf))
	for d := range portsOf {
		deckies = append(deckies, d)
	}
	slices.SortFunc(deckies, func(a, b netip.Addr) int { return a.Compare(b) })
	names := make([]string, 0, min(len(deckies), maxListedDeckies))
	for _, d := range deckies[:min(len(deckies), maxListedDeckies)] {
		n, _ := s.deckyName(d)
		names = append(names, n)
	}
	fields := map[string]string{
		"port_count":  strconv.Itoa(len(ports)),
		"ports":       strings.Join(ps, ","),
		"deckies":     strconv.Itoa(len(deckies)),
		"decky_names": strings.Join(names, ","),
		"syn_only":    strconv.FormatBool(!completed),
		"window_s":    strconv.Itoa(int(math.Round(st.last.Sub(st.start).Seconds()))),
	}
	s.emit(st.last, top, src, 0, event.Scan, "", fields)
}
