package http

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "http",
		Summary: "web server (nginx, Apache or IIS persona) with fake login, WordPress and phpMyAdmin",
		Ports:   []fleet.Port{{Number: 80, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyServer         = "server"
	KeyServerHeader   = "server_header"
	KeyIndex          = "index"
	KeyApps           = "apps"
	KeyBasicAuthPaths = "basic_auth_paths"
	KeyRealm          = "realm"
)

// Index pages and apps a persona may choose.
var (
	Indexes = []string{"default", "login", "wordpress", "phpmyadmin", "blank"}
	Apps    = []string{"login", "wordpress", "phpmyadmin"}
)

// Keys are the http service's persona keys.
var Keys = []service.Key{
	{Name: KeyServer, Kind: service.String, Help: "web server product: nginx, apache or iis (default: iis on Windows, else the distro's web server)", Check: checkServer},
	{Name: KeyServerHeader, Kind: service.String, Help: `exact Server header, e.g. "nginx/1.18.0 (Ubuntu)" (default: the distro's version of the product)`, Check: checkServerHeader},
	{Name: KeyIndex, Kind: service.String, Default: "default", Help: "what / shows: default (the product's welcome page), login, wordpress, phpmyadmin or blank", Check: oneOf(KeyIndex, Indexes)},
	{Name: KeyApps, Kind: service.List, Default: "login,wordpress,phpmyadmin", Help: "fake applications served: login (/login, /admin), wordpress (/wp-login.php, /xmlrpc.php, /wp-json/), phpmyadmin (/phpmyadmin/)", Check: checkApps},
	{Name: KeyBasicAuthPaths, Kind: service.List, Default: "/admin/,/manager/html", Help: "paths (a trailing / covers everything below) that answer 401 and ask for Basic credentials", Check: checkPaths},
	{Name: KeyRealm, Kind: service.String, Default: "Restricted", Help: "Basic authentication realm", Check: checkRealm},
}

func checkServer(v string) error {
	if _, ok := parseFlavor(v); !ok {
		return fmt.Errorf("%q is not a web server persona (use nginx, apache or iis)", v)
	}
	return nil
}

func checkServerHeader(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(v) > 200 {
		return fmt.Errorf("is %d bytes long; keep it under 200", len(v))
	}
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
		}
	}
	return nil
}

func oneOf(key string, allowed []string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("%q is not a valid %s (use %s)", v, key, strings.Join(allowed, ", "))
	}
}

func checkApps(v string) error {
	check := oneOf("app", Apps)
	for _, a := range service.SplitList(v) {
		if err := check(a); err != nil {
			return err
		}
	}
	return nil
}

func checkPaths(v string) error {
	for _, p := range service.SplitList(v) {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path %q does not start with /", p)
		}
	}
	return nil
}

func checkRealm(v string) error {
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("%q holds a quote, backslash or non-printable byte", v)
		}
	}
	return nil
}

// productVersions are the Server headers each distro's packaged web servers send,
// used when the persona picks a product other than the distro's default one.
var productVersions = map[flavor]map[string]string{
	nginx: {
		"debian": "nginx/1.22.1", "ubuntu22": "nginx/1.18.0 (Ubuntu)", "ubuntu20": "nginx/1.18.0 (Ubuntu)",
		"rocky9": "nginx/1.20.1", "centos7": "nginx/1.20.1", "alpine": "nginx/1.24.0", "fedora": "nginx/1.24.0",
		"kali": "nginx/1.24.0", "arch": "nginx/1.26.1", "freebsd": "nginx/1.26.1",
	},
	apache: {
		"debian": "Apache/2.4.61 (Debian)", "ubuntu22": "Apache/2.4.52 (Ubuntu)", "ubuntu20": "Apache/2.4.41 (Ubuntu)",
		"rocky9": "Apache/2.4.57 (Rocky Linux)", "centos7": "Apache/2.4.6 (CentOS)", "alpine": "Apache/2.4.62 (Unix)",
		"fedora": "Apache/2.4.59 (Fedora Linux)", "kali": "Apache/2.4.59 (Debian)", "arch": "Apache/2.4.62 (Unix)",
		"freebsd": "Apache/2.4.62 (FreeBSD)",
	},
}

var productFallback = map[flavor]string{nginx: "nginx/1.24.0", apache: "Apache/2.4.62 (Unix)", iis: "Microsoft-IIS/10.0"}

// productOf says which product a Server header names.
func productOf(server string) (flavor, bool) {
	switch {
	case strings.HasPrefix(server, "nginx"):
		return nginx, true
	case strings.HasPrefix(server, "Apache"):
		return apache, true
	case strings.HasPrefix(server, "Microsoft-IIS"):
		return iis, true
	}
	return nginx, false
}

func isWindows(family string) bool { return strings.HasPrefix(family, "windows") }

// resolvePersona picks the product and Server header: explicit keys win; otherwise
// Windows deckies run IIS and others the distro's web server (nginx when the distro
// names none of the three).
func resolvePersona(serverKey, headerKey, osFamily string, d catalog.Distro) (flavor, string) {
	var f flavor
	switch {
	case serverKey != "":
		f, _ = parseFlavor(serverKey)
	case isWindows(osFamily):
		f = iis
	default:
		f, _ = productOf(d.HTTPServer)
	}
	if headerKey != "" {
		return f, headerKey
	}
	if pf, ok := productOf(d.HTTPServer); ok && pf == f {
		return f, d.HTTPServer
	}
	if v, ok := productVersions[f][d.Slug]; ok {
		return f, v
	}
	if f == apache && isWindows(osFamily) {
		return f, "Apache/2.4.62 (Win64)"
	}
	return f, productFallback[f]
}

// newServer builds the server a runtime serves.
func newServer(rt *service.Runtime) *server {
	family := rt.Config.OSFamily
	if family == "" {
		family = rt.Distro.OSFamily
	}
	f, header := resolvePersona(rt.Persona(KeyServer), rt.Persona(KeyServerHeader), family, rt.Distro)
	hostname := rt.Config.Hostname
	if hostname == "" {
		hostname = rt.Config.IP
	}
	p := newPersona(f, header, hostname, rt.Distro.Slug, rt.Distro.Display, family, rt.Config.Decky)
	s := &server{
		p:          p,
		index:      rt.Persona(KeyIndex),
		apps:       map[string]bool{},
		basicPaths: rt.PersonaList(KeyBasicAuthPaths),
		realm:      rt.Persona(KeyRealm),
	}
	if s.index == "" {
		s.index = "default"
	}
	for _, a := range rt.PersonaList(KeyApps) {
		s.apps[a] = true
	}
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	rt.Log.Info("web server persona", "server", s.p.flavor.String(), "header", s.p.server)
	return rt.ServeTCP(ctx, 80, func(ctx context.Context, c *service.Conn) {
		s.serveConn(ctx, c, c, c.Emit, c.Port, func() { c.Conn.Close() })
		lingeringClose(c.Conn)
	})
}

// NewConnHandler builds the decky's web server from rt's persona (the http keys)
// and returns a function that serves one connection with it: HTTP/1.x read from
// and written to rw, events emitted from c's peer with the extra fields added to
// each. The https service uses it to serve the same persona over TLS (rw is the
// TLS connection on top of c); the caller closes the connection.
func NewConnHandler(rt *service.Runtime) func(ctx context.Context, c *service.Conn, rw io.ReadWriter, extra map[string]string) {
	s := newServer(rt)
	return func(ctx context.Context, c *service.Conn, rw io.ReadWriter, extra map[string]string) {
		emit := func(typ string, fields map[string]string, msg string) {
			if fields == nil {
				fields = map[string]string{}
			}
			for k, v := range extra {
				if _, set := fields[k]; !set {
					fields[k] = v
				}
			}
			c.Emit(typ, fields, msg)
		}
		s.serveConn(ctx, rw, rw, emit, c.Port, func() { c.Conn.Close() })
	}
}

// Lingering close, as nginx and Apache do: after the last response, stop sending
// and drain what the client still sends for a moment, so that closing with unread
// data does not reset the connection and destroy the response in flight.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 256 << 10
)

func lingeringClose(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if tc.CloseWrite() != nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, tc, lingerBytes)
}
