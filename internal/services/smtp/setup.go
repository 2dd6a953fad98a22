// Package smtp is an SMTP honeypot on 25/tcp that answers like the persona's MTA
// (Postfix or Exim, as the distro packages it): it records every command, captures
// AUTH PLAIN/LOGIN credentials, refuses to relay for foreign domains with the MTA's
// own words, and accepts mail for the decky's own domain, keeping each message as an
// artifact (SHA-256 named, size-capped).
//
// The same package registers smtp_relay, the open-relay variant (bait for
// spammers): the same MTA persona, but every AUTH succeeds (the credential is still
// captured) and mail for any domain is accepted, kept as an artifact and never
// delivered anywhere.
package smtp

import (
	"context"
	"fmt"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "smtp",
		Summary: "mail server (Postfix or Exim persona): AUTH capture, relay refused, mail for the decky's domain kept",
		Ports:   []fleet.Port{{Number: 25, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
	service.Register(service.Spec{
		Name:    "smtp_relay",
		Summary: "open mail relay (Postfix or Exim persona): any AUTH accepted and captured, mail for any domain kept, nothing delivered",
		Ports:   []fleet.Port{{Number: 25, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     runRelay,
	})
}

// Persona keys.
const (
	KeyServer    = "server"
	KeyDomain    = "domain"
	KeyVersion   = "version"
	KeyMailboxes = "mailboxes"
	KeyMaxSize   = "max_size"
	KeyStartTLS  = "starttls"
)

// DefaultMailboxes are the local parts accepted at the decky's own domain: the
// role accounts every mail server has and spammers probe first.
const DefaultMailboxes = "root,postmaster,abuse,admin,administrator,info,webmaster,support,sales,contact,office,mail,hostmaster,noc,security"

// Keys are the smtp service's persona keys.
var Keys = []service.Key{
	{Name: KeyServer, Kind: service.String, Help: "MTA product: postfix or exim (default: postfix)", Check: checkServer},
	{Name: KeyDomain, Kind: service.String, Help: "mail domain accepted as local (default: the hostname's domain, else localdomain); with a short hostname it also completes the greeting's FQDN", Check: service.CheckDomain},
	{Name: KeyVersion, Kind: service.String, Help: "Exim version in the greeting (default: the distro's exim4); Postfix does not show its version", Check: checkToken},
	{Name: KeyMailboxes, Kind: service.List, Default: DefaultMailboxes, Help: "local parts accepted at the local domains; * accepts any", Check: checkMailboxes},
	{Name: KeyMaxSize, Kind: service.Int, Help: "largest message accepted, bytes (default: Postfix 10240000, Exim 52428800)", Check: checkMaxSize},
	{Name: KeyStartTLS, Kind: service.Bool, Default: "true", Help: "offer STARTTLS with the decky's self-signed certificate, as a fresh Debian/Ubuntu install does"},
}

func checkServer(v string) error {
	if v != "postfix" && v != "exim" {
		return fmt.Errorf("%q is not an SMTP server persona (use postfix or exim)", v)
	}
	return nil
}

func checkToken(v string) error {
	if v == "" || len(v) > 40 {
		return fmt.Errorf("%q must be 1 to 40 characters", v)
	}
	for _, c := range []byte(v) {
		if c <= 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a space or a byte that is not printable ASCII", v)
		}
	}
	return nil
}

func checkMailboxes(v string) error {
	for _, m := range service.SplitList(v) {
		if m == "*" {
			continue
		}
		if strings.ContainsAny(m, "@<> \t\"") {
			return fmt.Errorf("%q is not a local part (no @, <, >, quotes or spaces)", m)
		}
	}
	return nil
}

func checkMaxSize(v string) error {
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil || n < 1024 || n > 1<<30 {
		return fmt.Errorf("%q must be between 1024 and 1073741824 bytes", v)
	}
	return nil
}

// eximVersions are the exim4 versions each distro ships.
var eximVersions = map[string]string{
	"debian": "4.96", "kali": "4.97", "ubuntu22": "4.95", "ubuntu20": "4.93",
	"rocky9": "4.97.1", "centos7": "4.92.3", "fedora": "4.97.1", "alpine": "4.97.1",
	"arch": "4.98", "freebsd": "4.98",
}

// postfixVendor is the "(…)" Debian-family builds append to Postfix's greeting.
func postfixVendor(distro string) string {
	switch distro {
	case "ubuntu22", "ubuntu20":
		return " (Ubuntu)"
	case "debian", "kali":
		return " (Debian/GNU)"
	}
	return ""
}

// newServer resolves the persona of a runtime into a server.
func newServer(rt *service.Runtime) (*server, error) {
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	domain := rt.Persona(KeyDomain)
	switch {
	case domain != "" && !strings.Contains(host, "."):
		host = host + "." + domain
	case domain == "":
		if _, d, ok := strings.Cut(host, "."); ok && d != "" {
			domain = d
		} else {
			domain = "localdomain"
		}
	}
	product := rt.Persona(KeyServer)
	if product == "" {
		product = "postfix"
	}
	s := &server{
		host:      host,
		domain:    strings.ToLower(domain),
		mailboxes: map[string]bool{},
		save:      rt.SaveArtifact,
	}
	for _, m := range rt.PersonaList(KeyMailboxes) {
		if m == "*" {
			s.acceptAny = true
		}
		s.mailboxes[strings.ToLower(m)] = true
	}
	if product == "exim" {
		v := rt.Persona(KeyVersion)
		if v == "" {
			if v = eximVersions[rt.Distro.Slug]; v == "" {
				v = "4.97.1"
			}
		}
		s.d = exim(v)
	} else {
		s.d = postfix(postfixVendor(rt.Distro.Slug))
	}
	s.maxSize = int64(rt.PersonaInt(KeyMaxSize, int(s.d.defaultMaxSize)))
	if rt.PersonaBool(KeyStartTLS, true) {
		cfg, err := tlsConfig(rt.Secret(SecretCert), rt.Secret(SecretKey))
		if err != nil {
			return nil, err
		}
		s.tls = cfg
	}
	return s, nil
}

func run(ctx context.Context, rt *service.Runtime) error {
	s, err := newServer(rt)
	if err != nil {
		return err
	}
	return serve(ctx, rt, s)
}

// runRelay serves the open-relay variant.
func runRelay(ctx context.Context, rt *service.Runtime) error {
	s, err := newServer(rt)
	if err != nil {
		return err
	}
	s.relay = true
	return serve(ctx, rt, s)
}

func serve(ctx context.Context, rt *service.Runtime, s *server) error {
	rt.Log.Info("mail server persona", "product", s.d.name, "host", s.host, "domain", s.domain, "open_relay", s.relay)
	return rt.ServeTCP(ctx, 25, func(ctx context.Context, c *service.Conn) {
		s.serveConn(ctx, c, c.Peer.Addr().String(), c.Emit)
	})
}
