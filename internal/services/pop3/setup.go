// Package pop3 is a POP3 honeypot on 110/tcp that answers like Dovecot (or
// Courier): it captures USER/PASS, AUTH PLAIN/LOGIN and APOP credentials (APOP as
// a crackable digest with its challenge) and serves a small bait mailbox to the
// persona's users.
package pop3

import (
	"context"
	"fmt"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/mailbait"
)

func init() {
	service.Register(service.Spec{
		Name:    "pop3",
		Summary: "POP3 server (Dovecot or Courier persona): USER/PASS, AUTH and APOP capture, bait mailbox",
		Ports:   []fleet.Port{{Number: 110, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyServer = "server"
	KeyUsers  = "users"
	KeyAPOP   = "apop"
	KeyDomain = "domain"
)

// DefaultUsers are weak mailbox credentials that "work", so that an attacker who
// guesses one reads the bait mailbox.
const DefaultUsers = "admin:password,info:123456,test:test"

// Keys are the pop3 service's persona keys.
var Keys = []service.Key{
	{Name: KeyServer, Kind: service.String, Default: "dovecot", Help: "POP3 server product: dovecot or courier", Check: checkServer},
	{Name: KeyUsers, Kind: service.List, Default: DefaultUsers, Help: "user:password pairs whose login succeeds and reads the bait mailbox", Check: service.CheckUsers},
	{Name: KeyAPOP, Kind: service.Bool, Default: "false", Help: "advertise APOP (a <pid.time@host> challenge in the greeting); APOP digests are captured for cracking"},
	{Name: KeyDomain, Kind: service.String, Help: "mail domain in the bait messages (default: the hostname's domain, else localdomain)", Check: service.CheckDomain},
}

func checkServer(v string) error {
	if v != "dovecot" && v != "courier" {
		return fmt.Errorf("%q is not a POP3 server persona (use dovecot or courier)", v)
	}
	return nil
}

func newServer(rt *service.Runtime) *server {
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	domain := mailbait.Domain(host, rt.Persona(KeyDomain))
	s := &server{
		host:  host,
		apop:  rt.PersonaBool(KeyAPOP, false),
		users: map[string]string{},
		box:   mailbait.Mailbox(rt.Config.Decky, host, domain),
	}
	if rt.Persona(KeyServer) == "courier" {
		s.d = courier()
	} else {
		s.d = dovecot(mailbait.DovecotVendor(rt.Distro.Slug))
	}
	for _, p := range rt.PersonaList(KeyUsers) {
		u, pw, _ := strings.Cut(p, ":")
		s.users[u] = pw
	}
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	rt.Log.Info("pop3 persona", "product", s.d.name, "apop", s.apop)
	return rt.ServeTCP(ctx, 110, func(ctx context.Context, c *service.Conn) {
		s.serveConn(ctx, c, c.Emit)
	})
}
