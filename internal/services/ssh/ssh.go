// Package ssh is DECNET's SSH honeypot (22/tcp): an OpenSSH look-alike built on
// golang.org/x/crypto/ssh. It presents the decky's OpenSSH banner, algorithm lists and
// stable per-decky host keys; records every authentication attempt (password,
// keyboard-interactive, public key) with the client's HASSH; lets weak credentials in
// to an emulated shell (internal/shell) for interactive and exec sessions; and
// captures files uploaded over SFTP and SCP. Port forwarding and other channels are
// recorded and refused. Nothing an attacker sends is ever executed.
package ssh

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	// handshakeTimeout bounds version exchange, key exchange and authentication
	// (OpenSSH's LoginGraceTime is 120s; bots never need that long).
	handshakeTimeout = 30 * time.Second
	// maxSessions bounds concurrent session channels per connection (OpenSSH MaxSessions).
	maxSessions = 10
	// failDelayMin/Max bound the pause after a failed password: OpenSSH pauses too
	// (PAM's delay), so an instant "denied" is a tell. Kept short so brute-force
	// tests and bots do not stall the service.
	failDelayMin = 50 * time.Millisecond
	failDelayMax = 300 * time.Millisecond
)

// server is one running ssh service.
type server struct {
	rt       *service.Runtime
	version  string
	profile  profile
	hostKeys []gossh.Signer
	users    map[string]map[string]bool
	maxTries int
}

func run(ctx context.Context, rt *service.Runtime) error {
	s, err := newServer(rt)
	if err != nil {
		return err
	}
	return rt.ServeTCP(ctx, 22, s.handle)
}

func newServer(rt *service.Runtime) (*server, error) {
	version := rt.Persona(KeyVersion)
	if version == "" {
		version = rt.Distro.SSHVersion
	}
	if version == "" {
		version = "SSH-2.0-OpenSSH_9.2p1"
	}
	if err := checkVersion(version); err != nil {
		return nil, fmt.Errorf("ssh banner: %w", err)
	}
	p := profileFor(version, rt.Distro.Slug)
	keys, err := loadHostKeys(rt.Config.Secrets, p)
	if err != nil {
		return nil, err
	}
	users := service.Users(rt, KeyUsers, DefaultUsers)
	return &server{
		rt:       rt,
		version:  version,
		profile:  p,
		hostKeys: keys,
		users:    users,
		maxTries: rt.PersonaInt(KeyMaxAuthTries, 6),
	}, nil
}

// conn is the state of one attacker connection.
type conn struct {
	s   *server
	c   *service.Conn
	tap *kexTap
	ctx context.Context
	// pending counts out-of-order SFTP upload bytes held for this connection.
	pending atomic.Int64
}

func (s *server) handle(ctx context.Context, c *service.Conn) {
	cn := &conn{s: s, c: c, ctx: ctx}
	cn.tap = newKexTap(c, cn.fingerprint)
	defer cn.tap.finish()

	cfg := &gossh.ServerConfig{
		Config: gossh.Config{
			KeyExchanges: s.profile.kex,
			Ciphers:      s.profile.ciphers,
			MACs:         s.profile.macs,
		},
		ServerVersion:               s.version,
		MaxAuthTries:                s.maxTries,
		PasswordCallback:            cn.password,
		KeyboardInteractiveCallback: cn.keyboardInteractive,
		PublicKeyCallback:           cn.publicKey,
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}

	// The runtime owns read deadlines (idle, session); the handshake gets its own
	// bound by closing the socket if it has not finished in time.
	timer := time.AfterFunc(handshakeTimeout, func() { c.Conn.Close() })
	sc, chans, reqs, err := gossh.NewServerConn(cn.tap, cfg)
	timer.Stop()
	if err != nil {
		return
	}
	defer sc.Close()
	go cn.globalRequests(reqs)

	var wg sync.WaitGroup
	defer wg.Wait()
	sessions := make(chan struct{}, maxSessions)
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			select {
			case sessions <- struct{}{}:
			default:
				_ = nc.Reject(gossh.ResourceShortage, "no more sessions")
				continue
			}
			ch, creqs, err := nc.Accept()
			if err != nil {
				<-sessions
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sessions }()
				cn.session(sc, ch, creqs)
			}()
		case "direct-tcpip":
			cn.directTCPIP(nc)
		default:
			cn.c.Emit(event.Request, map[string]string{"kind": "channel", "channel_type": service.Printable(nc.ChannelType(), 0), "username": service.Printable(sc.User(), 0)}, "")
			_ = nc.Reject(gossh.UnknownChannelType, "unknown channel type")
		}
	}
}

// fingerprint emits the client's version and HASSH once per connection.
func (cn *conn) fingerprint(version string, k KexInit, ok bool) {
	f := map[string]string{"client_version": service.Printable(version, 0)}
	if ok {
		f["hassh"], f["hassh_algorithms"] = k.HASSH()
	}
	cn.c.Emit(event.Fingerprint, f, "")
}

// authFields are the fields every auth event carries.
func (cn *conn) authFields(meta gossh.ConnMetadata, method string) map[string]string {
	f := map[string]string{
		"method":         method,
		"client_version": service.Printable(string(meta.ClientVersion()), 0),
	}
	service.SetPrintable(f, "username", meta.User())
	if _, k, ok := cn.tap.result(); ok {
		f["hassh"], f["hassh_algorithms"] = k.HASSH()
	}
	return f
}

// checkPassword records one password attempt and answers it like sshd would.
func (cn *conn) checkPassword(meta gossh.ConnMetadata, method string, pw []byte) (*gossh.Permissions, error) {
	f := cn.authFields(meta, method)
	f["password"] = service.Printable(string(pw), 0)
	f["secret_b64"] = base64.StdEncoding.EncodeToString(pw)
	f["secret_kind"] = "plaintext"
	ok := cn.s.users[meta.User()][string(pw)]
	if ok {
		f["outcome"] = "success"
	} else {
		f["outcome"] = "failure"
	}
	cn.c.Emit(event.Auth, f, "")
	if ok {
		return &gossh.Permissions{Extensions: map[string]string{"method": method}}, nil
	}
	d := failDelayMin + rand.N(failDelayMax-failDelayMin)
	select {
	case <-time.After(d):
	case <-cn.ctx.Done():
	}
	return nil, errors.New("permission denied")
}

func (cn *conn) password(meta gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) {
	return cn.checkPassword(meta, "password", pw)
}

func (cn *conn) keyboardInteractive(meta gossh.ConnMetadata, client gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
	answers, err := client("", "", []string{"Password: "}, []bool{false})
	if err != nil {
		return nil, err
	}
	if len(answers) != 1 {
		return nil, errors.New("keyboard-interactive: wrong number of answers")
	}
	return cn.checkPassword(meta, "keyboard-interactive", []byte(answers[0]))
}

func (cn *conn) publicKey(meta gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	f := cn.authFields(meta, "publickey")
	f["key_type"] = key.Type()
	f["key_fingerprint"] = gossh.FingerprintSHA256(key)
	f["outcome"] = "failure"
	cn.c.Emit(event.Auth, f, "")
	return nil, errors.New("public key not accepted")
}

// globalRequests records remote port-forward requests and refuses every global
// request (keepalives get the same "failure" OpenSSH sends for unknown requests).
func (cn *conn) globalRequests(reqs <-chan *gossh.Request) {
	for r := range reqs {
		if r.Type == "tcpip-forward" {
			var m struct {
				Host string
				Port uint32
			}
			f := map[string]string{"kind": "tcpip-forward"}
			if gossh.Unmarshal(r.Payload, &m) == nil {
				f["dest_host"] = service.Printable(m.Host, 0)
				f["dest_port"] = strconv.FormatUint(uint64(m.Port), 10)
			}
			cn.c.Emit(event.Request, f, "")
		}
		if r.WantReply {
			_ = r.Reply(false, nil)
		}
	}
}

// directTCPIP records a local port-forward (ssh -L / -D, proxying through the
// decky) and refuses it as sshd does with AllowTcpForwarding no.
func (cn *conn) directTCPIP(nc gossh.NewChannel) {
	var m struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	f := map[string]string{"kind": "direct-tcpip"}
	if gossh.Unmarshal(nc.ExtraData(), &m) == nil {
		f["dest_host"] = service.Printable(m.Host, 0)
		f["dest_port"] = strconv.FormatUint(uint64(m.Port), 10)
		f["orig_host"] = service.Printable(m.OrigHost, 0)
		f["orig_port"] = strconv.FormatUint(uint64(m.OrigPort), 10)
	}
	cn.c.Emit(event.Request, f, "")
	_ = nc.Reject(gossh.Prohibited, "open failed")
}

// clientIP is the attacker's address as a string.
func (cn *conn) clientIP() string {
	if cn.c.Peer.IsValid() {
		return cn.c.Peer.Addr().String()
	}
	if a, ok := cn.c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}
