package api

// Authentication: argon2id password hashes, server-side sessions (the cookie holds a
// random 32-byte id, the database its SHA-256), CSRF tokens derived from the session
// id with the server secret, and login throttling per source address and username.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"decnet/internal/store"
)

// Cookie and header names.
const (
	SessionCookie = "decnet_session"
	CSRFHeader    = "X-CSRF-Token"
)

// Password rules.
const (
	GeneratedPasswordLen = 20
	MinPasswordLen       = 10
	MaxPasswordLen       = 256
)

// argon2id parameters (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// randomPassword returns n characters drawn uniformly from passwordAlphabet.
func randomPassword(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(passwordAlphabet[i.Int64()])
	}
	return b.String(), nil
}

func checkPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("a password needs at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("a password may have at most %d bytes", MaxPasswordLen)
	case !utf8.ValidString(pw):
		return errors.New("a password must be valid UTF-8")
	}
	return nil
}

// hashPassword returns the argon2id PHC string of pw.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("api: cannot read random bytes for a password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummyHash is verified against when the username is unknown, so a login takes the
// same time whether or not the user exists. It is made once, by New, not at package
// init: every process of the one binary — each decky's service containers too —
// would otherwise spend 20 MiB and 0.1 s of argon2id on it at start.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("decnet-no-such-user-placeholder")
	if err != nil {
		panic(err)
	}
	return h
})

// verifyPassword reports whether pw matches the PHC string hash (constant time).
func verifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 256<<10 || t == 0 || t > 10 || p == 0 || p > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// --- sessions ---

func newSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("api: cannot read random bytes for a session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashSessionID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// csrfToken is the CSRF token bound to session id: HMAC-SHA256 with the server
// secret, so it is never stored and cannot be derived without the secret.
func (s *Server) csrfToken(id string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionCache keeps recently validated sessions with their user for a few
// seconds so every request does not read the database; changes made through this
// server invalidate entries at once.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]*cachedSession
}

type cachedSession struct {
	sess   store.Session
	user   store.User
	loaded time.Time
}

const (
	sessionCacheTTL    = 5 * time.Second
	sessionCacheMax    = 10000
	touchEvery         = time.Minute // a session's last_seen is written at most this often
	maxThrottleEntries = 10000
)

func (c *sessionCache) init() { c.m = map[string]*cachedSession{} }

func (c *sessionCache) get(idHash string, now time.Time) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[idHash]
	if !ok || now.Sub(e.loaded) > sessionCacheTTL {
		return cachedSession{}, false
	}
	return *e, true
}

func (c *sessionCache) put(idHash string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= sessionCacheMax {
		clear(c.m)
	}
	c.m[idHash] = &e
}

func (c *sessionCache) drop(idHash string) {
	c.mu.Lock()
	delete(c.m, idHash)
	c.mu.Unlock()
}

func (c *sessionCache) dropUser(username string) {
	c.mu.Lock()
	for k, e := range c.m {
		if e.user.Username == username {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// authInfo is the authenticated caller of a request.
type authInfo struct {
	id     string // the raw session id (from the cookie)
	idHash string
	user   store.User
}

type ctxKey struct{}

func authFrom(ctx context.Context) *authInfo {
	a, _ := ctx.Value(ctxKey{}).(*authInfo)
	return a
}

var errNoSession = errors.New("authentication required")

// session resolves the request's session cookie: the caller, or errNoSession.
func (s *Server) session(r *http.Request) (*authInfo, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, errNoSession
	}
	idHash := hashSessionID(c.Value)
	now := time.Now()
	e, ok := s.sessions.get(idHash, now)
	if !ok {
		sess, err := s.st.Session(r.Context(), idHash)
		if err != nil {
			return nil, err
		}
		if sess == nil {
			return nil, errNoSession
		}
		u, err := s.st.User(r.Context(), sess.Username)
		if err != nil {
			return nil, err
		}
		if u == nil {
			return nil, errNoSession
		}
		e = cachedSession{sess: *sess, user: *u, loaded: now}
		s.sessions.put(idHash, e)
	}
	if !now.Before(e.sess.ExpiresAt) || now.Sub(e.sess.LastSeen) > s.cfg.SessionIdle {
		s.sessions.drop(idHash)
		if err := s.st.DeleteSession(r.Context(), idHash); err != nil {
			s.log.Warn("deleting an expired session failed", "err", err)
		}
		return nil, errNoSession
	}
	if now.Sub(e.sess.LastSeen) > min(touchEvery, s.cfg.SessionIdle/4) {
		if err := s.st.TouchSession(r.Context(), idHash, now); err != nil {
			s.log.Warn("recording session activity failed", "err", err)
		} else {
			e.sess.LastSeen = now
			e.loaded = now
			s.sessions.put(idHash, e)
		}
	}
	return &authInfo{id: c.Value, idHash: idHash, user: e.user}, nil
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// --- throttling ---

// throttle counts failures per key in a fixed window from the first failure; at
// limit failures the key is blocked until the window ends. The map is bounded: when
// full, expired entries go first, then arbitrary ones.
type throttle struct {
	mu     sync.Mutex
	m      map[string]*window
	limit  int
	window time.Duration
	max    int
}

type window struct {
	start time.Time
	fails int
}

func newThrottle(limit int, win time.Duration, max int) *throttle {
	return &throttle{m: map[string]*window{}, limit: limit, window: win, max: max}
}

// blocked reports whether key is blocked now and for how long.
func (t *throttle) blocked(key string, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.m[key]
	if !ok {
		return 0, false
	}
	end := w.start.Add(t.window)
	if !now.Before(end) {
		delete(t.m, key)
		return 0, false
	}
	if w.fails >= t.limit {
		return end.Sub(now), true
	}
	return 0, false
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.m[key]
	if ok && !now.Before(w.start.Add(t.window)) {
		ok = false
	}
	if !ok {
		if len(t.m) >= t.max {
			for k, v := range t.m {
				if !now.Before(v.start.Add(t.window)) {
					delete(t.m, k)
				}
			}
			for k := range t.m {
				if len(t.m) < t.max {
					break
				}
				delete(t.m, k)
			}
		}
		w = &window{start: now}
		t.m[key] = w
	}
	w.fails++
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// clientIP is the TCP peer address of r (forwarded headers are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// --- handlers ---

type userJSON struct {
	Username           string `json:"username"`
	Role               string `json:"role"`
	MustChangePassword bool   `json:"must_change_password"`
	CreatedAt          *ts    `json:"created_at,omitempty"`
	UpdatedAt          *ts    `json:"updated_at,omitempty"`
}

func userOut(u store.User, withTimes bool) userJSON {
	out := userJSON{Username: u.Username, Role: u.Role, MustChangePassword: u.MustChangePassword}
	if withTimes {
		c, up := ts(u.CreatedAt), ts(u.UpdatedAt)
		out.CreatedAt, out.UpdatedAt = &c, &up
	}
	return out
}

type meJSON struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrf_token"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	now := time.Now()
	ip := clientIP(r)
	userKey := in.Username
	if len(userKey) > store.MaxUsernameLen {
		userKey = userKey[:store.MaxUsernameLen]
	}
	for _, b := range []struct {
		t   *throttle
		key string
	}{{s.ipLimit, ip}, {s.usrLimit, userKey}} {
		if wait, blocked := b.t.blocked(b.key, now); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeError(w, http.StatusTooManyRequests, "too many failed logins; try again later")
			return
		}
	}
	var u *store.User
	var err error
	if store.ValidUsername(in.Username) && len(in.Password) <= MaxPasswordLen {
		if u, err = s.st.User(r.Context(), in.Username); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	ok := verifyPassword(hash, in.Password) && u != nil
	if !ok {
		s.ipLimit.fail(ip, now)
		s.usrLimit.fail(userKey, now)
		s.log.Info("failed login", "ip", ip, "username", fmt.Sprintf("%q", userKey))
		writeError(w, http.StatusUnauthorized, "invalid username or password")
		return
	}
	s.usrLimit.reset(userKey)
	id, err := newSessionID()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	idHash := hashSessionID(id)
	sess := store.Session{IDHash: idHash, Username: u.Username, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.SessionMax)}
	if err := s.st.CreateSession(r.Context(), sess); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.sessions.put(idHash, cachedSession{sess: sess, user: *u, loaded: now})
	s.setSessionCookie(w, r, id, s.cfg.SessionMax)
	s.log.Info("login", "ip", ip, "username", u.Username)
	writeJSON(w, http.StatusOK, meJSON{User: userOut(*u, false), CSRFToken: s.csrfToken(id)})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	a := authFrom(r.Context())
	s.sessions.drop(a.idHash)
	if err := s.st.DeleteSession(r.Context(), a.idHash); err != nil {
		s.internalError(w, r, err)
		return
	}
	clearSessionCookie(w, r)
	writeJSON(w, http.StatusOK, map[string]string{"status": "logged out"})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	a := authFrom(r.Context())
	writeJSON(w, http.StatusOK, meJSON{User: userOut(a.user, false), CSRFToken: s.csrfToken(a.id)})
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	a := authFrom(r.Context())
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	now := time.Now()
	if wait, blocked := s.usrLimit.blocked(a.user.Username, now); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "too many failed password checks; try again later")
		return
	}
	u, err := s.st.User(r.Context(), a.user.Username)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if u == nil {
		writeError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	if len(in.Current) > MaxPasswordLen || !verifyPassword(u.PasswordHash, in.Current) {
		s.usrLimit.fail(a.user.Username, now)
		writeError(w, http.StatusForbidden, "the current password is wrong")
		return
	}
	if err := checkPassword(in.New); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(in.New), []byte(in.Current)) == 1 {
		writeError(w, http.StatusBadRequest, "the new password must differ from the current one")
		return
	}
	hash, err := hashPassword(in.New)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if _, err := s.st.SetPassword(r.Context(), u.Username, hash, false); err != nil {
		s.internalError(w, r, err)
		return
	}
	// Other sessions of this user end; this one stays.
	if _, err := s.st.DeleteUserSessions(r.Context(), u.Username, a.idHash); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.sessions.dropUser(u.Username)
	u.MustChangePassword = false
	s.log.Info("password changed", "username", u.Username)
	writeJSON(w, http.StatusOK, meJSON{User: userOut(*u, false), CSRFToken: s.csrfToken(a.id)})
}
