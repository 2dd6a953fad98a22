package k8s

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds.
const (
	maxBody       = 1 << 20
	maxField      = 2 << 10
	headerTimeout = 30 * time.Second
)

type server struct {
	rt        *service.Runtime
	ver       version
	anonymous bool
	tokens    bool
	ns        string
	started   time.Time // when the cluster was set up
	store     *store
}

func newServer(rt *service.Runtime, clusterStart time.Time) *server {
	ver, ok := parseVersion(rt.Persona(KeyVersion))
	if !ok {
		ver, _ = parseVersion("v1.29.4")
	}
	ns := rt.Persona(KeyNamespace)
	if ns == "" {
		ns = "prod"
	}
	s := &server{
		rt:        rt,
		ver:       ver,
		anonymous: rt.PersonaBool(KeyAnonymousAuth, true),
		tokens:    rt.PersonaBool(KeyAcceptTokens, true),
		ns:        ns,
		started:   clusterStart,
	}
	osImage, kernel := rt.Distro.Display, rt.Distro.Kernel
	if rt.Distro.OSFamily != "linux" || osImage == "" { // nodes run Linux whatever the decky's banner says
		osImage, kernel = "Ubuntu 22.04.4 LTS", "5.15.0-116-generic"
	}
	s.store = newStore(rt.Config.Decky, hostname(rt), ns, clusterStart, ver.text, osImage, kernel, rt.Secret(SecretCACert))
	return s
}

func hostname(rt *service.Runtime) string {
	if h := rt.Config.Hostname; h != "" {
		return strings.ToLower(h)
	}
	return "control-plane"
}

func run(ctx context.Context, rt *service.Runtime) error {
	certPEM, keyPEM := rt.Secret(SecretCert), rt.Secret(SecretKey)
	if certPEM == "" || keyPEM == "" {
		return errors.New("the decky has no apiserver certificate in its secrets (deploy generates it)")
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return fmt.Errorf("load the decky's apiserver certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse the decky's apiserver certificate: %w", err)
	}
	s := newServer(rt, leaf.NotBefore)
	l, err := rt.ListenTCP(Port)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake noise from scanners
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			// kube-apiserver asks for (and verifies against its client CA) client
			// certificates; any is accepted here, so it can be recorded.
			ClientAuth: tls.RequestClientCert,
			NextProtos: []string{"h2", "http/1.1"},
		},
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: func(cctx context.Context, c net.Conn) context.Context {
			ci := &connInfo{}
			if tc, ok := c.(*tls.Conn); ok {
				if sc, ok := tc.NetConn().(*service.Conn); ok {
					ci.c = sc
				}
			}
			return context.WithValue(cctx, connKey{}, ci)
		},
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	return nil
}

type connKey struct{}

// connInfo is per connection: its runtime connection and whether its client
// certificate was recorded.
type connInfo struct {
	c        *service.Conn
	certOnce sync.Once
}

// user is who a request authenticates as.
type user struct {
	name      string
	anonymous bool
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	emit := func(typ string, f map[string]string) {
		if ci != nil && ci.c != nil {
			ci.c.Emit(typ, f, "")
		}
	}
	if ci != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		ci.certOnce.Do(func() { emit(event.Auth, certFields(r.TLS.PeerCertificates[0])) })
	}
	var body []byte
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxBody))
	}
	f := map[string]string{"method": service.Printable(r.Method, 32)}
	service.SetPrintableLimit(f, "path", r.URL.Path, maxField)
	if r.URL.RawQuery != "" {
		service.SetPrintableLimit(f, "query", r.URL.RawQuery, maxField)
	}
	if ua := r.UserAgent(); ua != "" {
		service.SetPrintableLimit(f, "user_agent", ua, 512)
	}
	if len(body) > 0 {
		service.SetPrintableLimit(f, "body", string(body), 8<<10)
	}
	emit(event.Request, f)

	h := w.Header()
	h.Set("Audit-Id", uuid.NewString())
	h.Set("Cache-Control", "no-cache, private")

	u, ok := s.authenticate(r, emit)
	if !ok {
		s.status(w, r, http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil)
		return
	}
	s.route(w, r, u, body, emit)
}

// authenticate records the request's bearer token and decides who it is.
func (s *server) authenticate(r *http.Request, emit func(string, map[string]string)) (user, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return user{name: "system:anonymous", anonymous: true}, s.anonymous
	}
	scheme, cred, _ := strings.Cut(auth, " ")
	cred = strings.TrimSpace(cred)
	f := map[string]string{"scheme": service.Printable(scheme, 32)}
	service.SetPrintableLimit(f, "path", r.URL.Path, maxField)
	name := "system:serviceaccount:default:default"
	if strings.EqualFold(scheme, "basic") { // removed in 1.19: always 401
		raw, _ := base64.StdEncoding.DecodeString(cred)
		u, p, _ := strings.Cut(string(raw), ":")
		service.SetPrintableLimit(f, "username", u, 256)
		f["password"] = service.Printable(p, 1024)
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(p, 1024)))
		f["secret_kind"] = "plaintext"
		f["outcome"] = "failure"
		emit(event.Auth, f)
		return user{}, false
	}
	f["secret_kind"] = "bearer_token"
	f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(service.Cut(cred, 8<<10)))
	service.SetPrintableLimit(f, "token", cred, 8<<10)
	if sub := jwtSubject(cred); sub != "" {
		service.SetPrintableLimit(f, "username", sub, 256)
		if strings.HasPrefix(sub, "system:serviceaccount:") {
			name = sub
		}
	}
	if s.tokens {
		f["outcome"] = "success"
	} else {
		f["outcome"] = "failure"
	}
	emit(event.Auth, f)
	return user{name: name}, s.tokens
}

// jwtSubject is the unverified "sub" claim of a JWT (service account tokens are JWTs).
func jwtSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 8<<10 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// certFields describe a client certificate.
func certFields(c *x509.Certificate) map[string]string {
	sum := sha256.Sum256(c.Raw)
	f := map[string]string{
		"secret_kind": "x509_client_certificate",
		"sha256":      hex.EncodeToString(sum[:]),
		"secret_b64":  base64.StdEncoding.EncodeToString(c.Raw),
		"serial":      c.SerialNumber.String(),
		"not_after":   c.NotAfter.UTC().Format(time.RFC3339),
	}
	service.SetPrintableLimit(f, "subject", c.Subject.String(), 1024)
	service.SetPrintableLimit(f, "issuer", c.Issuer.String(), 1024)
	// The apiserver takes the user from CN and groups from O.
	service.SetPrintableLimit(f, "username", c.Subject.CommonName, 256)
	if len(c.Subject.Organization) > 0 {
		service.SetPrintableLimit(f, "groups", strings.Join(c.Subject.Organization, ","), 512)
	}
	return f
}

// pretty reports whether the apiserver would indent its JSON: ?pretty=true, or a
// user agent of curl, Wget or a browser.
func pretty(r *http.Request) bool {
	if p := r.URL.Query().Get("pretty"); p != "" {
		return p == "true" || p == "1"
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/")
}

func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	var b []byte
	if pretty(r) {
		b, _ = json.MarshalIndent(v, "", "  ")
	} else {
		b, _ = json.Marshal(v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// status writes a metav1.Status failure.
func (s *server) status(w http.ResponseWriter, r *http.Request, code int, reason, msg string, details any) {
	st := ordered{
		{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", ordered{}}, {"status", "Failure"},
		{"message", msg}, {"reason", reason},
	}
	if details != nil {
		st = append(st, field{"details", details})
	} else if code == http.StatusForbidden {
		st = append(st, field{"details", ordered{}})
	}
	st = append(st, field{"code", code})
	writeJSON(w, r, code, st)
}

// ordered is a JSON object with a fixed key order (the apiserver's structs have one).
type ordered []field

type field struct {
	k string
	v any
}

// MarshalJSON writes the fields in order.
func (o ordered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func healthText(r *http.Request, name string) string {
	if _, ok := r.URL.Query()["verbose"]; !ok {
		return "ok"
	}
	checks := []string{"ping", "log", "etcd", "poststarthook/start-kube-apiserver-admission-initializer", "poststarthook/generic-apiserver-start-informers",
		"poststarthook/start-apiextensions-informers", "poststarthook/start-apiextensions-controllers", "poststarthook/crd-informer-synced",
		"poststarthook/rbac/bootstrap-roles", "poststarthook/scheduling/bootstrap-system-priority-classes", "poststarthook/bootstrap-controller",
		"poststarthook/aggregator-reload-proxy-client-cert", "poststarthook/start-kube-aggregator-informers", "autoregister-completion"}
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("[+]" + c + " ok\n")
	}
	b.WriteString(name + " check passed\n")
	return b.String()
}

func (s *server) route(w http.ResponseWriter, r *http.Request, u user, body []byte, emit func(string, map[string]string)) {
	p := r.URL.Path
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case (p == "/healthz" || p == "/livez" || p == "/readyz") && get:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, healthText(r, strings.TrimPrefix(p, "/")))
		return
	case p == "/version" && get:
		writeJSONIndent(w, s.versionInfo())
		return
	}
	if u.anonymous { // authorization comes before routing: every other path is refused
		if a := parsePath(p); a.ok {
			res := a.resource
			if a.sub != "" {
				res += "/" + a.sub
			}
			s.forbidden(w, r, u, verb(r, a), p, res, a.name, a.group, a.ns)
			return
		}
		s.forbidden(w, r, u, strings.ToLower(r.Method), p, "", "", "", "")
		return
	}
	s.priorityHeaders(w)
	s.api(w, r, u, body, emit)
}

// writeJSONIndent writes /version's indented JSON (the apiserver always indents it).
func writeJSONIndent(w http.ResponseWriter, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// priorityHeaders are API Priority and Fairness's response headers.
func (s *server) priorityHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Kubernetes-Pf-Flowschema-Uid", s.store.uid("flowschema/service-accounts"))
	w.Header().Set("X-Kubernetes-Pf-Prioritylevel-Uid", s.store.uid("prioritylevel/workload-low"))
}

// forbidden writes RBAC's 403: for a non-resource path (resource ""), or for a
// resource (with an optional subresource, "pods/exec") and object name.
func (s *server) forbidden(w http.ResponseWriter, r *http.Request, u user, verb, path, resource, name, group, ns string) {
	if resource == "" {
		s.status(w, r, http.StatusForbidden, "Forbidden", "forbidden: User \""+u.name+"\" cannot "+verb+" path \""+path+"\"", nil)
		return
	}
	base, _, _ := strings.Cut(resource, "/")
	msg := base
	details := ordered{}
	if name != "" {
		msg += " \"" + name + "\""
		details = append(details, field{"name", name})
	}
	details = append(details, field{"kind", base})
	msg += " is forbidden: User \"" + u.name + "\" cannot " + verb + " resource \"" + resource + "\" in API group \"" + group + "\""
	if ns != "" {
		msg += " in the namespace \"" + ns + "\""
	} else {
		msg += " at the cluster scope"
	}
	s.status(w, r, http.StatusForbidden, "Forbidden", msg, details)
}

func (s *server) versionInfo() ordered {
	gov := map[int]string{25: "go1.19.13", 26: "go1.20.10", 27: "go1.20.13", 28: "go1.21.9", 29: "go1.21.9", 30: "go1.22.2", 31: "go1.22.5"}[s.ver.minor]
	sum := sha256.Sum256([]byte("kubernetes-" + s.ver.text))
	built := time.Date(2023, 8, 15, 14, 32, 11, 0, time.UTC).AddDate(0, (s.ver.minor-28)*4, s.ver.patch*30)
	return ordered{
		{"major", "1"}, {"minor", strconv.Itoa(s.ver.minor)}, {"gitVersion", s.ver.text},
		{"gitCommit", hex.EncodeToString(sum[:20])}, {"gitTreeState", "clean"},
		{"buildDate", built.Format(time.RFC3339)}, {"goVersion", gov}, {"compiler", "gc"}, {"platform", "linux/amd64"},
	}
}
