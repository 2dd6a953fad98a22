// Package http is DECNET's HTTP honeypot (port 80): a web server persona (nginx,
// Apache or IIS, byte-faithful in header order, reason phrases, error pages and
// limits), fake applications that harvest credentials (a login page, WordPress with
// XML-RPC, phpMyAdmin), Basic authentication capture, and one "request" event per
// request carrying what the attacker sent.
//
// Why not net/http's server: it writes headers sorted by name, adds its own Date and
// Content-Type logic, and answers malformed requests with Go's own plain-text 400 —
// every one a tell that separates a Go honeypot from the product it claims to be. So
// the connection loop here is our own: requests are parsed by net/http's
// http.ReadRequest (a well-kept parser) from a head this package first reads with
// strict bounds, and responses are written by hand in the persona's header order.
package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	nethttp "net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds on what one request may cost.
const (
	maxHeaderBytes   = 16 << 10 // request line + header block
	maxHeaderLines   = 100      // header fields per request
	maxBody          = 1 << 20  // body bytes read and parsed
	maxDiscard       = 8 << 20  // body bytes read and dropped beyond maxBody before closing instead
	maxURIField      = 4 << 10  // path field of the request event
	maxHeadersField  = 8 << 10  // headers field of the request event
	maxExcerpt       = 1 << 10  // body_excerpt / body_b64
	maxFieldValue    = 1 << 10  // host, user_agent and similar fields
	maxFormParts     = 100      // multipart parts looked at
	maxFormPartBytes = 64 << 10 // bytes read from one multipart field
)

// emitFunc records an event from the connection's peer.
type emitFunc func(typ string, fields map[string]string, msg string)

// server is one decky's web server: its persona and its apps.
type server struct {
	p          *persona
	index      string
	apps       map[string]bool
	basicPaths []string
	realm      string
	now        func() time.Time // nil: time.Now
}

func (s *server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// request is a parsed request as routes see it.
type request struct {
	method string
	uri    string // raw request-target
	path   string // decoded, dot-segments resolved
	query  url.Values
	proto  string
	host   string // Host header, or the host of an absolute-form target
	ua     string
	header nethttp.Header
	body   []byte
	form   url.Values // urlencoded, multipart or JSON body fields, then query fields

	captured bool // an app already recorded the form's credentials
}

// serveConn serves HTTP/1.x requests from r, writing responses to w, until the peer
// closes, a response closes the connection or ctx ends. closeConn, if not nil, closes
// the underlying connection; it ends a keep-alive connection that stays idle longer
// than the persona's keep-alive timeout.
func (s *server) serveConn(ctx context.Context, r io.Reader, w io.Writer, emit emitFunc, localPort int, closeConn func()) {
	br := bufio.NewReaderSize(r, 4096)
	bw := bufio.NewWriterSize(w, 4096)
	for n := 1; ctx.Err() == nil; n++ {
		if n > 1 && closeConn != nil && br.Buffered() == 0 {
			t := time.AfterFunc(s.p.keepAliveTimeout, closeConn)
			_, err := br.Peek(1)
			t.Stop()
			if err != nil {
				return
			}
		}
		keep := s.serveOne(br, bw, emit, n, localPort)
		if err := bw.Flush(); err != nil || !keep {
			return
		}
	}
}

var (
	errURITooLong     = errors.New("request line too long")
	errHeaderTooLarge = errors.New("request header too large")
)

// readHead reads the request line and header block (through the empty line) with
// bounds: no line longer than maxLine, at most maxTotal bytes and maxHeaderLines
// fields. Empty lines before the request line are skipped, as servers do. On an
// error the bytes read so far are returned for the event.
func readHead(br *bufio.Reader, maxLine, maxTotal int) ([]byte, error) {
	var head []byte
	lines := 0
	for {
		start := len(head)
		for {
			frag, err := br.ReadSlice('\n')
			if len(head)+len(frag) > maxTotal || len(head)-start+len(frag) > maxLine+2 {
				head = append(head, frag[:min(len(frag), max(0, maxTotal-len(head)))]...)
				if lines == 0 {
					return head, errURITooLong
				}
				return head, errHeaderTooLarge
			}
			head = append(head, frag...)
			if err == nil {
				break
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(head) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return head, err
		}
		line := head[start:]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			if lines == 0 {
				head = head[:start] // leading empty line
				continue
			}
			return head, nil
		}
		lines++
		if lines > maxHeaderLines+1 {
			return head, errHeaderTooLarge
		}
	}
}

// serveOne reads and answers one request; it reports whether the connection stays open.
func (s *server) serveOne(br *bufio.Reader, bw *bufio.Writer, emit emitFunc, n, localPort int) bool {
	x := &exchange{http11: true, localPort: localPort, now: s.clock()}
	fields := map[string]string{}
	head, err := readHead(br, s.p.maxLine, maxHeaderBytes)
	if err != nil {
		switch {
		case errors.Is(err, errURITooLong):
			fields["error"] = "request line too long"
			s.answer(bw, x, s.p.badRequest("uri"), fields, emit, head, nil)
		case errors.Is(err, errHeaderTooLarge):
			fields["error"] = "request header too large"
			s.answer(bw, x, s.p.badRequest("header"), fields, emit, head, nil)
		case len(head) > 0:
			// The peer went away mid-request: real servers answer nothing.
			fields["error"] = "incomplete request"
			fields["raw_excerpt"] = service.Printable(string(head), maxExcerpt)
			emit(event.Request, fields, "")
		}
		return false
	}
	req, err := nethttp.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		fields["error"] = "malformed request"
		s.answer(bw, x, s.p.badRequest(""), fields, emit, head, nil)
		return false
	}
	x.method = req.Method
	x.head = req.Method == "HEAD"
	x.http11 = req.ProtoAtLeast(1, 1)
	x.host = req.Host
	ua := req.Header.Get("User-Agent")
	x.msie = strings.Contains(ua, "MSIE ") && !strings.Contains(ua, "Opera")
	if req.ProtoMajor != 1 {
		fields["error"] = "unsupported HTTP version"
		s.answer(bw, x, s.p.badRequest("version"), fields, emit, head, req)
		return false
	}
	// ReadRequest moves Host out of the header map, so count Host lines in the head.
	hosts := headerLines(head, "Host")
	if (x.http11 && len(hosts) == 0) || len(hosts) > 1 || (len(hosts) == 1 && !validHost(hosts[0])) {
		fields["error"] = "missing or invalid Host"
		s.answer(bw, x, s.p.badRequest("host"), fields, emit, head, req)
		return false
	}
	clean, ok := cleanPath(req.URL.Path)
	if !ok {
		fields["error"] = "path escapes the document root"
		s.answer(bw, x, s.p.badRequest(""), fields, emit, head, req)
		return false
	}

	// The body: bounded read, the rest discarded (or the connection closed).
	var body []byte
	var total int64
	overflow := false
	var src io.Reader
	chunked := len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked"
	switch {
	case chunked:
		src = httputil.NewChunkedReader(br)
	case req.ContentLength > 0:
		src = io.LimitReader(br, req.ContentLength)
	}
	if src != nil && s.p.flavor == nginx && req.ContentLength > maxBody {
		// client_max_body_size 1m: refused before reading.
		fields["error"] = "request body too large"
		fields["content_length"] = strconv.FormatInt(req.ContentLength, 10)
		s.answer(bw, x, &response{status: 413, close: true}, fields, emit, head, req)
		return false
	}
	if src != nil {
		if x.http11 && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if bw.Flush() != nil {
				return false
			}
		}
		body, err = io.ReadAll(io.LimitReader(src, maxBody))
		total = int64(len(body))
		if err == nil && len(body) == maxBody {
			var m int64
			m, err = io.CopyN(io.Discard, src, maxDiscard)
			total += m
			if err == nil {
				overflow = true // still more: do not read on, close after answering
			} else if err == io.EOF {
				err = nil
			}
		}
		if err != nil {
			fields["error"] = "bad request body"
			fields["content_length"] = strconv.FormatInt(total, 10)
			s.answer(bw, x, s.p.badRequest(""), fields, emit, head, req)
			return false
		}
		if s.p.flavor == nginx && total > maxBody {
			fields["content_length"] = strconv.FormatInt(total, 10)
			fields["error"] = "request body too large"
			s.answer(bw, x, &response{status: 413, close: true}, fields, emit, head, req)
			return false
		}
	}
	fields["content_length"] = strconv.FormatInt(total, 10)
	withBody(fields, body)

	host := req.Host
	if req.URL.Host != "" {
		host = req.URL.Host
	}
	rq := &request{
		method: req.Method,
		uri:    req.RequestURI,
		path:   clean,
		query:  req.URL.Query(),
		proto:  req.Proto,
		host:   host,
		ua:     ua,
		header: req.Header,
		body:   body,
	}
	rq.form = parseForm(req.Header.Get("Content-Type"), body, rq.query)
	s.captureBasic(rq, emit)
	resp := s.route(rq, emit)
	if !rq.captured && rq.method != "GET" && rq.method != "HEAD" {
		// Credentials posted anywhere else (a guessed login endpoint) count too.
		s.captureForm(rq, "form", emit)
	}

	x.keepAlive = !req.Close && !resp.close && !overflow
	switch s.p.flavor {
	case apache:
		x.left = s.p.maxRequests - n + 1
		x.keepAlive = x.keepAlive && x.left > 0
	default:
		x.keepAlive = x.keepAlive && n < s.p.maxRequests
	}
	s.answer(bw, x, resp, fields, emit, head, req)
	return x.keepAlive
}

// answer writes resp and emits the request event.
func (s *server) answer(bw *bufio.Writer, x *exchange, resp *response, fields map[string]string, emit emitFunc, head []byte, req *nethttp.Request) {
	if resp.close {
		x.keepAlive = false
	}
	s.p.fill(resp, x)
	h, chunked := s.p.head(resp, x)
	bw.Write(h)
	if !x.head && resp.status != 304 && resp.status != 204 {
		if chunked {
			if len(resp.body) > 0 {
				bw.WriteString(strconv.FormatInt(int64(len(resp.body)), 16) + "\r\n")
				bw.Write(resp.body)
				bw.WriteString("\r\n")
			}
			bw.WriteString("0\r\n\r\n")
		} else {
			bw.Write(resp.body)
		}
	}
	fields["status"] = strconv.Itoa(resp.status)
	requestFields(fields, head, req)
	emit(event.Request, fields, "")
}

// requestFields adds what the attacker sent to a request event.
func requestFields(f map[string]string, head []byte, req *nethttp.Request) {
	lines := bytes.Split(head, []byte("\n"))
	first := bytes.TrimRight(lines[0], "\r")
	if req != nil {
		f["method"] = clip(req.Method, 64)
		f["version"] = clip(req.Proto, 64)
		uri := req.RequestURI
		if len(uri) > maxURIField {
			uri = uri[:maxURIField]
			f["path_truncated"] = "true"
		}
		f["path"] = uri
		f["host"] = clip(req.Host, maxFieldValue)
		f["user_agent"] = clip(req.Header.Get("User-Agent"), maxFieldValue)
	} else if len(first) > 0 {
		f["request_line"] = service.Printable(string(first), maxURIField)
	}
	var hb strings.Builder
	for _, l := range lines[1:] {
		l = bytes.TrimRight(l, "\r")
		if len(l) == 0 {
			continue
		}
		if hb.Len()+len(l)+1 > maxHeadersField {
			f["headers_truncated"] = "true"
			break
		}
		hb.Write(l)
		hb.WriteByte('\n')
	}
	if hb.Len() > 0 {
		f["headers"] = hb.String()
	}
}

// withBody adds the body excerpt of a request to its event fields.
func withBody(f map[string]string, body []byte) {
	if len(body) == 0 {
		return
	}
	ex := service.Cut(string(body), maxExcerpt)
	f["body_excerpt"] = service.Printable(ex, 0)
	if f["body_excerpt"] != ex {
		f["body_b64"] = base64.StdEncoding.EncodeToString([]byte(ex))
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// headerLines returns the values of every header line called name in a raw head.
func headerLines(head []byte, name string) []string {
	var out []string
	lines := bytes.Split(head, []byte("\n"))
	for _, l := range lines[1:] {
		n, v, ok := bytes.Cut(l, []byte(":"))
		if ok && strings.EqualFold(string(n), name) {
			out = append(out, string(bytes.TrimSpace(v)))
		}
	}
	return out
}

// validHost reports whether a Host header is a plausible host[:port].
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~:[]!$&'()*+,;=%@", c) >= 0:
		default:
			return false
		}
	}
	return !strings.Contains(h, "..")
}

// cleanPath resolves dot segments and merges slashes (as nginx's merge_slashes and
// Apache's path normalisation do), keeping a trailing slash. A path climbing above
// the root, or holding a NUL, is invalid (both servers answer 400).
func cleanPath(p string) (string, bool) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", false
	}
	if p == "" {
		return "/", true
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
		}
	}
	c := "/" + strings.Join(out, "/")
	last := segs[len(segs)-1]
	if len(out) > 0 && (last == "" || last == "." || last == "..") {
		c += "/"
	}
	return c, true
}

// parseForm collects the fields of a form body (urlencoded, multipart or a JSON
// object), then the query's fields not already set.
func parseForm(ctype string, body []byte, query url.Values) url.Values {
	form := url.Values{}
	mt, params, _ := mime.ParseMediaType(ctype)
	switch {
	case len(body) == 0:
	case mt == "multipart/form-data" && params["boundary"] != "":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for range maxFormParts {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if part.FileName() == "" && part.FormName() != "" {
				v, _ := io.ReadAll(io.LimitReader(part, maxFormPartBytes))
				form.Add(part.FormName(), string(v))
			}
			part.Close()
		}
	case mt == "application/json" || (mt == "" && len(body) > 0 && body[0] == '{'):
		var obj map[string]any
		if json.Unmarshal(body, &obj) == nil {
			for k, v := range obj {
				if sv, ok := v.(string); ok {
					form.Set(k, sv)
				}
			}
		}
	default:
		// application/x-www-form-urlencoded, and what clients send without a type
		// (curl -d); a malformed pair is skipped, the rest kept.
		for _, pair := range strings.Split(string(body), "&") {
			k, v, _ := strings.Cut(pair, "=")
			if k == "" {
				continue
			}
			uk, err1 := url.QueryUnescape(k)
			uv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				continue
			}
			form.Add(uk, uv)
		}
	}
	for k, v := range query {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	return form
}

// Credential field names, most specific first.
var (
	userFields = []string{"log", "pma_username", "username", "user", "email", "login"}
	passFields = []string{"pwd", "pma_password", "password", "pass", "passwd"}
)

// formCredentials returns the username and password a form carries; ok is false
// when it carries no password field.
func formCredentials(form url.Values) (user, pass string, ok bool) {
	for _, k := range passFields {
		if vs, has := form[k]; has {
			pass, ok = vs[0], true
			break
		}
	}
	if !ok {
		return "", "", false
	}
	for _, k := range userFields {
		if v := form.Get(k); v != "" {
			return v, pass, true
		}
	}
	return "", pass, true
}

// maxCredential bounds a captured username or password.
const maxCredential = 4 << 10

// authFields is a credential event's fields.
func authFields(user, pass, app, path, method string) map[string]string {
	truncated := len(user) > maxCredential || len(pass) > maxCredential
	user, pass = clip(user, maxCredential), clip(pass, maxCredential)
	f := map[string]string{
		"username":    user,
		"password":    pass,
		"secret_b64":  base64.StdEncoding.EncodeToString([]byte(pass)),
		"secret_kind": "plaintext",
		"app":         app,
		"path":        clip(path, maxURIField),
		"method":      method,
		"outcome":     "failure",
	}
	if truncated {
		f["truncated"] = "true"
	}
	return f
}

// captureForm emits the auth event of a form login, if the request carries one.
func (s *server) captureForm(rq *request, app string, emit emitFunc) (user, pass string, ok bool) {
	user, pass, ok = formCredentials(rq.form)
	rq.captured = true
	if ok {
		emit(event.Auth, authFields(user, pass, app, rq.uri, "form"), "")
	}
	return user, pass, ok
}

// captureBasic emits the auth event of an Authorization: Basic header, on any path.
func (s *server) captureBasic(rq *request, emit emitFunc) {
	for _, v := range rq.header.Values("Authorization") {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Basic") {
			continue
		}
		tok = strings.TrimSpace(tok)
		raw, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(tok)
		}
		if err != nil {
			f := authFields("", tok, "basic", rq.uri, "basic")
			f["error"] = "malformed Basic credentials"
			emit(event.Auth, f, "")
			continue
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		emit(event.Auth, authFields(user, pass, "basic", rq.uri, "basic"), "")
	}
}
