package sip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"decnet/internal/service"
)

// Bounds on what one message may cost.
const (
	maxHeaderLine  = 2048     // one header line (longer: 400-class drop)
	maxHeaders     = 64       // header fields per message
	maxHeaderBytes = 16 << 10 // whole header section
	maxBody        = 64 << 10 // a message body (TCP; UDP is bounded by the datagram)
	maxParams      = 32       // Digest parameters kept
)

var errMalformed = errors.New("malformed SIP message")

// header is one header field, name in its canonical long form.
type header struct{ name, value string }

// message is a parsed SIP request (or a response, which the server ignores).
type message struct {
	method, uri, version string
	response             bool // a status line, not a request
	headers              []header
	body                 []byte
}

// compact maps RFC 3261 compact header names to their long forms.
var compact = map[string]string{
	"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
	"c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding", "o": "Event",
	"u": "Allow-Events", "r": "Refer-To", "b": "Referred-By", "x": "Session-Expires",
}

// canonical returns a header name's canonical form (compact forms expanded,
// well-known names in their usual spelling, others title-cased per dash).
func canonical(name string) string {
	if long, ok := compact[strings.ToLower(name)]; ok {
		return long
	}
	switch strings.ToLower(name) {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	case "www-authenticate":
		return "WWW-Authenticate"
	}
	parts := strings.Split(strings.ToLower(name), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// get returns the first value of a header.
func (m *message) get(name string) string {
	for _, h := range m.headers {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

// all returns every value of a header in order.
func (m *message) all(name string) []string {
	var out []string
	for _, h := range m.headers {
		if h.name == name {
			out = append(out, h.value)
		}
	}
	return out
}

// isToken reports whether s is a SIP token (a method name).
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

// readMessage reads one message from r: the start line, headers up to the empty
// line, and a body of Content-Length bytes (when stream is false, a missing
// Content-Length means the rest of the datagram). Empty lines before the start line
// are skipped (keep-alives); keepalive reports that only such lines were read.
func readMessage(r *bufio.Reader, stream bool) (m *message, keepalive bool, err error) {
	var line []byte
	for {
		l, tooLong, err := service.ReadLine(r, maxHeaderLine)
		if tooLong {
			return nil, false, fmt.Errorf("%w: start line longer than %d bytes", errMalformed, maxHeaderLine)
		}
		if len(bytes.TrimSpace(l)) > 0 {
			if err != nil && (err != io.EOF || stream) {
				return nil, false, err
			}
			line = l
			break
		}
		if err != nil { // the stream or datagram ended on blank lines (or nothing)
			if err == io.EOF && keepalive {
				return nil, true, nil
			}
			return nil, keepalive, err
		}
		keepalive = true
		if stream {
			return nil, true, nil // a CRLF keep-alive ping on a connection
		}
	}
	m = &message{}
	start := string(line)
	if strings.HasPrefix(start, "SIP/") {
		m.response = true
	} else {
		parts := strings.Split(start, " ")
		if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" || !strings.HasPrefix(parts[2], "SIP/") {
			return nil, false, fmt.Errorf("%w: bad request line", errMalformed)
		}
		m.method, m.uri, m.version = parts[0], parts[1], parts[2]
	}
	total := len(line)
	for eof := false; !eof; {
		l, tooLong, err := service.ReadLine(r, maxHeaderLine)
		if tooLong {
			return nil, false, fmt.Errorf("%w: header line longer than %d bytes", errMalformed, maxHeaderLine)
		}
		if err != nil {
			if err != io.EOF || stream {
				return nil, false, fmt.Errorf("%w: headers end early: %v", errMalformed, err)
			}
			eof = true // a datagram ending without the blank line: take what is there
		}
		if len(l) == 0 {
			break
		}
		total += len(l)
		if total > maxHeaderBytes {
			return nil, false, fmt.Errorf("%w: header section over %d bytes", errMalformed, maxHeaderBytes)
		}
		if (l[0] == ' ' || l[0] == '\t') && len(m.headers) > 0 { // folded continuation
			m.headers[len(m.headers)-1].value += " " + strings.TrimSpace(string(l))
			continue
		}
		name, value, ok := strings.Cut(string(l), ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) {
			return nil, false, fmt.Errorf("%w: bad header line", errMalformed)
		}
		if len(m.headers) >= maxHeaders {
			return nil, false, fmt.Errorf("%w: more than %d headers", errMalformed, maxHeaders)
		}
		m.headers = append(m.headers, header{canonical(name), strings.TrimSpace(value)})
	}
	cl := m.get("Content-Length")
	n := -1
	if cl != "" {
		n, err = strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, false, fmt.Errorf("%w: bad Content-Length", errMalformed)
		}
	} else if stream {
		n = 0 // RFC 3261 18.3: required on streams; treat a missing one as empty
	}
	if n > maxBody {
		return nil, false, fmt.Errorf("%w: body of %d bytes", errMalformed, n)
	}
	if n < 0 { // datagram without Content-Length: the rest
		b, _ := io.ReadAll(io.LimitReader(r, maxBody))
		m.body = b
		return m, false, nil
	}
	m.body = make([]byte, n)
	if _, err := io.ReadFull(r, m.body); err != nil {
		if stream {
			return nil, false, fmt.Errorf("%w: body ends early", errMalformed)
		}
		return nil, false, fmt.Errorf("%w: datagram shorter than its Content-Length", errMalformed)
	}
	return m, false, nil
}

// parseDigest parses the parameters of an Authorization header's Digest
// credentials (RFC 3261 25.1 / RFC 2617): comma-separated name=value pairs whose
// values may be quoted strings with backslash escapes. Names are lower-cased; the
// first of a repeated name wins. ok is false when the scheme is not Digest.
func parseDigest(h string) (params map[string]string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, false
	}
	params = map[string]string{}
	s := rest
	for len(s) > 0 && len(params) < maxParams {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			val = b.String()
			if i < len(s) {
				i++ // closing quote
			}
			s = s[i:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val = strings.TrimSpace(s[:end])
			s = s[end:]
		}
		if _, dup := params[name]; !dup {
			params[name] = val
		}
	}
	return params, true
}

// uriUser returns the user part of a SIP URI in a header value like
// `"Alice" <sip:100@pbx;transport=udp>;tag=x`, or "".
func uriUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	_, rest, ok := strings.Cut(v, ":")
	if !ok {
		return ""
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	user, _, _ = strings.Cut(user, ";")
	return user
}

// param returns the value of a ;name=value parameter of a header value (outside
// any <...> URI), and whether it is present.
func param(v, name string) (string, bool) {
	if i := strings.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for _, p := range strings.Split(v, ";")[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, name) {
			return val, true
		}
	}
	return "", false
}
