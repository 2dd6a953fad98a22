package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"decnet/internal/catalog"
	"decnet/internal/event"
)

// Config is what a service process reads at start: the decky it runs on, its persona
// values and its per-decky secrets. Deploy writes it as JSON into the decky's state
// directory, mounted read-only into the service container.
type Config struct {
	Decky    string `json:"decky"`
	Hostname string `json:"hostname"`
	IP       string `json:"ip"`
	MAC      string `json:"mac,omitempty"`
	// Services names every service of the decky (this one included), so what a
	// service shows of the machine (ps, ss, banners) agrees with a port scan.
	Services    []string          `json:"services,omitempty"`
	Distro      string            `json:"distro"`
	OSFamily    string            `json:"os_family"`
	Service     string            `json:"service"`
	Persona     map[string]string `json:"persona"`
	Secrets     map[string]string `json:"secrets,omitempty"`
	ArtifactDir string            `json:"artifact_dir,omitempty"` // where captured files go; empty: not kept
}

// Limits bound what one attacker can cost a service.
type Limits struct {
	MaxConns     int           // open connections in total
	MaxPerSource int           // open connections from one source IP
	IdleTimeout  time.Duration // a read that waits longer ends the connection
	MaxSession   time.Duration // no connection lives longer
	MaxLine      int           // longest line a line-oriented protocol reads
	MaxArtifact  int64         // largest captured file kept (larger uploads are truncated, hashed whole)
	// UDP has no connections to count, so datagrams are metered instead: one
	// source gets DatagramsPerSource handled per second, all sources together
	// DatagramsTotal per UDP service (each with a burst of twice that). A datagram
	// over the budget is dropped unanswered and counted in a summarised refusal
	// event, so a flood can neither drown the pipeline in events nor use the decky
	// as a reflector against a spoofed source.
	DatagramsPerSource float64
	DatagramsTotal     float64
}

// DefaultLimits are the limits a deployed service runs with.
var DefaultLimits = Limits{
	MaxConns:     512,
	MaxPerSource: 32,
	IdleTimeout:  2 * time.Minute,
	MaxSession:   30 * time.Minute,
	MaxLine:      8 << 10,
	MaxArtifact:  16 << 20,
	// Scanners and brute-forcers send a few to a hundred datagrams a second
	// (onesixtyone: one per 10 ms); replies stay below that rate per victim.
	DatagramsPerSource: 100,
	DatagramsTotal:     2000,
}

// Runtime is what a running service uses: its config, persona, secrets, listeners and
// the event emitter.
type Runtime struct {
	Config Config
	Distro catalog.Distro
	Limits Limits
	Log    *slog.Logger

	// Sink receives every event. Main sets it to write RFC 5424 lines to stdout.
	Sink func(event.Event)
	// Bind overrides the address a declared port listens on (tests use "127.0.0.1:0").
	// Without an entry a port listens on ":<port>".
	Bind map[int]string
	// OnListen, if set, is told the address each declared port got.
	OnListen func(port int, addr net.Addr)

	mu      sync.Mutex
	open    int
	perSrc  map[netip.Addr]int
	refusal map[netip.Addr]*refusal
	udpSrc  map[netip.Addr]*bucket
	udpAll  bucket
}

// bucket is a token bucket: rate tokens a second, at most 2×rate held.
type bucket struct {
	tokens float64
	at     time.Time
}

// take refills b for the time since its last use and takes one token if it has one.
func (b *bucket) take(now time.Time, rate float64) bool {
	if b.at.IsZero() {
		b.tokens = 2 * rate
	} else {
		b.tokens = min(2*rate, b.tokens+now.Sub(b.at).Seconds()*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// maxUDPSources bounds the per-source datagram budgets kept at once.
const maxUDPSources = 16384

// AdmitDatagram reports whether a datagram from peer to port is within the UDP
// limits (see Limits); a datagram that is not is recorded as refused. ServeUDP
// calls it for every datagram; a service reading its own UDP sockets must too.
func (rt *Runtime) AdmitDatagram(peer netip.AddrPort, port int) bool {
	now := time.Now()
	src := peer.Addr()
	rt.mu.Lock()
	b := rt.udpSrc[src]
	if b == nil {
		if len(rt.udpSrc) >= maxUDPSources {
			// Forget the sources whose budget is full again (nothing to remember);
			// under a flood from more sources than that, start over: the total
			// budget still holds.
			for a, old := range rt.udpSrc {
				if now.Sub(old.at).Seconds()*rt.Limits.DatagramsPerSource >= 2*rt.Limits.DatagramsPerSource {
					delete(rt.udpSrc, a)
				}
			}
			if len(rt.udpSrc) >= maxUDPSources {
				clear(rt.udpSrc)
			}
		}
		b = &bucket{}
		rt.udpSrc[src] = b
	}
	ok := b.take(now, rt.Limits.DatagramsPerSource) && rt.udpAll.take(now, rt.Limits.DatagramsTotal)
	rt.mu.Unlock()
	if !ok {
		rt.refused(peer, "datagram rate", port)
	}
	return ok
}

// refusal aggregates refused connections from one source, so a flood becomes a
// few summarised events instead of one per connection (nothing is lost: each
// event counts the refusals it stands for).
type refusal struct {
	last       time.Time
	suppressed int
	timer      *time.Timer // pending summary of suppressed refusals
}

// RefusalWindow is how often a source that keeps being refused gets a new event.
const RefusalWindow = 10 * time.Second

// NewRuntime builds a runtime for cfg. The distro comes from the catalog; an unknown
// distro is an error.
func NewRuntime(cfg Config) (*Runtime, error) {
	d, ok := catalog.LookupDistro(cfg.Distro)
	if !ok {
		return nil, fmt.Errorf("unknown distro %q in service config", cfg.Distro)
	}
	if cfg.Persona == nil {
		cfg.Persona = map[string]string{}
	}
	return &Runtime{
		Config:  cfg,
		Distro:  d,
		Limits:  DefaultLimits,
		Log:     slog.New(slog.NewTextHandler(os.Stderr, nil)).With("decky", cfg.Decky, "service", cfg.Service),
		perSrc:  map[netip.Addr]int{},
		refusal: map[netip.Addr]*refusal{},
		udpSrc:  map[netip.Addr]*bucket{},
	}, nil
}

// Persona returns a persona value (already validated and defaulted at deploy time).
func (rt *Runtime) Persona(key string) string { return rt.Config.Persona[key] }

// PersonaInt returns an int persona value, or def when unset.
func (rt *Runtime) PersonaInt(key string, def int) int {
	if n, err := strconv.Atoi(rt.Config.Persona[key]); err == nil {
		return n
	}
	return def
}

// PersonaBool returns a bool persona value, or def when unset.
func (rt *Runtime) PersonaBool(key string, def bool) bool {
	if b, err := ParseBool(rt.Config.Persona[key]); err == nil {
		return b
	}
	return def
}

// PersonaList returns a list persona value.
func (rt *Runtime) PersonaList(key string) []string { return SplitList(rt.Config.Persona[key]) }

// Secret returns a per-decky secret generated at deploy time.
func (rt *Runtime) Secret(name string) string { return rt.Config.Secrets[name] }

// Emit records an event from peer. fields may be nil.
func (rt *Runtime) Emit(typ string, peer netip.AddrPort, fields map[string]string, msg string) {
	e := event.Event{
		ID:      uuid.Must(uuid.NewV7()).String(),
		Time:    time.Now().UTC().Truncate(time.Microsecond),
		Decky:   rt.Config.Decky,
		Service: rt.Config.Service,
		Type:    typ,
		Fields:  fields,
		Msg:     msg,
	}
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if peer.IsValid() {
		e.AttackerIP = peer.Addr().Unmap().String()
		e.AttackerPort = int(peer.Port())
	}
	if rt.Sink != nil {
		rt.Sink(e)
	}
}

// LineSink returns a Sink that writes each event as one RFC 5424 line to w.
// Writes are serialised; an event that cannot be formatted is reported on log.
func LineSink(w io.Writer, log *slog.Logger) func(event.Event) {
	var mu sync.Mutex
	return func(e event.Event) {
		line, err := event.Format(e)
		if err != nil {
			log.Error("event dropped: cannot format", "type", e.Type, "err", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, err := w.Write(append(line, '\n')); err != nil {
			log.Error("event write failed", "err", err)
		}
	}
}

func (rt *Runtime) addr(port int) string {
	if a, ok := rt.Bind[port]; ok {
		return a
	}
	return ":" + strconv.Itoa(port)
}

// admit reserves a connection slot for src, or says why not.
func (rt *Runtime) admit(src netip.Addr) (bool, string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.open >= rt.Limits.MaxConns {
		return false, "total connection limit"
	}
	if rt.perSrc[src] >= rt.Limits.MaxPerSource {
		return false, "per-source connection limit"
	}
	rt.open++
	rt.perSrc[src]++
	return true, ""
}

// refused records a connection refused by the limits: the first from a source at
// once; further ones within RefusalWindow are counted and reported together in one
// event when the window ends.
func (rt *Runtime) refused(peer netip.AddrPort, why string, port int) {
	now := time.Now()
	src := peer.Addr()
	rt.mu.Lock()
	r := rt.refusal[src]
	if r == nil {
		if len(rt.refusal) >= 4096 { // bound the table under a many-source flood
			for a, old := range rt.refusal {
				if old.timer == nil && now.Sub(old.last) > RefusalWindow {
					delete(rt.refusal, a)
				}
			}
		}
		r = &refusal{}
		rt.refusal[src] = r
	}
	fields := func(count int) map[string]string {
		return map[string]string{"outcome": "refused", "reason": why, "port": strconv.Itoa(port), "count": strconv.Itoa(count)}
	}
	if now.Sub(r.last) >= RefusalWindow && r.timer == nil {
		r.last = now
		rt.mu.Unlock()
		rt.Emit(event.Connect, peer, fields(1), "")
		return
	}
	defer rt.mu.Unlock()
	r.suppressed++
	if r.timer == nil {
		r.timer = time.AfterFunc(time.Until(r.last.Add(RefusalWindow)), func() {
			rt.mu.Lock()
			n := r.suppressed
			r.suppressed, r.timer, r.last = 0, nil, time.Now()
			rt.mu.Unlock()
			rt.Emit(event.Connect, peer, fields(n), "")
		})
	}
}

func (rt *Runtime) release(src netip.Addr) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.open--
	if rt.perSrc[src]--; rt.perSrc[src] <= 0 {
		delete(rt.perSrc, src)
	}
}

// OpenConns reports the connections currently open (for tests and health).
func (rt *Runtime) OpenConns() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.open
}

// ListenTCP listens on a declared port and returns a listener whose Accept admits
// connections within the limits, emits connect and disconnect events, and returns
// *Conn values. Use it for servers that own their accept loop (net/http); otherwise
// prefer ServeTCP.
func (rt *Runtime) ListenTCP(port int) (net.Listener, error) {
	l, err := net.Listen("tcp", rt.addr(port))
	if err != nil {
		return nil, fmt.Errorf("listen on %d/tcp: %w", port, err)
	}
	if rt.OnListen != nil {
		rt.OnListen(port, l.Addr())
	}
	return &listener{Listener: l, rt: rt, port: port}, nil
}

type listener struct {
	net.Listener
	rt   *Runtime
	port int
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return nil, err
		}
		peer, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
		if ok, why := l.rt.admit(peer.Addr()); !ok {
			c.Close()
			l.rt.refused(peer, why, l.port)
			continue
		}
		conn := &Conn{Conn: c, Peer: peer, Port: l.port, Started: time.Now(), rt: l.rt}
		_ = c.SetDeadline(conn.Started.Add(l.rt.Limits.MaxSession))
		l.rt.Emit(event.Connect, peer, map[string]string{"port": strconv.Itoa(l.port)}, "")
		return conn, nil
	}
}

// Conn is an admitted attacker connection.
type Conn struct {
	net.Conn
	Peer    netip.AddrPort
	Port    int // the service port it came in on
	Started time.Time
	rt      *Runtime

	in, out atomic.Int64
	once    sync.Once
	aborted atomic.Bool  // a read deadline in the past is set: reads fail at once
	inRead  atomic.Int32 // reads in flight
}

// Read reads with the runtime's idle timeout (bounded by the session deadline).
func (c *Conn) Read(p []byte) (int, error) {
	c.inRead.Add(1)
	defer c.inRead.Add(-1)
	if c.aborted.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	dl := time.Now().Add(c.rt.Limits.IdleTimeout)
	if end := c.Started.Add(c.rt.Limits.MaxSession); end.Before(dl) {
		dl = end
	}
	_ = c.Conn.SetReadDeadline(dl)
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// SetReadDeadline honours a zero deadline (no interruption) and a past one (end the
// read in flight now and fail reads until the deadline is cleared: net/http does
// this to stop its background read when it hijacks a connection or finishes a
// request). A future deadline is left to the runtime, which sets its own idle and
// session deadline on every Read.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if t.IsZero() || t.After(time.Now()) {
		c.aborted.Store(false)
		return nil
	}
	c.aborted.Store(true)
	// A read in flight may set the runtime's deadline just after ours: keep
	// setting ours until it has returned.
	for c.inRead.Load() > 0 {
		_ = c.Conn.SetReadDeadline(t)
		time.Sleep(time.Millisecond)
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline sets the write deadline and, as SetReadDeadline does, the read one.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// Close closes the connection once and emits the disconnect event.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.rt.release(c.Peer.Addr())
		c.rt.Emit(event.Disconnect, c.Peer, map[string]string{
			"port":        strconv.Itoa(c.Port),
			"duration_ms": strconv.FormatInt(time.Since(c.Started).Milliseconds(), 10),
			"bytes_in":    strconv.FormatInt(c.in.Load(), 10),
			"bytes_out":   strconv.FormatInt(c.out.Load(), 10),
		}, "")
	})
	return err
}

// Emit records an event from this connection's peer.
func (c *Conn) Emit(typ string, fields map[string]string, msg string) {
	c.rt.Emit(typ, c.Peer, fields, msg)
}

// ServeTCP accepts connections on a declared port until ctx ends, running handler in
// its own goroutine per connection. A panic in handler ends only that connection (an
// error event records it). The connection is closed when handler returns.
func (rt *Runtime) ServeTCP(ctx context.Context, port int, handler func(ctx context.Context, c *Conn)) error {
	l, err := rt.ListenTCP(port)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %d/tcp: %w", port, err)
		}
		c := nc.(*Conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			// Closing the connection on shutdown unblocks the handler's reads.
			defer context.AfterFunc(cctx, func() { c.Conn.Close() })()
			defer rt.recoverConn(c.Peer)
			handler(cctx, c)
		}()
	}
}

func (rt *Runtime) recoverConn(peer netip.AddrPort) {
	if r := recover(); r != nil {
		rt.Log.Error("handler panic", "peer", peer.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		rt.Emit(event.Error, peer, map[string]string{"error": "internal error"}, "")
	}
}

// Packet is one UDP datagram from an attacker.
type Packet struct {
	Data []byte
	Peer netip.AddrPort
	Port int
	conn *net.UDPConn
}

// Reply sends a datagram back to the packet's sender.
func (p *Packet) Reply(b []byte) error {
	_, err := p.conn.WriteToUDPAddrPort(b, p.Peer)
	return err
}

// ServeUDP reads datagrams on a declared port until ctx ends and calls handler for
// each admitted by the UDP limits (AdmitDatagram), one at a time, with panic
// isolation per datagram.
func (rt *Runtime) ServeUDP(ctx context.Context, port int, handler func(ctx context.Context, p *Packet)) error {
	pc, err := net.ListenPacket("udp", rt.addr(port))
	if err != nil {
		return fmt.Errorf("listen on %d/udp: %w", port, err)
	}
	if rt.OnListen != nil {
		rt.OnListen(port, pc.LocalAddr())
	}
	uc := pc.(*net.UDPConn)
	defer context.AfterFunc(ctx, func() { uc.Close() })()
	buf := make([]byte, 65535)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read on %d/udp: %w", port, err)
		}
		peer := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !rt.AdmitDatagram(peer, port) {
			continue
		}
		p := &Packet{Data: append([]byte(nil), buf[:n]...), Peer: peer, Port: port, conn: uc}
		func() {
			defer rt.recoverConn(p.Peer)
			handler(ctx, p)
		}()
	}
}

// SaveArtifact stores a file an attacker sent (an upload) and returns its SHA-256 and
// the stored size. Data beyond Limits.MaxArtifact is hashed but not kept; the name
// on disk is the hash, so attacker-chosen names never reach the filesystem.
func (rt *Runtime) SaveArtifact(r io.Reader) (sum string, size int64, stored bool, err error) {
	h := sha256.New()
	var keep io.Writer = io.Discard
	var f *os.File
	if rt.Config.ArtifactDir != "" {
		if f, err = os.CreateTemp(rt.Config.ArtifactDir, ".upload-*"); err != nil {
			rt.Log.Warn("artifact not kept", "err", err)
		} else {
			keep = &capWriter{w: f, left: rt.Limits.MaxArtifact}
		}
	}
	size, err = io.Copy(io.MultiWriter(h, keep), r)
	sum = hex.EncodeToString(h.Sum(nil))
	if f != nil {
		f.Close()
		if size <= rt.Limits.MaxArtifact {
			stored = os.Rename(f.Name(), filepath.Join(rt.Config.ArtifactDir, sum)) == nil
		}
		if !stored {
			os.Remove(f.Name())
		}
	}
	return sum, size, stored, err
}

type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	n := len(p)
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	if len(p) > 0 {
		if _, err := c.w.Write(p); err != nil {
			return 0, err
		}
		c.left -= int64(len(p))
	}
	return n, nil
}
