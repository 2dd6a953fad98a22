package redis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"decnet/internal/event"
	"decnet/internal/service"
)

// MaxRequest bounds one pending command (all its arguments) in bytes. Real Redis
// allows 512 MiB bulk strings; a honeypot has no use for more than this.
const MaxRequest = 1 << 20

// server is what every connection of one running service shares.
type server struct {
	rt          *service.Runtime
	version     string
	ver         version
	requirePass string
	runID       string
	buildID     string
	started     time.Time
	pid         int
	nextID      atomic.Int64
}

func newServer(rt *service.Runtime) *server {
	v := rt.Persona(KeyVersion)
	if v == "" {
		v = DefaultVersion(rt.Distro)
	}
	pv, _ := parseVersion(v)
	s := &server{
		rt:          rt,
		version:     v,
		ver:         pv,
		requirePass: rt.Persona(KeyRequirePass),
		runID:       randHex(20),
		buildID:     randHex(8),
		// Redis that was started a while ago: an uptime of seconds is a tell.
		started: time.Now().Add(-time.Duration(3+mrand(40)) * 24 * time.Hour).Add(-time.Duration(mrand(86400)) * time.Second),
		pid:     400 + mrand(900),
	}
	s.nextID.Store(int64(2 + mrand(40)))
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		s.serve(c)
	})
}

// budgetReader fails a read once more than max bytes arrived since the last reset,
// bounding redcon's otherwise growing read buffer. first is the first byte read after
// a reset, so the error can name the request kind as Redis does.
type budgetReader struct {
	r     io.Reader
	max   int
	left  int
	first int
	frame respFramer // refuses multibulk headers redcon would spin on (frame.go)
}

var errTooBig = errors.New("request exceeds the per-command size limit")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooBig
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	if n > 0 && b.first < 0 {
		b.first = int(p[0])
	}
	b.left -= n
	if ferr := b.frame.feed(p[:n]); ferr != nil {
		return 0, ferr
	}
	return n, err
}

func (b *budgetReader) reset() { b.left, b.first = b.max, -1 }

// session is one client connection's state.
type session struct {
	s      *server
	c      *service.Conn
	w      *redcon.Writer
	id     int64
	name   string
	authed bool
	proto  int
	db     int
	dbs    [16]*keyspace
	config map[string]string
	quit   bool
	last   time.Time
	cmd    string
}

func (s *server) serve(c *service.Conn) {
	br := &budgetReader{r: c, max: MaxRequest}
	br.reset()
	rd := redcon.NewReader(br)
	ss := &session{
		s:      s,
		c:      c,
		w:      redcon.NewWriter(c),
		id:     s.nextID.Add(1),
		authed: s.requirePass == "",
		proto:  2,
		config: s.defaultConfig(),
		last:   time.Now(),
	}
	ss.dbs[0] = baitKeyspace(time.Now())
	for !ss.quit {
		cmd, err := rd.ReadCommand()
		if err != nil {
			var msg string
			switch {
			case errors.Is(err, errMultibulk):
				msg = "Protocol error: invalid multibulk length"
			case errors.Is(err, errTooBig):
				if br.first == '*' {
					msg = "Protocol error: invalid bulk length"
				} else {
					msg = "Protocol error: too big inline request"
				}
			case isProtocolError(err):
				msg = "Protocol error: " + err.Error()
			}
			if msg != "" {
				c.Emit(event.Error, map[string]string{"error": msg}, "")
				ss.w.WriteError("ERR " + msg)
				ss.w.Flush()
			}
			return
		}
		br.reset()
		if len(cmd.Args) == 0 {
			continue
		}
		ss.handle(cmd)
		if err := ss.w.Flush(); err != nil {
			return
		}
		ss.last = time.Now()
	}
}

// isProtocolError tells redcon's protocol errors (a malformed request, which Redis
// answers) from I/O errors (which end the connection silently).
func isProtocolError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return true
}

// record emits the command event every command gets.
func (ss *session) record(cmd redcon.Command, extra map[string]string) {
	f := map[string]string{
		"verb":    strings.ToLower(service.Printable(string(cmd.Args[0]), 64)),
		"command": commandLine(cmd.Args),
	}
	if !exactArgs(cmd.Args) {
		f["args_b64"] = base64.StdEncoding.EncodeToString(cmd.Raw)
	}
	for k, v := range extra {
		f[k] = v
	}
	ss.c.Emit(event.Command, f, "")
}

// alert emits an alert event for a step of a known Redis attack chain.
func (ss *session) alert(cmd redcon.Command, technique string, extra map[string]string) {
	f := map[string]string{
		"alert":   technique,
		"command": commandLine(cmd.Args),
	}
	for k, v := range extra {
		f[k] = v
	}
	ss.c.Emit(event.Alert, f, "")
}

// maxArg is how much of one argument the command field shows.
const maxArg = 1024

// commandLine is the printable form of a command: arguments (each cut at maxArg
// bytes) joined by spaces, arguments holding spaces or unprintable bytes quoted as
// redis-cli shows them.
func commandLine(args [][]byte) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if b.Len() > 4096 {
			b.WriteString("...")
			break
		}
		s := service.Printable(string(a), maxArg)
		if s != string(a) || strings.ContainsAny(s, " \"") || s == "" {
			s = `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
		}
		b.WriteString(s)
	}
	return b.String()
}

// exactArgs reports whether every argument shows as itself in commandLine: not
// escaped and not cut. When one does not, record adds the exact bytes (args_b64).
func exactArgs(args [][]byte) bool {
	for _, a := range args {
		if service.Printable(string(a), maxArg) != string(a) {
			return false
		}
	}
	return true
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// mrand returns a random int in [0, n).
func mrand(n int) int {
	var b [4]byte
	rand.Read(b[:])
	return int((uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % uint32(n))
}
