package llmnr

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Multicast groups.
var (
	llmnrGroup4 = netip.MustParseAddr("224.0.0.252")
	llmnrGroup6 = netip.MustParseAddr("ff02::1:3")
	mdnsGroup4  = netip.MustParseAddr("224.0.0.251")
	mdnsGroup6  = netip.MustParseAddr("ff02::fb")
)

// TTLs real responders use: Windows answers LLMNR with 30 s; mDNS host records live
// 120 s, legacy unicast answers at most 10 s (RFC 6762 6.7).
const (
	llmnrTTL        = 30
	mdnsTTL         = 120
	mdnsLegacyTTL   = 10
	maxQuestionsLog = 8
	// maxQuestionsAnswered bounds the questions of one mDNS query that get answers,
	// and maxReply the reply (mDNS allows up to 9000 bytes, RFC 6762 17).
	maxQuestionsAnswered = 16
	maxReply             = 9000
)

// responder is the resolved persona.
type responder struct {
	name    string     // the decky's host label, e.g. DESKTOP-7K2QJ9A
	ip      netip.Addr // its address (invalid: unknown, never answer)
	respond string
	dnssd   map[string][]mdns.RR // DNS-SD records (mDNS), by lower-case owner name
}

func newResponder(rt *service.Runtime) *responder {
	r := &responder{name: shortName(rt.Config.Hostname, rt.Config.Decky), respond: rt.Persona(KeyRespond)}
	if r.respond == "" {
		r.respond = RespondSelf
	}
	if ip, err := netip.ParseAddr(rt.Config.IP); err == nil {
		r.ip = ip.Unmap()
	}
	if !isWindows(rt.Distro) && r.respond != RespondSilent {
		r.dnssd = dnssdRecords(r.name, rt.Config.Services)
	}
	return r
}

func run(ctx context.Context, rt *service.Runtime) error {
	r := newResponder(rt)
	// A deployed decky (no bind override) listens on every address and joins the
	// multicast groups on sockets of its own; a test binds loopback through the
	// runtime and must not put IGMP on the host's LAN.
	_, customLLMNR := rt.Bind[PortLLMNR]
	_, customMDNS := rt.Bind[PortMDNS]
	wildcard := !customLLMNR && !customMDNS
	serve := func(port int, proto string) error {
		if wildcard {
			return serveLinkLocal(ctx, rt, port, func(data []byte, peer netip.AddrPort, reply func([]byte) error) {
				r.handle(rt, data, peer, reply, proto)
			})
		}
		return rt.ServeUDP(ctx, port, func(ctx context.Context, p *service.Packet) { r.handle(rt, p.Data, p.Peer, p.Reply, proto) })
	}
	errc := make(chan error, 3)
	go func() { errc <- serve(PortLLMNR, "llmnr") }()
	go func() { errc <- serve(PortMDNS, "mdns") }()
	go func() { errc <- bait(ctx, rt, wildcard) }()
	var first error
	for i := 0; i < 3; i++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// handle records one datagram and answers it when the persona says so.
func (r *responder) handle(rt *service.Runtime, data []byte, peer netip.AddrPort, reply func([]byte) error, proto string) {
	q := new(mdns.Msg)
	if err := q.Unpack(data); err != nil {
		raw := data
		if len(raw) > 512 {
			raw = raw[:512]
		}
		rt.Emit(event.Error, peer, map[string]string{"protocol": proto, "error": service.Printable(err.Error(), 256), "data_b64": b64(raw)}, "")
		return
	}
	if q.Response {
		// Other hosts' answers and announcements (mDNS chatter) are not queries.
		return
	}
	f := map[string]string{"protocol": proto, "transport": "udp", "query_id": strconv.Itoa(int(q.Id))}
	if q.Opcode != mdns.OpcodeQuery {
		f["opcode"] = strconv.Itoa(q.Opcode)
	}
	if len(q.Question) > 0 {
		qq := q.Question[0]
		f["query_name"] = qq.Name // presentation form: printable, escaped by miekg/dns
		f["query_type"] = typeName(qq.Qtype)
		f["query_class"] = className(qq.Qclass &^ 0x8000)
		if proto == "mdns" && qq.Qclass&0x8000 != 0 {
			f["unicast_response"] = "true" // the QU bit
		}
	}
	if len(q.Question) > 1 {
		f["questions"] = strconv.Itoa(len(q.Question))
		names := make([]string, 0, maxQuestionsLog)
		for i, qq := range q.Question {
			if i == maxQuestionsLog {
				break
			}
			names = append(names, qq.Name+"/"+typeName(qq.Qtype))
		}
		f["query_names"] = strings.Join(names, ",")
	}
	resp := r.answer(q, proto, peer.Port())
	if resp != nil {
		f["answered"] = "true"
		f["answer"] = r.ip.String()
	} else {
		f["answered"] = "false"
	}
	rt.Emit(event.Request, peer, f, "")
	if resp != nil {
		if b, err := resp.Pack(); err == nil {
			_ = reply(b)
		}
	}
}

// answer returns the reply to q, or nil to stay silent (LLMNR and mDNS responders
// never send negative answers for names they do not own).
func (r *responder) answer(q *mdns.Msg, proto string, srcPort uint16) *mdns.Msg {
	if r.respond == RespondSilent || !r.ip.IsValid() || q.Opcode != mdns.OpcodeQuery || len(q.Question) == 0 {
		return nil
	}
	if proto == "llmnr" && len(q.Question) != 1 {
		return nil // RFC 4795 2.1.1: responders discard queries with QDCOUNT other than one
	}
	var answers, extra []mdns.RR
	for i, qq := range q.Question {
		if i == maxQuestionsAnswered {
			break
		}
		if proto == "mdns" && r.dnssd != nil {
			if rrs, ok := r.dnssd[strings.ToLower(qq.Name)]; ok {
				for _, rr := range rrs {
					if qq.Qtype == mdns.TypeANY || rr.Header().Rrtype == qq.Qtype {
						answers = append(answers, r.mdnsRR(rr, qq.Name, srcPort))
						extra = append(extra, r.additional(rr, srcPort)...)
					}
				}
				continue
			}
		}
		if !r.owns(qq.Name, proto) {
			continue
		}
		t := qq.Qtype
		if !(t == mdns.TypeANY || t == mdns.TypeA && r.ip.Is4() || t == mdns.TypeAAAA && r.ip.Is6()) {
			continue
		}
		hdr := mdns.RR_Header{Name: qq.Name, Class: mdns.ClassINET, Ttl: llmnrTTL}
		if proto == "mdns" {
			hdr.Ttl = mdnsTTL
			if srcPort != PortMDNS {
				hdr.Ttl = mdnsLegacyTTL
			} else {
				hdr.Class |= 0x8000 // cache-flush: the decky's name is unique
			}
		}
		if r.ip.Is4() {
			hdr.Rrtype = mdns.TypeA
			answers = append(answers, &mdns.A{Hdr: hdr, A: r.ip.AsSlice()})
		} else {
			hdr.Rrtype = mdns.TypeAAAA
			answers = append(answers, &mdns.AAAA{Hdr: hdr, AAAA: r.ip.AsSlice()})
		}
	}
	if len(answers) == 0 {
		return nil
	}
	m := new(mdns.Msg)
	m.Response = true
	m.Answer = answers
	m.Extra = extra
	defer m.Truncate(maxReply)
	switch {
	case proto == "llmnr":
		m.Id = q.Id
		m.Question = q.Question
	case srcPort != PortMDNS:
		// Legacy unicast (a resolver like dig, RFC 6762 6.7): ID and question echoed.
		m.Id = q.Id
		m.Question = q.Question
		m.Authoritative = true
	default:
		m.Authoritative = true // a multicast-style mDNS response: ID 0, no question
	}
	return m
}

// owns says whether the decky answers for name: its own host label (LLMNR) or
// label.local (mDNS), case-insensitively; every name in "all" mode.
func (r *responder) owns(name, proto string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	if r.respond == RespondAll {
		return n != "" && (proto == "llmnr" || strings.HasSuffix(n, ".local"))
	}
	own := strings.ToLower(r.name)
	if proto == "mdns" {
		own += ".local"
	}
	return n == own
}

// baitNames are the default bait names: wpad (the name every poisoner answers) and
// two file-server-like names chosen per decky, with a two-digit suffix, so deckies
// do not all ask the same and a real host is unlikely to own one (a real owner's
// answer would be an alert naming it: set bait_names then).
func baitNames(decky string) []string {
	pool := []string{"fileserv", "fs", "nas", "backup", "print", "sharepoint", "intranet", "sqlbackup", "scan", "files", "archive", "deploy"}
	h := sha256.Sum256([]byte("llmnr-bait/" + decky))
	a := int(h[0]) % len(pool)
	b := (a + 1 + int(h[1])%(len(pool)-1)) % len(pool)
	return []string{"wpad", fmt.Sprintf("%s%02d", pool[a], 10+int(h[2])%80), fmt.Sprintf("%s%02d", pool[b], 10+int(h[3])%80)}
}

// bait asks for names that exist nowhere, every interval with jitter; any answer is a
// poisoner. It runs until ctx ends. With no interval (or, under a test bind, no
// explicit unicast target) it does nothing.
func bait(ctx context.Context, rt *service.Runtime, wildcard bool) error {
	interval := rt.PersonaInt(KeyBaitInterval, -1)
	if interval < 0 {
		interval = 0
		if isWindows(rt.Distro) {
			interval = 900
		}
	}
	targetS := rt.Persona(KeyBaitTarget)
	if interval == 0 || (!wildcard && targetS == "") {
		<-ctx.Done()
		return nil
	}
	target := netip.AddrPortFrom(llmnrGroup4, PortLLMNR)
	if targetS != "" {
		target, _ = netip.ParseAddrPort(targetS)
	}
	names := rt.PersonaList(KeyBaitNames)
	if len(names) == 0 {
		names = baitNames(rt.Config.Decky)
	}
	netw := "udp4"
	if target.Addr().Is6() {
		netw = "udp6"
	}
	laddr := ":0"
	if !wildcard {
		laddr = "127.0.0.1:0"
		if target.Addr().Is6() {
			laddr = "[::1]:0"
		}
	}
	conn, err := net.ListenPacket(netw, laddr)
	if err != nil {
		rt.Log.Warn("llmnr: bait queries off: cannot open a socket", "err", err)
		<-ctx.Done()
		return nil
	}
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	uc := conn.(*net.UDPConn)
	if target.Addr().IsMulticast() && target.Addr().Is4() {
		// LLMNR queries go out with TTL 1 (RFC 4795 2.5), as Windows sends them, and
		// not looped back: the decky's own listener must not see (or answer) its bait.
		if err := setMulticastOpts(uc, 1); err != nil {
			rt.Log.Warn("llmnr: cannot set multicast options on the bait socket", "err", err)
		}
	}
	asked := &pending{names: map[uint16]string{}}
	self, _ := netip.ParseAddr(rt.Config.IP)
	go readBaitAnswers(ctx, rt, uc, asked, self.Unmap())
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	i := 0
	for {
		// The first bait goes out after a short random delay, not at start-up.
		d := time.Duration(float64(interval)*(0.8+0.4*rng.Float64())) * time.Second
		if i == 0 {
			d = time.Duration(1+rng.IntN(min(interval, 30))) * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
		name := names[i%len(names)]
		i++
		q := new(mdns.Msg)
		q.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		q.RecursionDesired = false
		q.Id = uint16(rng.Uint32())
		b, err := q.Pack()
		if err != nil {
			continue
		}
		asked.add(q.Id, name)
		_, _ = uc.WriteToUDPAddrPort(b, target)
	}
}

// readBaitAnswers raises an alert for every answer to a bait query.
func readBaitAnswers(ctx context.Context, rt *service.Runtime, uc *net.UDPConn, asked *pending, self netip.Addr) {
	buf := make([]byte, 9000)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m := new(mdns.Msg)
		peer := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if m.Unpack(buf[:n]) != nil || !m.Response || peer.Addr() == self {
			continue // not an answer, or the decky's own (never expected: loopback is off)
		}
		name, ok := asked.get(m.Id)
		if !ok {
			continue
		}
		var addrs []string
		for _, rr := range m.Answer {
			switch a := rr.(type) {
			case *mdns.A:
				addrs = append(addrs, a.A.String())
			case *mdns.AAAA:
				addrs = append(addrs, a.AAAA.String())
			}
		}
		rt.Emit(event.Alert, peer, map[string]string{
			"alert":      "name_poisoning",
			"protocol":   "llmnr",
			"bait_name":  name,
			"answer":     strings.Join(addrs, ","),
			"answers":    strconv.Itoa(len(m.Answer)),
			"query_name": mdns.Fqdn(name),
		}, "")
	}
}

func typeName(t uint16) string {
	if n, ok := mdns.TypeToString[t]; ok {
		return n
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func className(c uint16) string {
	if n, ok := mdns.ClassToString[c]; ok {
		return n
	}
	return "CLASS" + strconv.Itoa(int(c))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// setMulticastOpts sets IP_MULTICAST_TTL and turns IP_MULTICAST_LOOP off on a UDP socket.
func setMulticastOpts(uc *net.UDPConn, ttl int) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0)
		}
	}); err != nil {
		return err
	}
	return serr
}

// pending remembers the bait queries in flight by ID.
type pending struct {
	mu    sync.Mutex
	names map[uint16]string
}

func (p *pending) add(id uint16, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.names) >= 64 {
		clear(p.names)
	}
	p.names[id] = name
}

func (p *pending) get(id uint16) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.names[id]
	return n, ok
}
