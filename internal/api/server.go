// Package api is DECNET's HTTP server: the JSON REST API (logs, attackers, bounty,
// deckies, stats, users), the live Server-Sent Events stream fed by the ingester's
// bus, authentication (users, server-side sessions, CSRF, roles, login throttling),
// the OpenAPI document, and the embedded dashboard (SPA) on the same port.
//
// Every response carries the strict Content-Security-Policy and the other security
// headers; every route except /api/health and /api/auth/login needs a session.
// Everything it returns is attacker-controlled text encoded as JSON strings: the
// dashboard renders it as text, never as HTML.
package api

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"decnet/internal/bus"
	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/store"
)

// ContainerStatus is the part of an engine the API reads: the containers of a
// compose project and their runtime state, and the ports open in a decky.
// engine.Engine satisfies it.
type ContainerStatus interface {
	Status(ctx context.Context, project string) ([]engine.ContainerState, error)
	Listening(ctx context.Context, project, decky string) ([]fleet.Port, error)
}

// Config configures a Server.
type Config struct {
	Store    store.Store // required
	Bus      *bus.Bus    // the live feed of stored events; nil: /api/stream only replays
	StateDir string      // the deployment state directory (decnet-state.json), absolute
	// Engine gives the deckies' container states; nil shows them as "unknown".
	Engine ContainerStatus
	// Assets is the dashboard (index.html and its files); nil serves a 404 page.
	Assets fs.FS
	Log    *slog.Logger
	// AdminPassword is the first admin's password when no user exists yet; empty
	// generates a random one, printed once to PasswordOut.
	AdminPassword string
	PasswordOut   io.Writer // default os.Stderr

	// Tunables; zero means the default.
	Heartbeat   time.Duration // SSE comment heartbeat (15s)
	SessionIdle time.Duration // idle expiry of a session (1h)
	SessionMax  time.Duration // absolute expiry of a session (12h)
	MaxStreams  int           // concurrent /api/stream clients (4096)
	LoginLimit  int           // failed logins per source IP or username per LoginWindow (5)
	LoginWindow time.Duration // (15m)
	// RowCache is how many bytes of searched events' JSON are kept in memory
	// (DefaultRowCache(); negative, or under 32 MiB: none). See rowCache.
	RowCache int64
}

// Defaults of Config.
const (
	DefaultHeartbeat   = 15 * time.Second
	DefaultSessionIdle = time.Hour
	DefaultSessionMax  = 12 * time.Hour
	DefaultMaxStreams  = 4096
	DefaultLoginLimit  = 5
	DefaultLoginWindow = 15 * time.Minute
	// DefaultListen is where `decnet api` listens unless told otherwise: loopback.
	DefaultListen = "127.0.0.1:8080"
)

// Server is the API server.
type Server struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	secret  []byte // HMAC key of CSRF tokens, stored in the database on first run
	routes  []route
	handler http.Handler

	sessions sessionCache
	ipLimit  *throttle
	usrLimit *throttle
	streams  atomic.Int64
	flight   singleflight.Group
	gate     chan struct{} // FIFO admission of read computations (coalesce.go)
	answers  answerCache   // coalesced reads' answers while the data is unchanged
	rows     *rowCache     // searched events' JSON (nil: none)
	warmOnce sync.Once     // the row cache's warm-up runs at the first Serve
	warmed   chan struct{} // closed when the warm-up has ended
	warm     RowWarm       // what it did, once warmed is closed
	frames   frameCache
	assetsGz gzipAssets // the dashboard's files, compressed (spa.go)

	statsMu    sync.Mutex
	statsCache map[string]*statsEntry
	deckyMu    sync.Mutex
	deckyCache cachedJSON
}

type cachedJSON struct {
	at   time.Time
	body []byte
}

// New checks cfg, loads (or creates on first run) the server secret and, when no
// user exists, creates the admin account with a random (or the configured)
// password that must be changed at first login.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: no store configured")
	}
	dummyHash() // before the first login, so that one takes no longer than the others
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.PasswordOut == nil {
		cfg.PasswordOut = os.Stderr
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.LoginLimit <= 0 {
		cfg.LoginLimit = DefaultLoginLimit
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = DefaultLoginWindow
	}
	if cfg.RowCache == 0 {
		cfg.RowCache = DefaultRowCache()
	}
	if cfg.AdminPassword != "" {
		if err := checkPassword(cfg.AdminPassword); err != nil {
			return nil, fmt.Errorf("api: the configured admin password is not usable: %w", err)
		}
	}
	s := &Server{cfg: cfg, st: cfg.Store, log: cfg.Log, statsCache: map[string]*statsEntry{},
		ipLimit:  newThrottle(cfg.LoginLimit, cfg.LoginWindow, maxThrottleEntries),
		usrLimit: newThrottle(cfg.LoginLimit, cfg.LoginWindow, maxThrottleEntries)}
	s.sessions.init()
	s.gate = make(chan struct{}, readSlots)
	s.rows = newRowCache(cfg.RowCache)
	s.warmed = make(chan struct{})
	if s.rows == nil {
		close(s.warmed)
	} else {
		// Searches take their ids from store.LogIDs: a first call starts SQLite's
		// in-memory id lists (built in the background, ~2.5 s for a million
		// events), so that they are ready before the first users search.
		if _, err := cfg.Store.LogIDs(context.Background(), store.LogQuery{Limit: 1}); err != nil {
			return nil, fmt.Errorf("api: cannot read the stored events: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret, err := cfg.Store.Secret(ctx, "api_session", func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.RawStdEncoding.EncodeToString(b), nil
	})
	if err != nil {
		return nil, fmt.Errorf("api: cannot load the session secret: %w", err)
	}
	if s.secret, err = base64.RawStdEncoding.DecodeString(secret); err != nil || len(s.secret) < 32 {
		return nil, errors.New("api: the stored session secret is damaged (state row secret:api_session); delete it to generate a new one")
	}
	if err := s.ensureAdmin(ctx); err != nil {
		return nil, err
	}
	s.routes = s.routeTable()
	s.handler = s.buildHandler()
	return s, nil
}

// ensureAdmin creates the first admin when there is no user at all.
func (s *Server) ensureAdmin(ctx context.Context) error {
	users, err := s.st.Users(ctx)
	if err != nil {
		return fmt.Errorf("api: cannot read the users: %w", err)
	}
	if len(users) > 0 {
		return nil
	}
	pw, generated := s.cfg.AdminPassword, false
	if pw == "" {
		if pw, err = randomPassword(GeneratedPasswordLen); err != nil {
			return fmt.Errorf("api: cannot generate the admin password: %w", err)
		}
		generated = true
	}
	hash, err := hashPassword(pw)
	if err != nil {
		return err
	}
	err = s.st.CreateUser(ctx, store.User{Username: "admin", Role: store.RoleAdmin, PasswordHash: hash, MustChangePassword: true})
	if errors.Is(err, store.ErrExists) {
		return nil // another process created it first; its password stands
	}
	if err != nil {
		return fmt.Errorf("api: cannot create the admin user: %w", err)
	}
	if generated {
		fmt.Fprintf(s.cfg.PasswordOut, "decnet api: created user \"admin\" with password %s (shown only now; it must be changed at first login)\n", pw)
	} else {
		fmt.Fprintln(s.cfg.PasswordOut, "decnet api: created user \"admin\" with the configured password (it must be changed at first login)")
	}
	return nil
}

// Handler returns the HTTP handler of the whole server (API and dashboard).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx ends, then shuts down gracefully (open streams
// are ended). tlsCfg may be nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	base, stop := context.WithCancel(context.Background())
	defer stop()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // the stream extends its own deadline per write
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsCfg,
	}
	srv.RegisterOnShutdown(stop)
	var loops sync.WaitGroup
	defer func() { stop(); loops.Wait() }() // they end with base
	loops.Go(func() { s.pruneLoop(base) })
	loops.Go(func() { s.foldLoop(base) })
	if s.rows != nil {
		s.warmOnce.Do(func() { loops.Go(func() { s.warmRows(base) }) })
		loops.Go(func() { s.tuneGC(base) })
	}
	errc := make(chan error, 1)
	ln = sendBufListener{ln}
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connSendBuffer is the socket send buffer of every accepted connection. Linux
// starts a TCP socket at 16 KiB and grows it as the connection proves it can take
// more, so a search page (~60 KiB) went out in several writes, the goroutine
// waiting between them for the client to read; with room for whole pages,
// bench/api's varied searches at 500 clients went from 11,000 to 12,300-13,500
// requests/s. The kernel takes the memory only while data waits to be read.
const connSendBuffer = 256 << 10

// sendBufListener sets connSendBuffer on the TCP connections it accepts.
type sendBufListener struct{ net.Listener }

func (l sendBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(connSendBuffer) // best effort: the default still works
	}
	return c, err
}

// Run listens on addr (plain HTTP) and serves until ctx ends.
func (s *Server) Run(ctx context.Context, addr string) error {
	return s.RunTLS(ctx, addr, "", "")
}

// RunTLS listens on addr and serves HTTPS with the certificate and key files, or
// plain HTTP when both are empty, until ctx ends.
func (s *Server) RunTLS(ctx context.Context, addr, certFile, keyFile string) error {
	var tlsCfg *tls.Config
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("api: cannot load the TLS certificate %s and key %s: %w", certFile, keyFile, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: cannot listen on %s: %w", addr, err)
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	s.log.Info("API and dashboard listening", "url", scheme+"://"+ln.Addr().String()+"/")
	return s.Serve(ctx, ln, tlsCfg)
}

// pruneLoop removes expired sessions from the database now and then.
func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		if _, err := s.st.PruneSessions(ctx, now, now.Add(-s.cfg.SessionIdle)); err != nil && ctx.Err() == nil {
			s.log.Warn("pruning expired sessions failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
