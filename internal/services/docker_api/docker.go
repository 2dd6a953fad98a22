package dockerapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds.
const (
	maxBody       = 1 << 20 // JSON bodies read (create, exec); larger is cut
	maxBuildBody  = 16 << 20
	maxField      = 2 << 10 // longest value copied into an event field
	maxCreated    = 256     // created containers / execs remembered per service
	hijackHold    = 60 * time.Second
	headerTimeout = 30 * time.Second
)

// engine is what a Docker Engine release reports about its build.
type engine struct {
	commit, goVersion, buildTime          string
	containerd, containerdCommit          string
	runc, runcCommit, initVer, initCommit string
}

// engines are the builds of the releases DECNET knows; other versions of a known
// series use their series' build facts.
var engines = map[string]engine{
	"20.10": {"5d6db84", "go1.19.8", "2023-04-04T10:41:15.000000000+00:00", "1.6.20", "2806fc1057397dbaeefbea0e4e17bddfbd388f38", "1.1.5", "v1.1.5-0-gf19387a", "0.19.0", "de40ad0"},
	"23.0":  {"6051f14", "go1.20.6", "2023-07-24T22:00:42.000000000+00:00", "1.6.21", "3dce8eb055cbb6872793272b4f20ed16117344f8", "1.1.7", "v1.1.7-0-g860f061", "0.19.0", "de40ad0"},
	"24.0":  {"311b9ff", "go1.20.10", "2023-10-26T09:07:41.000000000+00:00", "1.6.24", "61f9fd88f79f081d64d6fa3bb1a0dc71ec870523", "1.1.9", "v1.1.9-0-gccaecfc", "0.19.0", "de40ad0"},
	"25.0":  {"615dfdf", "go1.21.6", "2024-01-31T22:49:06.000000000+00:00", "1.6.28", "ae07eda36dd25f8a1b98dfbf587313b99c0190bb", "1.1.12", "v1.1.12-0-g51d5e94", "0.19.0", "de40ad0"},
	"26.1":  {"de5c9cf", "go1.21.11", "2024-06-05T11:29:22.000000000+00:00", "1.6.33", "d2d58213f83a351ca8f528a95fbd145f5654e957", "1.1.12", "v1.1.12-0-g51d5e94", "0.19.0", "de40ad0"},
	"27.3":  {"41ca978", "go1.22.7", "2024-09-20T11:41:17.000000000+00:00", "1.7.22", "7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c", "1.1.14", "v1.1.14-0-g2c9f560", "0.19.0", "de40ad0"},
	"28.5":  {"f8215cc", "go1.24.8", "2025-10-08T12:17:12.000000000+00:00", "1.7.28", "b98a3aace656320842a23f4a392a33f46af97866", "1.3.0", "v1.3.0-0-g4ca628d1", "0.19.0", "de40ad0"},
}

func engineFor(v string) engine {
	if e, ok := engines[series(v)]; ok {
		return e
	}
	switch {
	case v < "24":
		return engines["23.0"]
	case v < "27":
		return engines["26.1"]
	case v < "28":
		return engines["27.3"]
	}
	return engines["28.5"]
}

// bait is a running bait container.
type bait struct {
	id, name, image, imageID, command string
	created                           time.Time
	ports                             []portMap
}

type portMap struct {
	private, public int
}

// server is what every request of one running service shares.
type server struct {
	rt        *service.Runtime
	version   string
	api       string
	eng       engine
	hostID    string
	started   time.Time
	baits     []bait
	mu        sync.Mutex
	created   map[string]createdContainer // by full id
	execs     map[string]string           // exec id → container id
	createdIx []string                    // insertion order, to bound the map
}

type createdContainer struct {
	id, name, image, command string
	at                       time.Time
}

func newServer(rt *service.Runtime) *server {
	v := rt.Persona(KeyVersion)
	if checkVersion(v) != nil {
		v = "24.0.7"
	}
	s := &server{
		rt:      rt,
		version: v,
		api:     apiVersions[series(v)],
		eng:     engineFor(v),
		hostID:  stableID(rt.Config.Decky, "host")[:36],
		started: time.Now().Add(-time.Duration(9+len(rt.Config.Decky)%20) * 24 * time.Hour),
		created: map[string]createdContainer{},
		execs:   map[string]string{},
	}
	list := rt.PersonaList(KeyContainers)
	if _, set := rt.Config.Persona[KeyContainers]; !set {
		list = service.SplitList(Keys[1].Default)
	}
	for i, item := range list {
		name, img, _ := strings.Cut(item, ":")
		if !strings.Contains(img, ":") {
			img += ":latest"
		}
		b := bait{
			id:      stableID(rt.Config.Decky, "ctr:"+name),
			name:    name,
			image:   img,
			imageID: "sha256:" + stableID(rt.Config.Decky, "img:"+img),
			command: commandFor(img),
			created: s.started.Add(-time.Duration(30+i*11) * 24 * time.Hour),
			ports:   portsFor(img),
		}
		s.baits = append(s.baits, b)
	}
	return s
}

// stableID is a 64-hex id derived from the decky and a label: the same on every
// restart, different on every decky.
func stableID(decky, label string) string {
	sum := sha256.Sum256([]byte("decnet-docker\x00" + decky + "\x00" + label))
	return hex.EncodeToString(sum[:])
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// commandFor is the command an official image runs.
func commandFor(img string) string {
	switch repo, _, _ := strings.Cut(img, ":"); repo {
	case "nginx":
		return `"/docker-entrypoint.sh nginx -g 'daemon off;'"`
	case "postgres":
		return `"docker-entrypoint.sh postgres"`
	case "redis":
		return `"docker-entrypoint.sh redis-server"`
	case "jenkins/jenkins":
		return `"/usr/bin/tini -- /usr/local/bin/jenkins.sh"`
	case "mysql", "mariadb":
		return `"docker-entrypoint.sh mysqld"`
	}
	return `"/bin/sh -c 'exec \"$@\"'"`
}

func portsFor(img string) []portMap {
	switch repo, _, _ := strings.Cut(img, ":"); repo {
	case "nginx":
		return []portMap{{80, 8080}}
	case "postgres":
		return []portMap{{5432, 0}}
	case "redis":
		return []portMap{{6379, 0}}
	case "jenkins/jenkins":
		return []portMap{{8080, 8081}, {50000, 0}}
	}
	return nil
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	l, err := rt.ListenTCP(Port)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(cctx context.Context, c net.Conn) context.Context {
			if sc, ok := c.(*service.Conn); ok {
				return context.WithValue(cctx, connKey{}, sc)
			}
			return cctx
		},
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("docker API server: %w", err)
	}
	return nil
}

type connKey struct{}

// versionPrefix matches dockerd's versioned route prefix.
var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// ServeHTTP is dockerd's router: the version middleware's headers on every
// response, the API version check, then the routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(*service.Conn)
	h := w.Header()
	h.Set("Server", "Docker/"+s.version+" (linux)")
	h.Set("Api-Version", s.api)
	h.Set("Ostype", "linux")
	h.Set("Docker-Experimental", "false")

	path := r.URL.Path
	reqAPI := ""
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		reqAPI, path = m[1], m[2]
	}
	var body []byte
	if r.Body != nil && r.Method == http.MethodPost && !strings.HasSuffix(path, "/build") && path != "/build" {
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
	// Create and exec bodies are recorded whole, with their fields, by their
	// command events; other bodies go here.
	if len(body) > 0 && path != "/containers/create" && !strings.HasSuffix(path, "/exec") {
		service.SetPrintableLimit(f, "body", string(body), maxField)
	}
	emit := func(typ string, fields map[string]string) {
		if c != nil {
			c.Emit(typ, fields, "")
		}
	}
	emit(event.Request, f)

	if r.Method == http.MethodOptions { // dockerd's CORS preflight route answers every path
		w.WriteHeader(http.StatusOK)
		return
	}
	if reqAPI != "" {
		if apiLess(s.api, reqAPI) {
			s.errorJSON(w, http.StatusBadRequest, "client version "+reqAPI+" is too new. Maximum supported API version is "+s.api)
			return
		}
		if apiLess(reqAPI, "1.12") {
			s.errorJSON(w, http.StatusBadRequest, "client version "+reqAPI+" is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version")
			return
		}
	}
	s.route(w, r, path, body, emit)
}

// apiLess compares API versions "1.41" < "1.43".
func apiLess(a, b string) bool {
	am, an, _ := strings.Cut(a, ".")
	bm, bn, _ := strings.Cut(b, ".")
	x, _ := strconv.Atoi(am)
	y, _ := strconv.Atoi(bm)
	if x != y {
		return x < y
	}
	p, _ := strconv.Atoi(an)
	q, _ := strconv.Atoi(bn)
	return p < q
}

// writeJSON writes v as dockerd does (json.Encoder: compact, trailing newline).
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *server) errorJSON(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

var (
	reContainer    = regexp.MustCompile(`^/containers/([^/]+)/(json|start|stop|restart|kill|wait|attach|exec|logs|top|pause|unpause)$`)
	reContainerDel = regexp.MustCompile(`^/containers/([^/]+)$`)
	reExec         = regexp.MustCompile(`^/exec/([^/]+)/(start|json|resize)$`)
	reImage        = regexp.MustCompile(`^/images/(.+)/json$`)
)

func (s *server) route(w http.ResponseWriter, r *http.Request, path string, body []byte, emit func(string, map[string]string)) {
	switch {
	case path == "/_ping":
		h := w.Header()
		h.Set("Builder-Version", "2")
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Pragma", "no-cache")
		if r.Method == http.MethodHead {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
		io.WriteString(w, "OK")
	case path == "/version" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.versionInfo())
	case path == "/info" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.info())
	case path == "/containers/json" && r.Method == http.MethodGet:
		all := r.URL.Query().Get("all")
		writeJSON(w, http.StatusOK, s.containerList(all == "1" || all == "true"))
	case path == "/images/json" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.imageList())
	case path == "/containers/create" && r.Method == http.MethodPost:
		s.create(w, r, body, emit)
	case path == "/images/create" && r.Method == http.MethodPost:
		s.pull(w, r, emit)
	case path == "/build" && r.Method == http.MethodPost:
		s.build(w, r, emit)
	case path == "/networks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.networks())
	case path == "/volumes" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"Volumes": []any{}, "Warnings": nil})
	case reExec.MatchString(path):
		m := reExec.FindStringSubmatch(path)
		s.execRoute(w, r, m[1], m[2], body, emit)
	case reContainer.MatchString(path):
		m := reContainer.FindStringSubmatch(path)
		s.containerRoute(w, r, m[1], m[2], body, emit)
	case reContainerDel.MatchString(path) && r.Method == http.MethodDelete:
		m := reContainerDel.FindStringSubmatch(path)
		if _, ok := s.lookup(m[1]); !ok {
			s.errorJSON(w, http.StatusNotFound, "No such container: "+m[1])
			return
		}
		emit(event.Alert, map[string]string{"alert": "container-remove", "container": service.Printable(m[1], 128)})
		w.WriteHeader(http.StatusNoContent)
	case reImage.MatchString(path) && r.Method == http.MethodGet:
		name := reImage.FindStringSubmatch(path)[1]
		if img, ok := s.findImage(name); ok {
			writeJSON(w, http.StatusOK, s.imageInspect(img))
			return
		}
		s.errorJSON(w, http.StatusNotFound, "No such image: "+name)
	default:
		s.errorJSON(w, http.StatusNotFound, "page not found")
	}
}

// hijack takes over the connection as dockerd does for attach and exec start:
// 101 UPGRADED when the client asked to upgrade, else 200 with the raw stream.
// It writes out (the stream's bytes) and then holds the connection until the
// client closes it, hold passes, or done closes.
func hijack(w http.ResponseWriter, r *http.Request, out []byte, hold time.Duration, done <-chan struct{}) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	hdr := w.Header().Clone()
	nc, bw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	ctype := "application/vnd.docker.raw-stream"
	if r.Header.Get("Upgrade") != "" {
		fmt.Fprintf(bw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n", ctype)
	} else {
		fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", ctype)
	}
	for _, k := range []string{"Api-Version", "Docker-Experimental", "Ostype", "Server"} {
		if v := hdr.Get(k); v != "" {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
	bw.WriteString("\r\n")
	bw.Write(out)
	bw.Flush()
	if hold <= 0 {
		return
	}
	// Read (and drop) what the client sends until it closes or the hold ends.
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(hold):
		case <-r.Context().Done():
		case <-stop:
		}
		nc.Close()
	}()
	io.Copy(io.Discard, bufio.NewReader(io.LimitReader(nc, maxBody)))
	close(stop)
}

// b64 is standard base64.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
