package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds. Elasticsearch's own: http.max_initial_line_length 4kb, http.max_header_size
// 8kb (16kb from 8.x), http.max_content_length 100mb; a honeypot keeps less.
const (
	maxLine      = 4 << 10
	maxHead      = 16 << 10
	maxHeaders   = 100
	maxBody      = 1 << 20  // bodies beyond this end the connection (413)
	maxBodyField = 16 << 10 // body bytes copied into an event
	maxField     = 2 << 10
)

// server is what every connection of one running service shares.
type server struct {
	rt       *service.Runtime
	ver      version
	rel      release
	cluster  string
	uuid     string // cluster_uuid
	nodeID   string
	name     string // node name: the hostname
	indices  []index
	security bool
	started  time.Time
}

func newServer(rt *service.Runtime) *server {
	ver, ok := parseVersion(rt.Persona(KeyVersion))
	if !ok {
		ver, _ = parseVersion("8.13.4")
	}
	cluster := rt.Persona(KeyClusterName)
	if cluster == "" {
		cluster = "elasticsearch"
	}
	names := rt.PersonaList(KeyIndices)
	if _, set := rt.Config.Persona[KeyIndices]; !set {
		names = service.SplitList(Keys[2].Default)
	}
	name := rt.Config.Hostname
	if name == "" {
		name = rt.Config.Decky
	}
	s := &server{
		rt:       rt,
		ver:      ver,
		rel:      releaseOf(ver),
		cluster:  cluster,
		uuid:     base64ID(rt.Config.Decky, "cluster"),
		nodeID:   base64ID(rt.Config.Decky, "node"),
		name:     name,
		security: rt.PersonaBool(KeySecurity, false),
		started:  time.Now().Add(-time.Duration(5+len(rt.Config.Decky)%30) * 24 * time.Hour),
	}
	for _, n := range names {
		s.indices = append(s.indices, newIndex(rt.Config.Decky, n, s.started))
	}
	return s
}

// base64ID is Elasticsearch's 22-character URL-safe id (UUIDs.randomBase64UUID),
// derived from the decky so it is stable across restarts.
func base64ID(decky, label string) string {
	sum := sha256.Sum256([]byte("decnet-es\x00" + decky + "\x00" + label))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		s.serveConn(ctx, c)
	})
}

var (
	errLineTooLong = errors.New("request line too long")
	errHeadTooLong = errors.New("request header too large")
)

// readHead reads the request line and headers through the empty line, bounded.
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	lines := 0
	for {
		line, tooLong, err := service.ReadLine(br, maxLine)
		if tooLong {
			if lines == 0 {
				return head, errLineTooLong
			}
			return head, errHeadTooLong
		}
		if err != nil {
			if err == io.EOF && (len(head) > 0 || len(line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return append(head, line...), err
		}
		if len(line) == 0 {
			if lines == 0 {
				continue // empty lines before a request are skipped
			}
			return append(head, "\r\n"...), nil
		}
		lines++
		head = append(append(head, line...), "\r\n"...)
		if len(head) > maxHead || lines > maxHeaders+1 {
			return head, errHeadTooLong
		}
	}
}

// request is one parsed request.
type request struct {
	*http.Request
	body  []byte
	query map[string]string // last value of each query parameter
}

func (r *request) param(k string) (string, bool) {
	v, ok := r.query[k]
	return v, ok
}

func (s *server) serveConn(ctx context.Context, c *service.Conn) {
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriter(c)
	for ctx.Err() == nil {
		head, err := readHead(br)
		if err != nil {
			if errors.Is(err, errLineTooLong) || errors.Is(err, errHeadTooLong) {
				c.Emit(event.Request, map[string]string{"error": err.Error(), "raw_excerpt": service.Printable(string(head), 256)}, "")
				s.writeError(bw, "HTTP/1.1", "", 400, errorBody(400, "too_long_http_line_exception", "An HTTP line is larger than 4096 bytes.", nil), false)
			} else if len(head) > 0 {
				c.Emit(event.Request, map[string]string{"error": "incomplete request", "raw_excerpt": service.Printable(string(head), 256)}, "")
			}
			bw.Flush()
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			f := map[string]string{"error": "malformed request", "raw_excerpt": service.Printable(string(head[:min(len(head), 256)]), 0)}
			c.Emit(event.Request, f, "")
			// Netty answers a request it cannot decode with 400 and closes.
			fmt.Fprintf(bw, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
			bw.Flush()
			return
		}
		body, tooBig, err := readBody(br, req)
		rq := &request{Request: req, body: body, query: map[string]string{}}
		for k, v := range req.URL.Query() {
			rq.query[k] = v[len(v)-1]
		}
		f := s.requestFields(rq)
		if tooBig {
			f["error"] = "body too large"
			c.Emit(event.Request, f, "")
			s.writeError(bw, req.Proto, req.Method, 413, nil, false)
			bw.Flush()
			return
		}
		if err != nil {
			f["error"] = "incomplete body"
			c.Emit(event.Request, f, "")
			return
		}
		c.Emit(event.Request, f, "")
		s.captureAuth(c, rq)
		resp := s.handle(c, rq)
		keep := req.ProtoAtLeast(1, 1) && !req.Close || !req.ProtoAtLeast(1, 1) && strings.EqualFold(req.Header.Get("Connection"), "keep-alive")
		s.write(bw, req.Proto, req.Method, resp, keep)
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// readBody reads a Content-Length or chunked body up to maxBody.
func readBody(br *bufio.Reader, req *http.Request) ([]byte, bool, error) {
	var r io.Reader
	switch {
	case len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked":
		r = httputil.NewChunkedReader(br)
	case req.ContentLength > maxBody:
		return nil, true, nil
	case req.ContentLength > 0:
		r = io.LimitReader(br, req.ContentLength)
	default:
		return nil, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if len(b) > maxBody {
		return nil, true, nil
	}
	if err == nil && req.ContentLength > 0 && int64(len(b)) < req.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	return b, false, err
}

// requestFields are the request event's fields.
func (s *server) requestFields(rq *request) map[string]string {
	f := map[string]string{"method": service.Printable(rq.Method, 32)}
	service.SetPrintableLimit(f, "path", rq.URL.Path, maxField)
	if rq.URL.RawQuery != "" {
		service.SetPrintableLimit(f, "query", rq.URL.RawQuery, maxField)
	}
	if ua := rq.Header.Get("User-Agent"); ua != "" {
		service.SetPrintableLimit(f, "user_agent", ua, 512)
	}
	if len(rq.body) > 0 {
		service.SetPrintableLimit(f, "body", string(rq.body), maxBodyField)
		f["body_size"] = strconv.Itoa(len(rq.body))
	}
	if v := rq.Header.Get("X-Opaque-Id"); v != "" {
		service.SetPrintableLimit(f, "opaque_id", v, 256)
	}
	return f
}

// captureAuth records the credentials of an Authorization header.
func (s *server) captureAuth(c *service.Conn, rq *request) {
	auth := rq.Header.Get("Authorization")
	if auth == "" {
		return
	}
	scheme, cred, _ := strings.Cut(auth, " ")
	cred = strings.TrimSpace(cred)
	f := map[string]string{"scheme": service.Printable(scheme, 32), "outcome": "failure"}
	if !s.security {
		f["outcome"] = "ignored" // an open node does not look at credentials
	}
	service.SetPrintableLimit(f, "path", rq.URL.Path, maxField)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			f["secret_kind"] = "http_basic_malformed"
			f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(cred, 1024)))
			break
		}
		service.SetPrintableLimit(f, "username", user, 256)
		f["password"] = service.Printable(pass, 1024)
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(pass, 1024)))
		f["secret_kind"] = "plaintext"
	case "apikey":
		f["secret_kind"] = "api_key"
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(cred, 1024)))
		if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if id, key, ok := strings.Cut(string(raw), ":"); ok {
				service.SetPrintableLimit(f, "username", id, 256) // the API key id
				f["password"] = service.Printable(key, 1024)
			}
		}
	default:
		f["secret_kind"] = "bearer_token"
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(cred, 4096)))
	}
	c.Emit(event.Auth, f, "")
}

// response is one answer.
type response struct {
	status  int
	ctype   string // "" → JSON of the version
	body    []byte
	headers [][2]string // extra headers, before content-type
}

var statusText = map[int]string{
	200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 413: "Request Entity Too Large",
}

// jsonType is the JSON content type of the version.
func (s *server) jsonType() string {
	if s.ver.major >= 8 {
		return "application/json"
	}
	return "application/json; charset=UTF-8"
}

// write sends resp as Elasticsearch's Netty transport does: the status line in
// the request's HTTP version, X-elastic-product (7.14+), custom headers,
// content-type, content-length; no Date, no Server.
func (s *server) write(bw *bufio.Writer, proto, method string, resp *response, keep bool) {
	version := "HTTP/1.1"
	if proto == "HTTP/1.0" {
		version = "HTTP/1.0"
	}
	text := statusText[resp.status]
	fmt.Fprintf(bw, "%s %d %s\r\n", version, resp.status, text)
	if s.ver.atLeast(7, 14) {
		bw.WriteString("X-elastic-product: Elasticsearch\r\n")
	}
	for _, h := range resp.headers {
		fmt.Fprintf(bw, "%s: %s\r\n", h[0], h[1])
	}
	ctype := resp.ctype
	if ctype == "" {
		ctype = s.jsonType()
	}
	fmt.Fprintf(bw, "content-type: %s\r\ncontent-length: %d\r\n", ctype, len(resp.body))
	if version == "HTTP/1.0" && keep {
		bw.WriteString("connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if method != http.MethodHead {
		bw.Write(resp.body)
	}
}

func (s *server) writeError(bw *bufio.Writer, proto, method string, status int, body obj, keep bool) {
	resp := &response{status: status}
	if body != nil {
		resp.body = render(body, false)
	}
	s.write(bw, proto, method, resp, keep)
}
