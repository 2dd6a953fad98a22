// Package imap is an IMAP4rev1 honeypot on 143/tcp that answers like Dovecot: it
// captures LOGIN and AUTHENTICATE PLAIN/LOGIN credentials (literals included) and
// lets the persona's users into a small bait mailbox (SELECT, FETCH, SEARCH, LIST).
package imap

import (
	"context"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/mailbait"
)

func init() {
	service.Register(service.Spec{
		Name:    "imap",
		Summary: "IMAP server (Dovecot persona): LOGIN and AUTHENTICATE capture, bait mailbox",
		Ports:   []fleet.Port{{Number: 143, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyUsers  = "users"
	KeyDomain = "domain"
)

// DefaultUsers are weak mailbox credentials that "work", so that an attacker who
// guesses one reads the bait mailbox.
const DefaultUsers = "admin:password,info:123456,test:test"

// Keys are the imap service's persona keys.
var Keys = []service.Key{
	{Name: KeyUsers, Kind: service.List, Default: DefaultUsers, Help: "user:password pairs whose login succeeds and reads the bait mailbox", Check: service.CheckUsers},
	{Name: KeyDomain, Kind: service.String, Help: "mail domain in the bait messages (default: the hostname's domain, else localdomain)", Check: service.CheckDomain},
}

func newServer(rt *service.Runtime) *server {
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	domain := mailbait.Domain(host, rt.Persona(KeyDomain))
	s := &server{
		vendor: mailbait.DovecotVendor(rt.Distro.Slug),
		users:  map[string]string{},
		box:    newMailbox(mailbait.Mailbox(rt.Config.Decky, host, domain)),
		save:   rt.SaveArtifact,
	}
	for _, p := range rt.PersonaList(KeyUsers) {
		u, pw, _ := strings.Cut(p, ":")
		s.users[u] = pw
	}
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	rt.Log.Info("imap persona", "product", "dovecot", "vendor", s.vendor)
	return rt.ServeTCP(ctx, 143, func(ctx context.Context, c *service.Conn) {
		s.serveConn(ctx, c, c.Emit)
	})
}
