package sniffer

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	"decnet/internal/fingerprint"
	"decnet/internal/service"
)

// Bounds on attacker-derived strings put in events.
const (
	maxFieldLen   = 1024 // SNI, user agent, path, host, version lines
	maxAlgorithms = 8192 // HASSH algorithm strings, JA3 strings
	maxHTTPHead   = 8 << 10
)

// httpMethods are the request methods that mark a cleartext HTTP client.
var httpMethods = []string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PROPFIND "}

// classify decides from the first bytes of direction i what protocol it speaks. It
// returns protoUnknown while the bytes are too few to tell.
func (s *Sniffer) classify(f *flow, i int) uint8 {
	b := f.half[i].buf
	if len(b) == 0 {
		return protoUnknown
	}
	if b[0] == 0x16 {
		if len(b) < 2 {
			return protoUnknown
		}
		if b[1] == 3 {
			return protoTLS
		}
		return protoOther
	}
	isServer := s.server(f) == i
	if prefixOrPartial(b, "SSH-") {
		if len(b) < 4 {
			return protoUnknown
		}
		return protoSSH
	}
	if isServer && f.half[1-i].proto == protoSSH || isServer && f.ep[i].port == 22 && printable(b) {
		return protoSSH // a server may send other lines before its identification line
	}
	if !isServer && (b[0] == 4 || b[0] == 5) || isServer && f.half[1-i].proto == protoPreamble {
		return protoPreamble // SOCKS 4/5 (client), or the proxy's answer
	}
	if isServer && prefixOrPartial(b, "HTTP/1.") && f.half[1-i].proto == protoHTTP && f.half[1-i].tlsOff > 0 {
		return protoPreamble // the answer to CONNECT
	}
	if !isServer {
		wait := false
		for _, m := range httpMethods {
			if prefixOrPartial(b, m) {
				if len(b) >= len(m) {
					return protoHTTP
				}
				wait = true
			}
		}
		if wait {
			return protoUnknown
		}
	}
	return protoOther
}

func prefixOrPartial(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// parse looks at the prefix of direction i after it grew.
func (s *Sniffer) parse(f *flow, i int, ts time.Time) {
	h := &f.half[i]
	if h.proto == protoUnknown {
		h.proto = s.classify(f, i)
	}
	switch h.proto {
	case protoUnknown:
	case protoTLS:
		s.parseTLS(f, i, ts, false)
	case protoSSH:
		s.parseSSH(f, i, ts, false)
	case protoHTTP:
		s.parseHTTP(f, i, ts, false)
	case protoPreamble:
		s.findTLS(f, i, ts)
	default:
		s.finishHalf(f, i)
	}
}

// finishHalf ends direction i: what an incomplete prefix still tells (an SSH
// identification line without its KEXINIT) is reported, the buffers are released.
func (s *Sniffer) finishHalf(f *flow, i int) {
	h := &f.half[i]
	if h.done {
		return
	}
	switch h.proto {
	case protoSSH:
		s.parseSSH(f, i, f.last, true)
	}
	h.finish(&s.budget)
}

// parseTLS reports every ClientHello or ServerHello in the handshake records at
// the start of direction i (a second ClientHello follows a HelloRetryRequest). The
// direction is done at the first record that is not a handshake record.
func (s *Sniffer) parseTLS(f *flow, i int, ts time.Time, final bool) {
	h := &f.half[i]
	msgs, consumed, err := fingerprint.HandshakeMessages(h.buf[h.tlsOff:])
	for n := h.hellos; n < len(msgs); n++ {
		h.hellos++
		m := msgs[n]
		switch m[0] {
		case fingerprint.HandshakeClientHello:
			ch, perr := fingerprint.ParseClientHello(m)
			if perr != nil {
				continue
			}
			if f.client < 0 {
				f.client = int8(i)
			}
			s.emitClientHello(f, ts, ch)
		case fingerprint.HandshakeServerHello:
			sh, perr := fingerprint.ParseServerHello(m)
			if perr != nil {
				continue
			}
			if f.client < 0 {
				f.client = int8(1 - i)
			}
			s.emitServerHello(f, ts, sh)
		}
	}
	// Done at a record that is not handshake (consumed stops short of the buffer)
	// or at bytes that are not TLS; a buffer that ends on a record boundary may
	// still be followed by another hello.
	if final || err != nil && !errors.Is(err, fingerprint.ErrIncomplete) || err == nil && consumed < len(h.buf)-h.tlsOff {
		s.finishHalf(f, i)
	}
}

func (s *Sniffer) emitClientHello(f *flow, ts time.Time, ch *fingerprint.ClientHello) {
	full, hash := fingerprint.JA3(ch)
	ja4 := fingerprint.JA4(ch, fingerprint.TCP)
	alpn := make([]string, 0, len(ch.ALPN))
	for _, p := range ch.ALPN {
		alpn = append(alpn, string(p))
	}
	fields := map[string]string{
		"ja3":         hash,
		"ja3_full":    service.Cut(full, maxAlgorithms),
		"ja4":         ja4.JA4,
		"tls_version": tlsVersion(ja4.JA4),
	}
	if ch.ServerName != "" {
		fields["sni"] = service.Printable(ch.ServerName, maxFieldLen)
	}
	if len(alpn) > 0 {
		fields["alpn"] = service.Printable(strings.Join(alpn, ","), maxFieldLen)
	}
	s.emitFlow(f, s.server(f), KindTLSClient, ts, fields)
}

func (s *Sniffer) emitServerHello(f *flow, ts time.Time, sh *fingerprint.ServerHello) {
	full, hash := fingerprint.JA3S(sh)
	fields := map[string]string{"ja3s": hash, "ja3s_full": service.Cut(full, maxAlgorithms)}
	s.emitFlow(f, s.server(f), KindTLSServer, ts, fields)
}

// tlsVersion renders JA4's version characters (the highest version offered) as
// "1.3", "1.2", "1.1", "1.0", "ssl3", "ssl2", or "" when unknown.
func tlsVersion(ja4 string) string {
	if len(ja4) < 3 {
		return ""
	}
	switch ja4[1:3] {
	case "13":
		return "1.3"
	case "12":
		return "1.2"
	case "11":
		return "1.1"
	case "10":
		return "1.0"
	case "s3":
		return "ssl3"
	case "s2":
		return "ssl2"
	}
	return ""
}

// parseSSH reads direction i's identification line and KEXINIT. With final (the
// direction ends), an identification line without a complete KEXINIT is still
// reported.
func (s *Sniffer) parseSSH(f *flow, i int, ts time.Time, final bool) {
	h := &f.half[i]
	server := s.server(f)
	if h.sshIdent == "" {
		parse := fingerprint.ParseSSHIdent
		if server == i {
			parse = fingerprint.ParseSSHServerIdent
		}
		ident, n, err := parse(h.buf)
		switch {
		case err == nil:
			h.sshIdent, h.sshOff = ident, n
		case errors.Is(err, fingerprint.ErrIncomplete) && !final:
			return
		default:
			h.proto = protoOther
			if !final {
				s.finishHalf(f, i)
			}
			return
		}
	}
	k, _, err := fingerprint.ParseKexinitPacket(h.buf[h.sshOff:])
	if errors.Is(err, fingerprint.ErrIncomplete) && !final {
		return
	}
	fields := map[string]string{}
	kind := KindSSHClient
	if server == i {
		kind = KindSSHServer
		fields["server_version"] = service.Printable(h.sshIdent, maxFieldLen)
		if err == nil {
			hash, algos := k.HASSHServer()
			fields["hassh_server"] = hash
			fields["hassh_server_algorithms"] = service.Printable(algos, maxAlgorithms)
		}
	} else {
		fields["client_version"] = service.Printable(h.sshIdent, maxFieldLen)
		if err == nil {
			hash, algos := k.HASSH()
			fields["hassh"] = hash
			fields["hassh_algorithms"] = service.Printable(algos, maxAlgorithms)
		}
	}
	h.sshIdent = "" // reported: finishHalf must not report it again
	h.proto = protoOther
	s.emitFlow(f, server, kind, ts, fields)
	if !final {
		s.finishHalf(f, i)
	}
}

// parseHTTP reports the first request head of a cleartext HTTP client.
func (s *Sniffer) parseHTTP(f *flow, i int, ts time.Time, final bool) {
	h := &f.half[i]
	if h.tlsOff > 0 {
		// After a CONNECT head: the tunnel's first byte says whether TLS follows.
		if len(h.buf) > h.tlsOff && h.buf[h.tlsOff] == 0x16 {
			h.proto = protoTLS
			s.parseTLS(f, i, ts, final)
		} else if len(h.buf) > h.tlsOff || final {
			s.finishHalf(f, i)
		}
		return
	}
	end := bytes.Index(h.buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(h.buf) >= maxHTTPHead || final {
			s.finishHalf(f, i)
		}
		return
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(h.buf[:end+4])))
	if err != nil {
		s.finishHalf(f, i)
		return
	}
	s.emitHTTP(f, ts, req)
	if req.Method == http.MethodConnect {
		h.tlsOff = end + 4 // a proxy tunnel: TLS may follow the head
		s.parseHTTP(f, i, ts, final)
		return
	}
	s.finishHalf(f, i)
}

func (s *Sniffer) emitHTTP(f *flow, ts time.Time, req *http.Request) {
	fields := map[string]string{
		"method": service.Printable(req.Method, 32),
		"path":   service.Printable(req.RequestURI, maxFieldLen),
		"host":   service.Printable(req.Host, maxFieldLen),
	}
	if ua := req.Header.Get("User-Agent"); ua != "" {
		fields["user_agent"] = service.Printable(ua, maxFieldLen)
	}
	s.emitFlow(f, s.server(f), KindHTTP, ts, fields)
}

// maxPreamble bounds how far into a proxied stream a TLS record is looked for.
const maxPreamble = 1024

// findTLS looks for the first TLS handshake record after a proxy preamble and
// continues as TLS from there.
func (s *Sniffer) findTLS(f *flow, i int, ts time.Time) {
	h := &f.half[i]
	b := h.buf
	for j := 0; j+6 <= len(b) && j < maxPreamble; j++ {
		if b[j] == 0x16 && b[j+1] == 3 && b[j+2] <= 4 && (b[j+5] == fingerprint.HandshakeClientHello || b[j+5] == fingerprint.HandshakeServerHello) {
			h.tlsOff, h.proto = j, protoTLS
			s.parseTLS(f, i, ts, false)
			return
		}
	}
	if len(b) >= maxPreamble {
		s.finishHalf(f, i)
	}
}
