package sip

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"decnet/internal/event"
	"decnet/internal/service"
)

// allow is chan_pjsip's Allow header.
const allow = "OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER"

// accept is chan_pjsip's Accept header on an OPTIONS answer.
const accept = "application/sdp, application/dialog-info+xml, application/simple-message-summary, application/xpidf+xml, application/cpim-pidf+xml, application/pidf+xml, application/pidf+xml, application/dialog-info+xml, application/simple-message-summary, message/sipfrag;version=2.0"

// pbx answers SIP requests for one decky.
type pbx struct {
	rt     *service.Runtime
	server string
	realm  string
	users  map[string]map[string]bool
	secret []byte // keys the nonces of this process
	now    func() time.Time
}

func run(ctx context.Context, rt *service.Runtime) error {
	p := newPBX(rt)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return rt.ServeUDP(gctx, Port, func(_ context.Context, pk *service.Packet) {
			if resp := p.datagram(pk.Peer, pk.Data); resp != nil {
				if err := pk.Reply(resp); err != nil {
					rt.Log.Debug("sip reply failed", "err", err)
				}
			}
		})
	})
	g.Go(func() error { return rt.ServeTCP(gctx, Port, p.stream) })
	return g.Wait()
}

func newPBX(rt *service.Runtime) *pbx {
	p := &pbx{rt: rt, server: rt.Persona(KeyServer), realm: rt.Persona(KeyRealm),
		users: service.Users(rt, KeyUsers, ""), secret: make([]byte, 32), now: time.Now}
	if p.server == "" {
		p.server = DefaultServer
	}
	if p.realm == "" {
		p.realm = "asterisk"
	}
	rand.Read(p.secret)
	return p
}

// datagram handles one UDP message and returns the answer, or nil.
func (p *pbx) datagram(peer netip.AddrPort, data []byte) []byte {
	m, keepalive, err := readMessage(bufio.NewReader(bytes.NewReader(data)), false)
	if keepalive && m == nil {
		return nil
	}
	if err != nil {
		p.malformed(peer, "udp", data, err)
		return nil
	}
	return p.handle(peer, "UDP", m)
}

// stream serves one TCP connection: messages until EOF, error or idle timeout.
func (p *pbx) stream(_ context.Context, c *service.Conn) {
	r := bufio.NewReaderSize(c, 4096)
	for {
		m, keepalive, err := readMessage(r, true)
		if keepalive && m == nil && err == nil {
			if _, err := io.WriteString(c, "\r\n"); err != nil { // RFC 5626 pong
				return
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && errors.Is(err, errMalformed) {
				p.malformed(c.Peer, "tcp", nil, err)
			}
			return
		}
		if resp := p.handle(c.Peer, "TCP", m); resp != nil {
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}
}

func (p *pbx) malformed(peer netip.AddrPort, transport string, data []byte, err error) {
	f := map[string]string{"outcome": "malformed", "transport": transport, "error": service.Printable(err.Error(), 200)}
	if len(data) > 0 {
		f["data_b64"] = base64.StdEncoding.EncodeToString(data[:min(len(data), 1024)])
	}
	p.rt.Emit(event.Request, peer, f, "")
}

// handle records a request and computes its answer.
func (p *pbx) handle(peer netip.AddrPort, transport string, m *message) []byte {
	if m.response {
		return nil // a stray response: a server has no transaction for it
	}
	f := map[string]string{"transport": strings.ToLower(transport)}
	service.SetPrintableLimit(f, "method", m.method, 32)
	service.SetPrintableLimit(f, "uri", m.uri, 512)
	for _, h := range []struct{ key, name string }{
		{"from", "From"}, {"to", "To"}, {"call_id", "Call-ID"}, {"contact", "Contact"}, {"user_agent", "User-Agent"}, {"cseq", "CSeq"},
	} {
		if v := m.get(h.name); v != "" {
			service.SetPrintableLimit(f, h.key, v, 512)
		}
	}
	if len(m.body) > 0 {
		f["body_b64"] = base64.StdEncoding.EncodeToString(m.body[:min(len(m.body), 4096)])
		f["body_size"] = strconv.Itoa(len(m.body))
	}
	var resp []byte
	switch strings.ToUpper(m.method) {
	case "OPTIONS":
		resp = p.reply(peer, m, "200 OK", []header{
			{"Accept", accept}, {"Allow", allow}, {"Supported", "100rel, timer, replaces, norefersub, histinfo"},
			{"Accept-Encoding", "text/plain"}, {"Accept-Language", "en"}, {"Server", p.server},
		})
	case "ACK":
		// no answer to an ACK
	case "BYE", "CANCEL":
		resp = p.reply(peer, m, "481 Call/Transaction Does Not Exist", []header{{"Server", p.server}})
	case "REGISTER", "INVITE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER", "UPDATE", "PRACK", "INFO":
		resp = p.authenticate(peer, m, f)
	default:
		resp = p.reply(peer, m, "501 Not Implemented", []header{{"Allow", allow}, {"Server", p.server}})
	}
	if resp == nil {
		f["outcome"] = "no_answer"
	} else {
		status, _, _ := strings.Cut(strings.TrimPrefix(string(resp[:bytes.IndexByte(resp, '\r')]), "SIP/2.0 "), " ")
		f["status"] = status
	}
	p.rt.Emit(event.Request, peer, f, "")
	return resp
}

// authenticate challenges a request without credentials and checks (and records)
// one with them.
func (p *pbx) authenticate(peer netip.AddrPort, m *message, f map[string]string) []byte {
	auth := m.get("Authorization")
	if auth == "" {
		auth = m.get("Proxy-Authorization")
	}
	if auth == "" {
		return p.challenge(peer, m)
	}
	params, ok := parseDigest(auth)
	c := map[string]string{"method": f["method"], "transport": f["transport"], "outcome": "failure"}
	if !ok {
		service.SetPrintableLimit(c, "authorization", auth, 512)
		c["secret_kind"] = "sip_authorization"
		c["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(auth[:min(len(auth), 1024)]))
		p.rt.Emit(event.Auth, peer, c, "")
		return p.challenge(peer, m)
	}
	for _, k := range []string{"username", "realm", "uri", "nonce", "response", "algorithm", "cnonce", "nc", "qop", "opaque"} {
		if v, ok := params[k]; ok {
			service.SetPrintableLimit(c, k, v, 512)
		}
	}
	c["secret_kind"] = "sip_digest"
	c["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(params["response"][:min(len(params["response"]), 256)]))
	if line, ok := HashcatLine(peer.Addr().String(), m.method, params); ok {
		c["hash"], c["hashcat_mode"] = line, "11400"
	}
	valid := p.nonceValid(peer, params["nonce"])
	if !valid {
		c["nonce_valid"] = "false"
	}
	user := params["username"]
	success := false
	for pw := range p.users[user] {
		if valid && checkDigest(m.method, params, pw) {
			success = true
			break
		}
	}
	if success {
		c["outcome"] = "success"
	}
	p.rt.Emit(event.Auth, peer, c, "")
	if !success {
		// chan_pjsip answers a wrong password with a fresh challenge
		return p.challenge(peer, m)
	}
	switch strings.ToUpper(m.method) {
	case "REGISTER":
		extra := []header{}
		for _, ct := range m.all("Contact") {
			if ct != "*" {
				exp := "3600"
				if e := m.get("Expires"); e != "" {
					exp = e
				}
				extra = append(extra, header{"Contact", ct + ";expires=" + exp})
			}
		}
		extra = append(extra, header{"Expires", "3600"}, header{"Date", p.now().UTC().Format(time.RFC1123)}, header{"Server", p.server})
		return p.reply(peer, m, "200 OK", extra)
	case "INVITE":
		return p.reply(peer, m, "404 Not Found", []header{{"Server", p.server}})
	}
	return p.reply(peer, m, "403 Forbidden", []header{{"Server", p.server}})
}

// nonce makes a chan_pjsip-style nonce: "<unix time>/<32 hex>", keyed to the
// client's address so it can be checked without state.
func (p *pbx) nonce(peer netip.AddrPort, ts int64) string {
	mac := hmac.New(sha256.New, p.secret)
	fmt.Fprintf(mac, "%d|%s", ts, peer.Addr())
	return strconv.FormatInt(ts, 10) + "/" + hex.EncodeToString(mac.Sum(nil)[:16])
}

func (p *pbx) nonceValid(peer netip.AddrPort, n string) bool {
	ts, _, ok := strings.Cut(n, "/")
	t, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return false
	}
	age := p.now().Unix() - t
	return age >= 0 && age <= 32 && hmac.Equal([]byte(p.nonce(peer, t)), []byte(n))
}

func (p *pbx) challenge(peer netip.AddrPort, m *message) []byte {
	opaque := make([]byte, 8)
	rand.Read(opaque)
	www := fmt.Sprintf(`Digest realm="%s",nonce="%s",opaque="%s",algorithm=md5,qop="auth"`,
		p.realm, p.nonce(peer, p.now().Unix()), hex.EncodeToString(opaque))
	return p.reply(peer, m, "401 Unauthorized", []header{{"WWW-Authenticate", www}, {"Server", p.server}})
}

// reply builds a response to m: the Via headers (the top one with received and
// rport filled, as RFC 3581 says), From, To (with a tag), Call-ID and CSeq, then
// extra headers and an empty body.
func (p *pbx) reply(peer netip.AddrPort, m *message, status string, extra []header) []byte {
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for i, via := range m.all("Via") {
		if i == 0 {
			via = fixVia(via, peer)
		}
		writeHeader(&b, "Via", via)
	}
	writeHeader(&b, "Call-ID", m.get("Call-ID"))
	writeHeader(&b, "From", m.get("From"))
	to := m.get("To")
	if _, ok := param(to, "tag"); !ok && to != "" && !strings.HasPrefix(status, "100") {
		tag := make([]byte, 16)
		rand.Read(tag)
		to += ";tag=" + uuidish(tag)
	}
	writeHeader(&b, "To", to)
	writeHeader(&b, "CSeq", m.get("CSeq"))
	for _, h := range extra {
		writeHeader(&b, h.name, h.value)
	}
	b.WriteString("Content-Length:  0\r\n\r\n")
	return b.Bytes()
}

// writeHeader writes a header, dropping CR and LF from echoed attacker text so a
// value can never start a header or body of its own.
func writeHeader(b *bytes.Buffer, name, value string) {
	value = strings.NewReplacer("\r", "", "\n", "").Replace(value)
	b.WriteString(name + ": " + value + "\r\n")
}

// fixVia adds received= and fills an empty rport the way pjsip does.
func fixVia(via string, peer netip.AddrPort) string {
	parts := strings.Split(via, ";")
	rport := false
	var rest []string
	for _, pp := range parts[1:] {
		k, _, _ := strings.Cut(strings.TrimSpace(pp), "=")
		switch strings.ToLower(k) {
		case "rport":
			rport = true
		case "received":
		default:
			rest = append(rest, pp)
		}
	}
	out := parts[0]
	if rport { // pjsip puts rport and received first
		out += ";rport=" + strconv.Itoa(int(peer.Port()))
	}
	out += ";received=" + peer.Addr().String()
	for _, pp := range rest {
		out += ";" + pp
	}
	return out
}

func uuidish(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// checkDigest verifies a Digest response (MD5, with or without qop=auth) for pw.
func checkDigest(method string, params map[string]string, pw string) bool {
	if a := params["algorithm"]; a != "" && !strings.EqualFold(a, "MD5") {
		return false
	}
	ha1 := md5hex(params["username"] + ":" + params["realm"] + ":" + pw)
	ha2 := md5hex(method + ":" + params["uri"])
	var want string
	if q := params["qop"]; q == "auth" {
		want = md5hex(ha1 + ":" + params["nonce"] + ":" + params["nc"] + ":" + params["cnonce"] + ":" + q + ":" + ha2)
	} else {
		want = md5hex(ha1 + ":" + params["nonce"] + ":" + ha2)
	}
	return hmac.Equal([]byte(want), []byte(strings.ToLower(params["response"])))
}

// HashcatLine renders a SIP Digest (MD5) answer as a hashcat mode 11400 line:
// $sip$*server*client*user*realm*method*uri-prefix*uri-resource*uri-suffix*nonce*
// cnonce*nc*qop*MD5*response. ok is false when the answer cannot be written in that
// format (another algorithm, a '*' in a field, a response that is not 32 hex digits).
func HashcatLine(client, method string, params map[string]string) (string, bool) {
	if a := params["algorithm"]; a != "" && !strings.EqualFold(a, "MD5") {
		return "", false
	}
	resp := strings.ToLower(params["response"])
	if len(resp) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(resp); err != nil {
		return "", false
	}
	prefix, resource, ok := strings.Cut(params["uri"], ":")
	if !ok {
		prefix, resource = "", params["uri"]
	}
	qop := params["qop"]
	fields := []string{"", client, params["username"], params["realm"], method, prefix, resource, "",
		params["nonce"], params["cnonce"], params["nc"], qop, "MD5", resp}
	if resource == "" {
		return "", false
	}
	if qop != "auth" && qop != "" {
		return "", false
	}
	for _, f := range fields {
		if strings.ContainsAny(f, "*\r\n") || len(f) > 1024 {
			return "", false
		}
	}
	if len(params["username"])+len(params["realm"]) > 116 || len(method)+1+len(params["uri"]) >= 255 {
		return "", false
	}
	return "$sip$*" + strings.Join(fields, "*"), true
}
