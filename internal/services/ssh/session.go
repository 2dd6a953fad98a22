package ssh

import (
	"strconv"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/shell"
)

const (
	// maxEnvPerSession bounds recorded env requests per session channel.
	maxEnvPerSession = 32
	// maxCommand bounds an exec command line (OpenSSH's packet limit is 256 KiB;
	// anything longer here is cut before it reaches the shell or the event).
	maxCommand = 64 << 10
)

// ptyInfo is what the client asked for in pty-req.
type ptyInfo struct {
	Term       string
	Cols, Rows uint32
}

// session is one "session" channel of a logged-in attacker.
type session struct {
	cn *conn
	sc *gossh.ServerConn
	ch gossh.Channel

	mu      sync.Mutex
	pty     *ptyInfo
	env     map[string]string
	started bool
}

func (cn *conn) session(sc *gossh.ServerConn, ch gossh.Channel, reqs <-chan *gossh.Request) {
	s := &session{cn: cn, sc: sc, ch: ch, env: map[string]string{}}
	defer func() {
		ch.Close()
		// x/crypto/ssh needs the request channel drained until the peer's close.
		go gossh.DiscardRequests(reqs)
	}()
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				return
			}
			s.request(req, done)
		case <-done:
			// The program finished and sent its exit status.
			return
		case <-cn.ctx.Done():
			return
		}
	}
}

func (s *session) request(req *gossh.Request, done chan struct{}) {
	reply := func(ok bool) {
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
	switch req.Type {
	case "pty-req":
		var m struct {
			Term          string
			Cols, Rows    uint32
			Width, Height uint32
			Modes         string
		}
		if gossh.Unmarshal(req.Payload, &m) != nil {
			reply(false)
			return
		}
		s.mu.Lock()
		s.pty = &ptyInfo{Term: truncate(m.Term, 64), Cols: m.Cols, Rows: m.Rows}
		s.mu.Unlock()
		reply(true)
	case "window-change":
		var m struct{ Cols, Rows, Width, Height uint32 }
		if gossh.Unmarshal(req.Payload, &m) == nil {
			s.mu.Lock()
			if s.pty != nil {
				s.pty.Cols, s.pty.Rows = m.Cols, m.Rows
			}
			s.mu.Unlock()
		}
		reply(false)
	case "env":
		var m struct{ Name, Value string }
		if gossh.Unmarshal(req.Payload, &m) != nil {
			reply(false)
			return
		}
		s.mu.Lock()
		keep := len(s.env) < maxEnvPerSession
		if keep {
			s.env[m.Name] = m.Value
		}
		s.mu.Unlock()
		if keep {
			s.cn.c.Emit(event.Request, map[string]string{
				"kind": "env", "name": service.Printable(m.Name, 256), "value": service.Printable(m.Value, 4096),
				"username": service.Printable(s.sc.User(), 0),
			}, "")
		}
		// sshd's default AcceptEnv (Debian, Ubuntu, RHEL): LANG and LC_*.
		reply(m.Name == "LANG" || strings.HasPrefix(m.Name, "LC_"))
	case "shell", "exec", "subsystem":
		s.mu.Lock()
		already := s.started
		s.started = true
		s.mu.Unlock()
		if already {
			reply(false)
			return
		}
		var start func() uint32
		switch req.Type {
		case "shell":
			start = s.shell
		case "exec":
			var m struct{ Command string }
			if gossh.Unmarshal(req.Payload, &m) != nil {
				reply(false)
				return
			}
			cmd := truncate(m.Command, maxCommand)
			start = func() uint32 { return s.exec(cmd) }
		case "subsystem":
			var m struct{ Name string }
			if gossh.Unmarshal(req.Payload, &m) != nil || m.Name != "sftp" {
				if m.Name != "" {
					s.cn.c.Emit(event.Request, map[string]string{"kind": "subsystem", "name": service.Printable(m.Name, 256), "username": service.Printable(s.sc.User(), 0)}, "")
				}
				reply(false)
				return
			}
			start = s.sftp
		}
		reply(true)
		go func() {
			defer close(done)
			status := start()
			_, _ = s.ch.SendRequest("exit-status", false, gossh.Marshal(struct{ Status uint32 }{status}))
			_ = s.ch.CloseWrite()
		}()
	default:
		// signal, keepalive@openssh.com, auth-agent-req@openssh.com, x11-req, …
		reply(false)
	}
}

// newShell builds the emulated shell for this session's user.
func (s *session) newShell(via string) *shell.Shell {
	rt := s.cn.s.rt
	user := s.sc.User()
	return shell.New(shell.Options{
		Hostname:   rt.Config.Hostname,
		User:       user,
		Distro:     rt.Distro,
		IP:         rt.Config.IP,
		MAC:        rt.Config.MAC,
		ClientIP:   s.cn.clientIP(),
		Now:        time.Now,
		ClientPort: int(s.cn.c.Peer.Port()),
		Services:   rt.Config.Services,
		Emit: func(typ string, fields map[string]string) {
			// Attacker text the shell reports gets a printable form and, when
			// that is not exact, the raw bytes in *_b64.
			f := service.PrintableFields(fields, "command", "username", "url")
			if _, ok := f["username"]; !ok {
				f["username"] = service.Printable(user, 0)
			}
			if _, ok := f["via"]; !ok {
				f["via"] = via
			}
			s.cn.c.Emit(typ, f, "")
		},
	})
}

func (s *session) shell() uint32 {
	s.mu.Lock()
	crlf := s.pty != nil
	s.mu.Unlock()
	sh := s.newShell("shell")
	if err := sh.Interact(s.cn.ctx, s.ch, crlf); err != nil {
		return 255
	}
	return 0
}

// exec runs one command the way `ssh host cmd` does: SCP sinks are served for
// real, anything else goes to the emulated shell (which reports the command event).
func (s *session) exec(cmd string) uint32 {
	if sc, ok := parseSCPCommand(cmd); ok {
		f := map[string]string{"via": "exec", "username": service.Printable(s.sc.User(), 0)}
		service.SetPrintable(f, "command", cmd)
		s.cn.c.Emit(event.Command, f, "")
		return s.scp(sc)
	}
	sh := s.newShell("exec")
	out, _ := sh.Exec(cmd)
	s.mu.Lock()
	crlf := s.pty != nil
	s.mu.Unlock()
	if crlf {
		out = strings.ReplaceAll(out, "\n", "\r\n")
	}
	_, _ = s.ch.Write([]byte(out))
	return exitStatus(out)
}

// exitStatus guesses the status of an emulated command from its output: 127 for a
// command the shell does not know, 0 otherwise.
func exitStatus(out string) uint32 {
	if strings.Contains(out, "command not found") || strings.Contains(out, ": not found") {
		return 127
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
