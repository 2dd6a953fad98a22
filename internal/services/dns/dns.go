package dns

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"decnet/internal/event"
	"decnet/internal/service"
)

// SecretCookie is the decky's DNS server-cookie secret (hex, 16 bytes): stable so
// clients' cookies stay valid across restarts, as a real server's do.
const SecretCookie = "dns_cookie_secret"

// Secrets generates the decky's cookie secret at deploy time.
func Secrets(id service.Identity) (map[string]string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate dns cookie secret for %s: %w", id.Decky, err)
	}
	return map[string]string{SecretCookie: hex.EncodeToString(b)}, nil
}

// server is the resolved persona.
type server struct {
	zone      *zone
	version   string // "" hides version.bind
	recursion string
	allowAXFR bool
	nsid      string
	windows   bool
	cookieKey []byte
	udpSize   uint16 // EDNS buffer size advertised
}

func newServer(rt *service.Runtime) (*server, error) {
	s := &server{
		recursion: rt.Persona(KeyRecursion),
		allowAXFR: rt.PersonaBool(KeyAllowAXFR, false),
		nsid:      rt.Persona(KeyNSID),
		windows:   isWindows(rt.Distro),
		udpSize:   1232, // BIND 9.18's default edns-udp-size
	}
	if s.recursion == "" {
		s.recursion = RecursionRefuse
	}
	s.version = rt.Persona(KeyVersion)
	switch {
	case strings.EqualFold(s.version, "none"):
		s.version = ""
	case s.version == "":
		s.version = defaultVersion(rt.Distro)
	}
	if s.windows {
		s.udpSize = 4000 // Windows DNS advertises 4000
	}
	key, err := hex.DecodeString(rt.Secret(SecretCookie))
	if err != nil || len(key) < 16 {
		return nil, errors.New("dns cookie secret is missing from the service secrets (redeploy the decky to generate it)")
	}
	s.cookieKey = key
	domain := rt.Persona(KeyDomain)
	if domain == "" {
		domain = "corp.local"
	}
	ip, err := netip.ParseAddr(rt.Config.IP)
	if err != nil || !ip.Unmap().Is4() {
		ip = netip.AddrFrom4([4]byte{10, 0, 0, 10})
	}
	host := "ns1"
	if s.windows {
		h := rt.Config.Hostname
		if h == "" {
			h = rt.Config.Decky
		}
		short, _, _ := strings.Cut(h, ".")
		if service.CheckDomain(short) == nil {
			host = strings.ToLower(short)
		} else {
			host = "dc01"
		}
	}
	hosts := rt.PersonaList(KeyHosts)
	if len(hosts) == 0 {
		hosts = defaultHosts(s.windows)
	}
	s.zone = buildZone(zoneInput{domain: domain, host: host, ip: ip.Unmap(), hosts: hosts, windows: s.windows})
	return s, nil
}

func run(ctx context.Context, rt *service.Runtime) error {
	s, err := newServer(rt)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() {
		errc <- rt.ServeUDP(ctx, Port, func(ctx context.Context, p *service.Packet) {
			for _, out := range s.handle(p.Data, p.Peer, "udp", rt) {
				_ = p.Reply(out)
			}
		})
	}()
	go func() {
		errc <- rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
			s.serveTCP(c, rt)
		})
	}()
	err = <-errc
	if err != nil {
		return err
	}
	return <-errc
}

// maxTCPQueries bounds the queries one TCP connection may send.
const maxTCPQueries = 256

// serveTCP reads length-prefixed messages (RFC 1035 4.2.2) and answers each.
func (s *server) serveTCP(c *service.Conn, rt *service.Runtime) {
	var lb [2]byte
	buf := make([]byte, 0xffff)
	for i := 0; i < maxTCPQueries; i++ {
		if _, err := io.ReadFull(c, lb[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		outs := s.handle(buf[:n], c.Peer, "tcp", rt)
		if outs == nil {
			return // undecodable: BIND drops the connection
		}
		for _, out := range outs {
			framed := make([]byte, 2+len(out))
			binary.BigEndian.PutUint16(framed, uint16(len(out)))
			copy(framed[2:], out)
			if _, err := c.Write(framed); err != nil {
				return
			}
		}
	}
}

// handle answers one DNS message and records it. It returns the packed replies
// (several for a zone transfer), or nil when nothing is answered.
func (s *server) handle(data []byte, peer netip.AddrPort, transport string, rt *service.Runtime) [][]byte {
	q := new(mdns.Msg)
	f := map[string]string{"transport": transport}
	if err := q.Unpack(data); err != nil {
		f["error"] = service.Printable(err.Error(), 256)
		raw := data
		if len(raw) > 512 {
			raw = raw[:512]
		}
		f["data_b64"] = b64(raw)
		if len(data) >= 12 && data[2]&0x80 == 0 {
			// A header that parses as a query gets FORMERR, as BIND sends.
			resp := make([]byte, 12)
			copy(resp, data[:4])
			resp[2] = 0x80 | data[2]&0x79 // QR, opcode and RD kept
			resp[3] = mdns.RcodeFormatError
			f["rcode"] = "FORMERR"
			rt.Emit(event.Request, peer, f, "")
			return [][]byte{resp}
		}
		rt.Emit(event.Error, peer, f, "")
		return nil
	}
	if q.Response {
		f["error"] = "a response, not a query"
		rt.Emit(event.Error, peer, f, "")
		return nil // servers never answer responses
	}
	resp, xfr := s.answer(q, transport, f)
	typ := event.Request
	if xfr != "" {
		typ = event.Alert
		f["alert"] = "zone_transfer"
		f["zone_transfer"] = xfr
	}
	f["rcode"] = mdns.RcodeToString[resp[0].Rcode]
	if len(resp) > 1 {
		f["records"] = strconv.Itoa(countRecords(resp))
	}
	rt.Emit(typ, peer, f, "")
	out := make([][]byte, 0, len(resp))
	for _, m := range resp {
		if transport == "udp" {
			m.Truncate(s.udpLimit(q))
			m.Compress = true // Truncate turns compression off when it fits; real servers compress
		}
		b, err := m.Pack()
		if err != nil {
			rt.Log.Error("dns: cannot pack a reply", "err", err)
			return nil
		}
		out = append(out, b)
	}
	return out
}

func countRecords(ms []*mdns.Msg) int {
	n := 0
	for _, m := range ms {
		n += len(m.Answer)
	}
	return n
}

// udpLimit is the largest UDP reply the client accepts.
func (s *server) udpLimit(q *mdns.Msg) int {
	if o := q.IsEdns0(); o != nil {
		n := int(o.UDPSize())
		if n > int(s.udpSize) {
			n = int(s.udpSize)
		}
		if n < mdns.MinMsgSize {
			n = mdns.MinMsgSize
		}
		return n
	}
	return mdns.MinMsgSize
}

// answer builds the reply (or replies) to q and fills the event fields.
func (s *server) answer(q *mdns.Msg, transport string, f map[string]string) ([]*mdns.Msg, string) {
	f["id"] = strconv.Itoa(int(q.Id))
	f["opcode"] = opcodeName(q.Opcode)
	f["flags"] = flagString(q)
	r := new(mdns.Msg)
	r.Id = q.Id
	r.Response = true
	r.Opcode = q.Opcode
	r.RecursionDesired = q.RecursionDesired
	r.CheckingDisabled = q.CheckingDisabled
	r.Compress = true
	if len(q.Question) > 0 {
		qq := q.Question[0]
		// miekg/dns gives names in presentation form: printable ASCII, every other
		// byte and every special character escaped (\DDD, \.), so it is lossless as is.
		f["query_name"] = qq.Name
		f["query_type"] = typeName(qq.Qtype)
		f["query_class"] = className(qq.Qclass)
		r.Question = []mdns.Question{qq}
		if len(q.Question) > 1 {
			f["questions"] = strconv.Itoa(len(q.Question))
		}
	}
	opt := q.IsEdns0()
	if opt != nil {
		f["edns_udp_size"] = strconv.Itoa(int(opt.UDPSize()))
		if opt.Do() {
			f["dnssec_ok"] = "true"
		}
		if opt.Version() != 0 {
			f["edns_version"] = strconv.Itoa(int(opt.Version()))
			r.SetRcode(q, mdns.RcodeBadVers)
			r.Question = q.Question[:min(len(q.Question), 1)]
			s.addOPT(r, q, f)
			return []*mdns.Msg{r}, ""
		}
	}
	defer s.addOPT(r, q, f)
	if q.Opcode != mdns.OpcodeQuery {
		if q.Opcode == mdns.OpcodeUpdate || q.Opcode == mdns.OpcodeNotify {
			r.Rcode = mdns.RcodeRefused
		} else {
			r.Rcode = mdns.RcodeNotImplemented
		}
		return []*mdns.Msg{r}, ""
	}
	if len(q.Question) != 1 {
		r.Rcode = mdns.RcodeFormatError
		return []*mdns.Msg{r}, ""
	}
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	switch qq.Qclass {
	case mdns.ClassCHAOS:
		s.chaos(r, name, qq.Qtype)
		return []*mdns.Msg{r}, ""
	case mdns.ClassINET, mdns.ClassANY:
	default:
		r.Rcode = mdns.RcodeRefused
		return []*mdns.Msg{r}, ""
	}
	if qq.Qtype == mdns.TypeAXFR || qq.Qtype == mdns.TypeIXFR {
		xfr := strings.ToLower(typeName(qq.Qtype))
		if transport == "udp" && qq.Qtype == mdns.TypeAXFR {
			r.Rcode = mdns.RcodeFormatError // AXFR needs TCP
			return []*mdns.Msg{r}, xfr
		}
		if !s.allowAXFR || name != s.zone.origin {
			if name != s.zone.origin {
				r.Rcode = mdns.RcodeNotAuth
			} else {
				r.Rcode = mdns.RcodeRefused
			}
			f["outcome"] = "refused"
			return []*mdns.Msg{r}, xfr
		}
		f["outcome"] = "transferred"
		return s.transfer(r), xfr
	}
	if !s.zone.contains(name) {
		if s.recursion == RecursionNXDomain {
			r.RecursionAvailable = true
			r.Rcode = mdns.RcodeNameError
		} else {
			r.Rcode = mdns.RcodeRefused
		}
		return []*mdns.Msg{r}, ""
	}
	r.Authoritative = true
	r.RecursionAvailable = s.recursion == RecursionNXDomain
	rrs := s.zone.lookup(name, qq.Qtype)
	switch {
	case len(rrs) > 0:
		r.Answer = rrs
		if !q.RecursionDesired {
			r.Ns = s.zone.lookup(s.zone.origin, mdns.TypeNS)
		}
	case s.zone.exists(name):
		r.Ns = []mdns.RR{s.negativeSOA()}
	default:
		r.Rcode = mdns.RcodeNameError
		r.Ns = []mdns.RR{s.negativeSOA()}
	}
	return []*mdns.Msg{r}, ""
}

// negativeSOA is the SOA of a negative answer, its TTL the zone's negative TTL.
func (s *server) negativeSOA() mdns.RR {
	soa := mdns.Copy(s.zone.soa).(*mdns.SOA)
	if soa.Minttl < soa.Hdr.Ttl {
		soa.Hdr.Ttl = soa.Minttl
	}
	return soa
}

// transfer splits the zone into AXFR messages.
func (s *server) transfer(first *mdns.Msg) []*mdns.Msg {
	rrs := s.zone.transfer()
	var out []*mdns.Msg
	for len(rrs) > 0 {
		m := first
		if len(out) > 0 {
			m = new(mdns.Msg)
			m.Id, m.Response, m.Compress = first.Id, true, true
		}
		m.Authoritative = true
		n := min(len(rrs), 64)
		m.Answer, rrs = rrs[:n], rrs[n:]
		out = append(out, m)
	}
	return out
}

// chaos answers BIND's built-in CHAOS names.
func (s *server) chaos(r *mdns.Msg, name string, qtype uint16) {
	var text string
	var zoneName string
	switch name {
	case "version.bind.", "version.server.":
		text, zoneName = s.version, name
	case "hostname.bind.", "id.server.":
		text, zoneName = s.nsid, name
	case "authors.bind.":
		zoneName = name
	default:
		r.Rcode = mdns.RcodeRefused
		return
	}
	if s.windows && text == "" {
		r.Rcode = mdns.RcodeRefused // Windows DNS with version queries off
		return
	}
	r.Authoritative = true
	h := mdns.RR_Header{Name: name, Class: mdns.ClassCHAOS, Ttl: 0}
	if s.windows {
		h.Class = mdns.ClassINET // Windows DNS (EnableVersionQuery) answers in class IN
	}
	if text != "" && (qtype == mdns.TypeTXT || qtype == mdns.TypeANY) {
		h.Rrtype = mdns.TypeTXT
		r.Answer = []mdns.RR{&mdns.TXT{Hdr: h, Txt: []string{text}}}
		return
	}
	// Hidden or other type: NODATA with the built-in zone's SOA, as BIND answers
	// with "version none;".
	h.Rrtype = mdns.TypeSOA
	r.Ns = []mdns.RR{&mdns.SOA{Hdr: h, Ns: zoneName, Mbox: "hostmaster." + zoneName, Serial: 0, Refresh: 28800, Retry: 7200, Expire: 604800, Minttl: 86400}}
}

// addOPT adds the reply's EDNS record when the query had one: the server's buffer
// size, NSID when asked for and configured, and a server cookie (RFC 7873/9018).
func (s *server) addOPT(r, q *mdns.Msg, f map[string]string) {
	qo := q.IsEdns0()
	if qo == nil {
		return
	}
	o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	o.SetUDPSize(s.udpSize)
	if qo.Do() {
		o.SetDo()
	}
	if r.Rcode > 0xf {
		o.SetExtendedRcode(uint16(r.Rcode))
	}
	for _, e := range qo.Option {
		switch e := e.(type) {
		case *mdns.EDNS0_NSID:
			f["nsid_requested"] = "true"
			if s.nsid != "" && !s.windows {
				o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID, Nsid: hex.EncodeToString([]byte(s.nsid))})
			}
		case *mdns.EDNS0_COOKIE:
			f["cookie"] = "true"
			if s.windows {
				continue // Windows DNS does not do cookies
			}
			client, err := hex.DecodeString(e.Cookie)
			if err != nil || len(client) < 8 {
				continue
			}
			o.Option = append(o.Option, &mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: hex.EncodeToString(s.serverCookie(client[:8], time.Now()))})
		}
	}
	r.Extra = append(r.Extra, o)
}

// serverCookie is the client cookie followed by an RFC 9018 server cookie: version
// 1, three reserved bytes, a timestamp and an 8-byte MAC over them (HMAC-SHA256
// here; the RFC's SipHash is a recommendation, any server-local MAC interoperates).
func (s *server) serverCookie(client []byte, now time.Time) []byte {
	out := make([]byte, 0, 24)
	out = append(out, client...)
	out = append(out, 1, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(now.Unix()))
	m := hmac.New(sha256.New, s.cookieKey)
	m.Write(out)
	return append(out, m.Sum(nil)[:8]...)
}

func opcodeName(op int) string {
	if n, ok := mdns.OpcodeToString[op]; ok {
		return n
	}
	return strconv.Itoa(op)
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

// flagString lists the header flags a query set, as dig names them.
func flagString(q *mdns.Msg) string {
	var fl []string
	for _, x := range []struct {
		on   bool
		name string
	}{{q.Authoritative, "aa"}, {q.Truncated, "tc"}, {q.RecursionDesired, "rd"}, {q.RecursionAvailable, "ra"},
		{q.Zero, "z"}, {q.AuthenticatedData, "ad"}, {q.CheckingDisabled, "cd"}} {
		if x.on {
			fl = append(fl, x.name)
		}
	}
	return strings.Join(fl, ",")
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
