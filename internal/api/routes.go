package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"decnet/internal/query"
	"decnet/internal/store"
)

// Access levels of a route.
type access int

const (
	public access = iota // no session (health, login)
	user                 // any logged-in user
	admin                // role admin
)

// route is one API endpoint. duringChange marks the calls a user whose password
// must be changed may still make.
type route struct {
	method, path string
	access       access
	duringChange bool
	h            http.HandlerFunc
}

// Route describes one registered API route (for tests and documentation).
type Route struct {
	Method, Path string
	Public       bool // needs no session
	AdminOnly    bool
}

// Routes lists the API routes the server registers.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = Route{Method: rt.method, Path: rt.path, Public: rt.access == public, AdminOnly: rt.access == admin}
	}
	return out
}

func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/api/health", public, true, s.handleHealth},
		{"POST", "/api/auth/login", public, true, s.handleLogin},
		{"POST", "/api/auth/logout", user, true, s.handleLogout},
		{"GET", "/api/auth/me", user, true, s.handleMe},
		{"POST", "/api/auth/password", user, true, s.handleChangePassword},
		{"GET", "/api/logs", user, false, s.coalesced(s.handleLogs)},
		{"GET", "/api/logs/histogram", user, false, s.coalesced(s.handleHistogram)},
		{"GET", "/api/logs/{id}", user, false, s.handleLog},
		{"GET", "/api/attackers", user, false, s.coalesced(s.handleAttackers)},
		{"GET", "/api/attackers/{key}", user, false, s.coalesced(s.handleAttacker)},
		{"GET", "/api/bounty", user, false, s.coalesced(s.handleBounty)},
		{"GET", "/api/bounty/export", user, false, s.handleBountyExport},
		{"GET", "/api/deckies", user, false, s.handleDeckies},
		{"GET", "/api/stats", user, false, s.handleStats},
		{"GET", "/api/stream", user, false, s.handleStream},
		{"GET", "/api/users", admin, false, s.handleUsers},
		{"POST", "/api/users", admin, false, s.handleCreateUser},
		{"DELETE", "/api/users/{username}", admin, false, s.handleDeleteUser},
		{"POST", "/api/users/{username}/password", admin, false, s.handleResetPassword},
		{"GET", "/api/openapi.json", user, false, s.handleOpenAPI},
	}
}

// ContentSecurityPolicy is sent with every response.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// maxBody bounds a JSON request body.
const maxBody = 64 << 10

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.guard(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// A known path asked with another method is 405 with Allow, else 404.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pat := mux.Handler(r2); pat != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, "this API route does not take "+r.Method)
			return
		}
		writeError(w, http.StatusNotFound, "no such API route")
	})
	mux.HandleFunc("/", s.handleSPA)
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// guard applies a route's access rules: session, CSRF token on every non-GET,
// the forced password change, the role.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if rt.access == public {
			rt.h(w, r)
			return
		}
		a, err := s.session(r)
		if errors.Is(err, errNoSession) {
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(CSRFHeader)
			if got == "" || !constantEqual(got, s.csrfToken(a.id)) {
				writeError(w, http.StatusForbidden, "missing or wrong CSRF token (send the X-CSRF-Token header)")
				return
			}
		}
		if a.user.MustChangePassword && !rt.duringChange {
			writeError(w, http.StatusForbidden, "password change required")
			return
		}
		if rt.access == admin && a.user.Role != store.RoleAdmin {
			writeError(w, http.StatusForbidden, "this needs the admin role")
			return
		}
		rt.h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
	})
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// --- JSON helpers ---

// ts is a time encoded as RFC 3339 UTC with microseconds.
type ts time.Time

const tsLayout = "2006-01-02T15:04:05.000000Z07:00"

func (t ts) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(tsLayout) + `"`), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "the response could not be encoded")
		return
	}
	writeOwnedJSON(w, code, buf.Bytes())
}

// writeRawJSON sends body, a whole JSON document, with its Content-Length: net/http
// then hands it to the connection in one write, where a body of unknown length is
// sent in chunks of its 2 KiB buffer, one system call each (a 100-event search page
// is ~60 KiB: 30 writes instead of one; measured with wrk at 500 connections).
func writeRawJSON(w http.ResponseWriter, code int, body []byte) {
	writeJSONHeader(w, code, len(body))
	w.Write(body)
}

// writeOwnedJSON is writeRawJSON for a body that nobody uses afterwards: a coalesced
// answer keeps it as it is instead of copying it (a search page is ~60 KiB).
func writeOwnedJSON(w http.ResponseWriter, code int, body []byte) {
	sendOwnedJSON(w, code, body, false)
}

// writePageJSON is writeOwnedJSON for a body from getPage: it goes back to
// pagePool once sent (by coalesced, when a coalesced answer keeps it).
func writePageJSON(w http.ResponseWriter, code int, body []byte) {
	sendOwnedJSON(w, code, body, true)
}

func sendOwnedJSON(w http.ResponseWriter, code int, body []byte, pooled bool) {
	writeJSONHeader(w, code, len(body))
	if b, ok := w.(*bufWriter); ok && b.body == nil {
		b.body, b.pooled = body, pooled
		return
	}
	w.Write(body) // a ResponseWriter does not keep what it is given
	if pooled {
		putPage(body)
	}
}

func writeJSONHeader(w http.ResponseWriter, code, n int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(code)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeRawJSON(w, code, append(b, '\n'))
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error; see the server log")
}

// queryError answers a store or query error: a refused query is the client's
// fault (400), anything else the server's.
func (s *Server) queryError(w http.ResponseWriter, r *http.Request, err error) {
	var qe *query.Error
	if errors.As(err, &qe) || errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.internalError(w, r, err)
}

// decodeJSON reads a JSON object body into v; on failure it answers and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "the request body must be JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "the request body is too large")
			return false
		}
		writeError(w, http.StatusBadRequest, "the request body is not the expected JSON object")
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "the request body has data after the JSON object")
		return false
	}
	return true
}
