// Package sniffer owns DECNET's passive network fingerprinting: it reads TCP
// traffic from an AF_PACKET socket on the deckies' parent interface (pure Go, no
// libpcap, a BPF filter in the kernel) or from a pcap/pcapng file, reassembles the
// first bytes of each direction of every connection, and turns what it finds into
// `fingerprint` events (TLS ClientHello/ServerHello: JA3, JA3S, JA4, SNI, ALPN; SSH
// identification and KEXINIT: HASSH, HASSHServer; the SYN's TTL, window and options
// for passive OS guesses; the first HTTP request head) and `scan` events (a source
// probing many ports or deckies without talking). Events go to a sink, normally the
// sniffer's own spool directory, through the same event codec every producer uses.
//
// Everything an attacker sends is bounded: bytes kept per direction, out-of-order
// segments, connections tracked, bytes buffered in all, SYN and scan state, and the
// length of every string put in an event.
package sniffer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/uuid"

	"decnet/internal/event"
)

// Service is the service slug of every sniffer event.
const Service = "sniffer"

// Fingerprint kinds (the fp_kind field of fingerprint events).
const (
	KindTLSClient = "tls_client"
	KindTLSServer = "tls_server"
	KindSSHClient = "ssh_client"
	KindSSHServer = "ssh_server"
	KindTCPSYN    = "tcp_syn"
	KindHTTP      = "http"
)

// Limits bounds the sniffer's memory. Zero fields take the defaults.
type Limits struct {
	StreamBytes   int           // bytes kept from the start of each direction (default 16 KiB)
	MaxFlows      int           // connections tracked at once (default 65536)
	BufferedBytes int           // bytes buffered over all connections (default 64 MiB)
	FlowTimeout   time.Duration // a connection idle this long is forgotten (default 2 min)
	MaxSources    int           // SYN sources tracked for scan detection and SYN dedup (default 65536)
}

func (l Limits) withDefaults() Limits {
	if l.StreamBytes <= 0 {
		l.StreamBytes = 16 << 10
	}
	if l.MaxFlows <= 0 {
		l.MaxFlows = 65536
	}
	if l.BufferedBytes <= 0 {
		l.BufferedBytes = 64 << 20
	}
	if l.FlowTimeout <= 0 {
		l.FlowTimeout = 2 * time.Minute
	}
	if l.MaxSources <= 0 {
		l.MaxSources = 65536
	}
	return l
}

// Config configures a Sniffer.
type Config struct {
	// Iface is the interface to capture on (live mode). Exactly one of Iface and
	// ReadFile must be set.
	Iface string
	// ReadFile is a pcap or pcapng file to read instead (offline mode).
	ReadFile string
	// Deckies maps a decky's IP address to its name; events carry the name of the
	// decky that was the destination. An address not in the map is named by itself.
	Deckies map[netip.Addr]string
	// OnlyDeckies drops traffic whose server side is not a decky in Deckies
	// (live mode on a parent NIC that also carries the host's own traffic).
	OnlyDeckies bool
	// Filter, when valid, narrows the kernel filter to IPv4 packets to or from this
	// prefix (the fleet's IP range). IPv6 TCP is always captured.
	Filter netip.Prefix
	// Promiscuous puts the interface in promiscuous mode while capturing.
	Promiscuous bool
	// SpoolDir is where events go when Sink is nil: a spool the sniffer opens and
	// owns (one writer per directory).
	SpoolDir string
	// Sink, when set, receives every event instead of a spool. It is called from
	// the capture goroutine; an error stops the sniffer.
	Sink func(event.Event) error
	// Limits bounds memory (zero values: defaults).
	Limits Limits
	// Log receives progress and problems (nil: discarded).
	Log *slog.Logger
}

// Stats counts what a Sniffer has seen.
type Stats struct {
	Packets       uint64            `json:"packets"`        // frames read
	TCP           uint64            `json:"tcp"`            // frames with a usable TCP segment
	Flows         int               `json:"flows"`          // connections tracked (as of the last idle sweep, once a second)
	FlowsRefused  uint64            `json:"flows_refused"`  // connections not tracked: the table was full
	BytesRefused  uint64            `json:"bytes_refused"`  // payload not buffered: the byte budget was spent
	Events        map[string]uint64 `json:"events"`         // events emitted by fp_kind (and "scan")
	NotDecky      uint64            `json:"not_decky"`      // events dropped because no decky was involved (OnlyDeckies)
	KernelPackets uint64            `json:"kernel_packets"` // live: packets the kernel's filter passed
	KernelDrops   uint64            `json:"kernel_drops"`   // live: packets the kernel dropped (socket buffer full)
}

// Sniffer turns packets into fingerprint events. Feed it with Run (a capture or a
// file) or, for tests and tools, with Packet and Flush; it is not safe for
// concurrent use except Stats.
type Sniffer struct {
	cfg    Config
	lim    Limits
	sink   func(event.Event) error
	dec    *decoder
	flows  map[flowKey]*flow
	budget int
	syn    *synTracker
	now    time.Time // packet clock: the newest capture timestamp seen
	swept  time.Time // last idle sweep (packet clock)
	err    error     // first sink error

	mu    sync.Mutex
	stats Stats
}

// New returns a Sniffer for cfg. It does not open the capture or the spool (Run does).
func New(cfg Config) (*Sniffer, error) {
	if cfg.Iface != "" && cfg.ReadFile != "" {
		return nil, errors.New("sniffer: set an interface or a file to read, not both")
	}
	lim := cfg.Limits.withDefaults()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sniffer{
		cfg:    cfg,
		lim:    lim,
		sink:   cfg.Sink,
		dec:    newDecoder(),
		flows:  map[flowKey]*flow{},
		budget: lim.BufferedBytes,
		syn:    newSYNTracker(lim.MaxSources),
		stats:  Stats{Events: map[string]uint64{}},
	}
	return s, nil
}

// Stats returns a snapshot of the counters.
func (s *Sniffer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Events = make(map[string]uint64, len(s.stats.Events))
	for k, v := range s.stats.Events {
		st.Events[k] = v
	}
	return st
}

func (s *Sniffer) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Run captures (Iface) or reads (ReadFile) until the input ends or ctx is done,
// writing events to Sink or to a spool in SpoolDir. A file that ends is not an
// error; at its end every pending connection and scan is flushed.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Run is the method form of the package-level Run.
func (s *Sniffer) Run(ctx context.Context) error {
	if s.cfg.Iface == "" && s.cfg.ReadFile == "" {
		return errors.New("sniffer: no interface and no file to read")
	}
	if s.sink == nil {
		if s.cfg.SpoolDir == "" {
			return errors.New("sniffer: no spool directory and no sink for the events")
		}
		sink, closeSpool, err := SpoolSink(ctx, s.cfg.SpoolDir, s.cfg.Log)
		if err != nil {
			return err
		}
		s.sink = sink
		defer func() {
			if err := closeSpool(); err != nil {
				s.cfg.Log.Error("closing the sniffer spool failed", "err", err)
			}
		}()
	}
	var err error
	if s.cfg.ReadFile != "" {
		err = s.readFile(ctx, s.cfg.ReadFile)
	} else {
		err = s.capture(ctx)
	}
	if err == nil {
		err = s.err
	}
	return err
}

// Packet feeds one captured frame of the given link type to the sniffer.
func (s *Sniffer) Packet(link layers.LinkType, data []byte, ci gopacket.CaptureInfo) {
	if s.err != nil {
		return
	}
	var pi packetInfo
	ok := s.dec.decode(link, data, &pi)
	s.mu.Lock()
	s.stats.Packets++
	if ok {
		s.stats.TCP++
	}
	s.mu.Unlock()
	ts := ci.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	if ts.After(s.now) {
		s.now = ts
	}
	if !ok {
		s.maybeSweep()
		return
	}
	pi.ts = ts
	s.handle(&pi)
	s.maybeSweep()
}

// Flush reports everything still pending (partial SSH preambles with an
// identification line, scans in progress) and forgets every connection: the end
// of a file, or of a capture.
func (s *Sniffer) Flush() {
	for k, f := range s.flows {
		for i := range f.half {
			s.finishHalf(f, i)
		}
		delete(s.flows, k)
	}
	s.syn.flush(s, true)
	s.count(func(st *Stats) { st.Flows = 0 })
}

// Tick advances the packet clock to now when no packet has (a quiet live capture),
// so idle connections expire and finished scan windows are reported.
func (s *Sniffer) Tick(now time.Time) {
	if now.After(s.now) {
		s.now = now
	}
	s.maybeSweep()
}

func (s *Sniffer) maybeSweep() {
	if s.now.Sub(s.swept) < time.Second {
		return
	}
	s.swept = s.now
	s.sweep(s.now.Add(-s.lim.FlowTimeout))
	s.syn.flush(s, false)
}

// sweep forgets connections idle since before cutoff.
func (s *Sniffer) sweep(cutoff time.Time) {
	for k, f := range s.flows {
		if f.last.Before(cutoff) {
			for i := range f.half {
				s.finishHalf(f, i)
			}
			delete(s.flows, k)
		}
	}
	n := len(s.flows)
	s.count(func(st *Stats) { st.Flows = n })
}

// handle processes one decoded TCP segment.
func (s *Sniffer) handle(pi *packetInfo) {
	tcp := pi.tcp
	src := endpoint{pi.src, uint16(tcp.SrcPort)}
	dst := endpoint{pi.dst, uint16(tcp.DstPort)}
	if tcp.SYN && !tcp.ACK {
		s.syn.syn(s, pi)
	} else {
		s.syn.clientPacket(pi, len(tcp.Payload) > 0)
	}
	key, i := keyOf(src, dst)
	f := s.flows[key]
	if f != nil && tcp.SYN && !tcp.ACK && f.half[i].started && f.half[i].next != tcp.Seq+1 {
		// A new connection reusing the 4-tuple (a new ISN): forget the old one.
		for j := range f.half {
			s.finishHalf(f, j)
		}
		delete(s.flows, key)
		f = nil
	}
	if f == nil {
		if !tcp.SYN && len(tcp.Payload) == 0 {
			return // a bare ACK, FIN or RST of a connection we do not track
		}
		if tcp.RST {
			return
		}
		if len(s.flows) >= s.lim.MaxFlows {
			s.sweep(s.now.Add(-s.lim.FlowTimeout / 4))
			if len(s.flows) >= s.lim.MaxFlows {
				s.count(func(st *Stats) { st.FlowsRefused++ })
				return
			}
		}
		f = &flow{client: -1}
		f.ep[i], f.ep[1-i] = src, dst
		s.flows[key] = f
	}
	f.last = pi.ts
	h := &f.half[i]
	if tcp.SYN {
		if !tcp.ACK {
			f.client = int8(i)
		} else if f.client < 0 {
			f.client = int8(1 - i)
		}
		if !h.started || len(h.buf) == 0 && len(h.ooo) == 0 {
			h.started, h.next = true, tcp.Seq+1
		}
	}
	if len(tcp.Payload) > 0 && !h.done {
		seq := tcp.Seq
		if tcp.SYN {
			seq++ // TCP Fast Open data follows the SYN's sequence number
		}
		before := s.budget
		if h.add(seq, tcp.Payload, s.lim.StreamBytes, &s.budget) {
			s.parse(f, i, pi.ts)
		} else if s.budget < len(tcp.Payload) && before == s.budget {
			s.count(func(st *Stats) { st.BytesRefused += uint64(len(tcp.Payload)) })
		}
		if !h.done && len(h.buf) >= s.lim.StreamBytes {
			s.finishHalf(f, i) // the wanted prefix is full: nothing more will be read
		}
	}
	if tcp.FIN {
		h.fin = true
		if !h.done {
			s.finishHalf(f, i)
		}
	}
	if tcp.RST || f.half[0].fin && f.half[1].fin {
		for j := range f.half {
			s.finishHalf(f, j)
		}
		delete(s.flows, key)
	}
}

// server returns the index of the connection's server endpoint: the SYN's
// receiver, else the decky, else the lower port.
func (s *Sniffer) server(f *flow) int {
	if f.client >= 0 {
		return 1 - int(f.client)
	}
	_, d0 := s.cfg.Deckies[f.ep[0].addr]
	_, d1 := s.cfg.Deckies[f.ep[1].addr]
	switch {
	case d0 && !d1:
		return 0
	case d1 && !d0:
		return 1
	case f.ep[0].port < f.ep[1].port:
		return 0
	}
	return 1
}

// deckyName names the decky at addr.
func (s *Sniffer) deckyName(addr netip.Addr) (string, bool) {
	if n, ok := s.cfg.Deckies[addr]; ok {
		return n, true
	}
	return addr.String(), false
}

// emitFlow emits a fingerprint event of a connection: the attacker is the client
// endpoint, the decky the server endpoint.
func (s *Sniffer) emitFlow(f *flow, server int, kind string, ts time.Time, fields map[string]string) {
	srv, cli := f.ep[server], f.ep[1-server]
	fields["dst_port"] = strconv.Itoa(int(srv.port))
	s.emit(ts, srv.addr, cli.addr, int(cli.port), event.Fingerprint, kind, fields)
}

// emit builds and sends one event.
func (s *Sniffer) emit(ts time.Time, decky, attacker netip.Addr, attackerPort int, typ, kind string, fields map[string]string) {
	name, known := s.deckyName(decky)
	if !known && s.cfg.OnlyDeckies {
		s.count(func(st *Stats) { st.NotDecky++ })
		return
	}
	if kind != "" {
		fields["fp_kind"] = kind
	}
	e := event.Event{
		ID:           uuid.Must(uuid.NewV7()).String(),
		Time:         ts.UTC().Truncate(time.Microsecond),
		Decky:        name,
		Service:      Service,
		Type:         typ,
		AttackerIP:   attacker.Unmap().String(),
		AttackerPort: attackerPort,
		Fields:       fields,
	}
	label := kind
	if label == "" {
		label = typ
	}
	s.count(func(st *Stats) { st.Events[label]++ })
	if s.err != nil {
		return
	}
	if err := s.sink(e); err != nil {
		s.err = fmt.Errorf("sniffer: writing an event failed: %w", err)
	}
}
