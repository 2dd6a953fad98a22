package telnet

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/shell"
)

// Timing. Real login programs pause after a wrong password (shadow's FAIL_DELAY is
// 3 s, BusyBox's 3 s, IOS about 2 s); an instant "Login incorrect" is a tell, but a
// long one ties the service up under brute force, so the pause is 1–2 s. Tests
// shorten it.
var (
	failDelayMin = 1 * time.Second
	failDelayMax = 2 * time.Second
)

const (
	// negotiateWait bounds how long the server waits for the client's answers to
	// its option requests before it carries on (telnetd waits for them; a bot that
	// does not speak telnet would otherwise never see a prompt).
	negotiateWait = 5 * time.Second
	// loginTimeout is login's LOGIN_TIMEOUT (60 s on Debian/Ubuntu); IOS's exec
	// timeout at the Username prompt is 30 s.
	loginTimeout = 60 * time.Second
	ciscoTimeout = 30 * time.Second
	// maxField bounds a typed user name or password.
	maxField = 256
)

// server is one running telnet service.
type server struct {
	rt       *service.Runtime
	style    string
	users    map[string]map[string]bool
	maxTries int
	banner   string
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	return rt.ServeTCP(ctx, 23, s.handle)
}

func newServer(rt *service.Runtime) *server {
	style := styleFor(rt.Persona(KeyStyle), rt.Config.OSFamily, rt.Distro)
	users := service.Users(rt, KeyUsers, DefaultUsers)
	tries := 3
	if style == StyleLinux {
		tries = 5
	}
	banner, set := rt.Config.Persona[KeyBanner]
	if !set && style == StyleLinux {
		banner = rt.Distro.IssueNet
		if banner == "" {
			banner = rt.Distro.Display + "\n"
		}
	}
	return &server{rt: rt, style: style, users: users, maxTries: rt.PersonaInt(KeyMaxTries, tries), banner: banner}
}

// hostname is the decky's cosmetic host name as login prints it.
func (s *server) hostname() string {
	h := s.rt.Config.Hostname
	if h == "" {
		h = "localhost"
	}
	return h
}

// session is one attacker connection.
type session struct {
	s  *server
	c  *service.Conn
	t  *tconn
	fp bool // fingerprint event sent
}

func (s *server) handle(ctx context.Context, c *service.Conn) {
	t := newTconn(c)
	defer t.close()
	ss := &session{s: s, c: c, t: t}
	switch s.style {
	case StyleCisco:
		ss.cisco(ctx)
	case StyleBusyBox:
		ss.busybox(ctx)
	default:
		ss.linux(ctx)
	}
}

// negotiate sends a burst of option requests in one write, as telnetds do (scanners
// match the exact bytes of the first segment).
func (t *tconn) negotiate(reqs ...[2]byte) {
	var b []byte
	t.mu.Lock()
	for _, r := range reqs {
		switch r[0] {
		case cmdWILL:
			if t.us[r[1]] != qNo {
				continue
			}
			t.us[r[1]] = qWantYes
		case cmdDO:
			if t.him[r[1]] != qNo {
				continue
			}
			t.him[r[1]] = qWantYes
		}
		b = append(b, cmdIAC, r[0], r[1])
	}
	t.mu.Unlock()
	t.send(b...)
}

// linux imitates netkit telnetd + shadow login: the terminal-type dance first, then
// echo and SGA, /etc/issue.net and "<host> login: ".
func (ss *session) linux(ctx context.Context) {
	t := ss.t
	t.negotiate([2]byte{cmdDO, optTTYPE}, [2]byte{cmdDO, optTSPEED}, [2]byte{cmdDO, optXDISPLOC}, [2]byte{cmdDO, optNewEnviron})
	t.settle(ctx, negotiateWait)
	t.waitSB(ctx, 2*time.Second)
	t.negotiate([2]byte{cmdWILL, optSGA}, [2]byte{cmdDO, optNAWS}, [2]byte{cmdDO, optLFLOW}, [2]byte{cmdWILL, optEcho})
	t.settle(ctx, 2*time.Second)
	t.waitSB(ctx, time.Second)
	if ctx.Err() != nil {
		return
	}
	if ss.s.banner != "" {
		if t.writeString(crlf(ss.s.banner)) != nil {
			return
		}
	}
	// telnetd passes a USER sent with NEW-ENVIRON (telnet -l user) to login, which
	// then asks only for the password on the first attempt.
	preset, _ := t.snapshot().envVar("USER")
	user, ok := ss.login(ctx, loginPrompts{
		login:   ss.s.hostname() + " login: ",
		pass:    "Password: ",
		failed:  "\r\nLogin incorrect\r\n",
		timeout: "\r\nLogin timed out after 60 seconds.\r\n",
		limit:   loginTimeout,
		preset:  preset,
	})
	if !ok {
		return
	}
	t.writeString(crlf(motd(ss.s.rt, ss.s.hostname())))
	ss.shell(ctx, user)
}

// busybox imitates BusyBox telnetd + login: its fixed option burst and the host's
// login prompt right after it.
func (ss *session) busybox(ctx context.Context) {
	t := ss.t
	t.negotiate([2]byte{cmdDO, optEcho}, [2]byte{cmdDO, optNAWS}, [2]byte{cmdDO, optLFLOW}, [2]byte{cmdWILL, optEcho}, [2]byte{cmdWILL, optSGA})
	if ss.s.banner != "" {
		if t.writeString(crlf(ss.s.banner)) != nil {
			return
		}
	}
	user, ok := ss.login(ctx, loginPrompts{
		login:   ss.s.hostname() + " login: ",
		pass:    "Password: ",
		failed:  "\r\nLogin incorrect\r\n",
		timeout: "\r\nLogin timed out after 60 seconds\r\n",
		limit:   loginTimeout,
	})
	if !ok {
		return
	}
	ss.shell(ctx, user)
}

// cisco imitates an IOS vty with "login local".
func (ss *session) cisco(ctx context.Context) {
	t := ss.t
	t.negotiate([2]byte{cmdWILL, optEcho}, [2]byte{cmdWILL, optSGA}, [2]byte{cmdDO, optTTYPE}, [2]byte{cmdDO, optNAWS})
	if t.writeString("\r\n\r\nUser Access Verification\r\n\r\n") != nil {
		return
	}
	if ss.s.banner != "" {
		// A "banner login" is shown by IOS before User Access Verification; keep it
		// after so the scanner-visible start stays IOS's.
		if t.writeString(crlf(ss.s.banner)) != nil {
			return
		}
	}
	user, ok := ss.login(ctx, loginPrompts{
		login:   "Username: ",
		pass:    "Password: ",
		failed:  "\r\n% Authentication failed\r\n\r\n",
		timeout: "\r\n% Username:  timeout expired!\r\n",
		limit:   ciscoTimeout,
	})
	if !ok {
		return
	}
	newIOS(ss, user).run(ctx)
}

// loginPrompts are the texts of one login program.
type loginPrompts struct {
	login, pass, failed, timeout string
	limit                        time.Duration
	preset                       string // user name already known (NEW-ENVIRON USER)
}

// login runs the login dialogue until a configured pair matches (returns the user)
// or the tries, the time limit or the connection run out.
func (ss *session) login(ctx context.Context, p loginPrompts) (string, bool) {
	t := ss.t
	lctx, cancel := context.WithTimeout(ctx, p.limit)
	defer cancel()
	timedOut := func(err error) bool {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			t.writeString(p.timeout)
			return true
		}
		return false
	}
	preset := p.preset
	for tries := 0; tries < ss.s.maxTries; {
		user := preset
		preset = ""
		if user == "" {
			if t.writeString(p.login) != nil {
				return "", false
			}
			line, ok, err := t.readLine(lctx, t.echoing(), maxField)
			if err != nil {
				timedOut(err)
				return "", false
			}
			if !ok {
				// ^C / ^D at the prompt: login starts over.
				t.writeString("\r\n")
				continue
			}
			if line == "" {
				continue
			}
			user = line
		}
		ss.fingerprint()
		if t.writeString(p.pass) != nil {
			return "", false
		}
		pw, ok, err := t.readLine(lctx, false, maxField)
		if err != nil {
			if !timedOut(err) && ctx.Err() == nil {
				ss.emitAuth(user, "", false, "incomplete")
			}
			return "", false
		}
		if !ok {
			t.writeString("\r\n")
			continue
		}
		good := ss.s.users[user][pw]
		ss.emitAuth(user, pw, true, map[bool]string{true: "success", false: "failure"}[good])
		if good {
			if ss.s.style != StyleCisco {
				t.writeString("\r\n")
			}
			return user, true
		}
		tries++
		d := failDelayMin
		if failDelayMax > failDelayMin {
			d += rand.N(failDelayMax - failDelayMin)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return "", false
		}
		if t.writeString(p.failed) != nil {
			return "", false
		}
	}
	return "", false
}

// fingerprint emits what option negotiation revealed about the client, once.
func (ss *session) fingerprint() {
	if ss.fp {
		return
	}
	ss.fp = true
	f := ss.t.snapshot().fields()
	if len(f) == 0 {
		return
	}
	ss.c.Emit(event.Fingerprint, f, "")
}

// emitAuth records one login attempt.
func (ss *session) emitAuth(user, pw string, havePW bool, outcome string) {
	f := map[string]string{"method": "login", "outcome": outcome, "style": ss.s.style}
	service.SetPrintable(f, "username", user)
	if havePW {
		f["password"] = event.SafeTerminal(pw)
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(pw))
		f["secret_kind"] = "plaintext"
	}
	ss.c.Emit(event.Auth, f, "")
}

// shell runs the emulated shell for a logged-in user.
func (ss *session) shell(ctx context.Context, user string) {
	rt := ss.s.rt
	sh := shell.New(shell.Options{
		Hostname:   rt.Config.Hostname,
		User:       user,
		Distro:     rt.Distro,
		IP:         rt.Config.IP,
		MAC:        rt.Config.MAC,
		ClientIP:   ss.c.Peer.Addr().String(),
		ClientPort: int(ss.c.Peer.Port()),
		Services:   services(rt),
		Now:        time.Now,
		Emit: func(typ string, fields map[string]string) {
			f := service.PrintableFields(fields, "command", "username", "url")
			if _, ok := f["username"]; !ok {
				service.SetPrintable(f, "username", user)
			}
			if _, ok := f["via"]; !ok {
				f["via"] = "telnet"
			}
			ss.c.Emit(typ, f, "")
		},
	})
	_ = sh.Interact(ctx, ss.t, true)
}

// motd is what the persona prints after a successful login.
func motd(rt *service.Runtime, host string) string {
	d := rt.Distro
	switch {
	case strings.HasPrefix(d.Slug, "ubuntu"):
		return "Welcome to " + d.Display + " (GNU/Linux " + d.Kernel + " " + d.Arch + ")\n\n" +
			" * Documentation:  https://help.ubuntu.com\n" +
			" * Management:     https://landscape.canonical.com\n" +
			" * Support:        https://ubuntu.com/pro\n\n"
	case d.Slug == "debian" || d.Slug == "kali":
		return "Linux " + host + " " + d.Kernel + " " + d.KernelBuild + " " + d.Arch + "\n\n" +
			"The programs included with the Debian GNU/Linux system are free software;\n" +
			"the exact distribution terms for each program are described in the\n" +
			"individual files in /usr/share/doc/*/copyright.\n\n" +
			"Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n" +
			"permitted by applicable law.\n"
	case d.Slug == "alpine":
		return "Welcome to Alpine!\n\n" +
			"The Alpine Wiki contains a large amount of how-to guides and general\n" +
			"information about administrating Alpine systems.\n" +
			"See <https://wiki.alpinelinux.org/>.\n\n" +
			"You can setup the system with the command: setup-alpine\n\n" +
			"You may change this message by editing /etc/motd.\n\n"
	}
	return ""
}

// crlf turns "\n" line ends into the "\r\n" a terminal needs.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// services is the decky's service list for the shell (ps, ss), or telnet alone
// when the config does not say (a hand-run service).
func services(rt *service.Runtime) []string {
	if len(rt.Config.Services) > 0 {
		return rt.Config.Services
	}
	return []string{"telnet"}
}
