package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/store/storetest"
)

func TestEveryRouteNeedsAuth(t *testing.T) {
	e := newEnv(t, nil)
	routes := e.srv.Routes()
	if len(routes) < 15 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	bogus := e.client()
	for _, rt := range routes {
		if rt.Public {
			if rt.Path != "/api/health" && rt.Path != "/api/auth/login" {
				t.Errorf("%s %s is public; only health and login may be", rt.Method, rt.Path)
			}
			continue
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			c := e.client()
			r := c.do(rt.Method, pathOf(rt.Path), nil)
			if r.code != http.StatusUnauthorized {
				t.Errorf("without a session: %d %s; want 401", r.code, r.body)
			}
			if ct := r.hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			// A forged cookie is no session either.
			req, _ := http.NewRequest(rt.Method, e.ts.URL+pathOf(rt.Path), nil)
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "forged-session-id-forged-session-id-000000"})
			res, err := bogus.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("with a forged cookie: %d; want 401", res.StatusCode)
			}
		})
	}
	if r := e.client().get("/api/health"); r.code != http.StatusOK || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("health: %d %s", r.code, r.body)
	}
}

func TestViewerCannotReachAdminRoutes(t *testing.T) {
	e := newEnv(t, nil)
	adm := e.admin()
	v := e.viewer(adm, "watcher")
	admins := 0
	for _, rt := range e.srv.Routes() {
		if rt.Public || rt.Path == "/api/auth/logout" || rt.Path == "/api/auth/password" || rt.Path == "/api/stream" {
			continue
		}
		var body any
		if rt.Method == "POST" {
			body = map[string]string{}
		}
		r := v.do(rt.Method, pathOf(rt.Path), body)
		if rt.AdminOnly {
			admins++
			if r.code != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d %s; want 403", rt.Method, rt.Path, r.code, r.body)
			}
			continue
		}
		if r.code == http.StatusForbidden || r.code == http.StatusUnauthorized {
			t.Errorf("viewer %s %s: %d %s; a viewer may read this", rt.Method, rt.Path, r.code, r.body)
		}
	}
	if admins != 4 {
		t.Errorf("%d admin-only routes; want the 4 user routes", admins)
	}
	if r := adm.get("/api/users"); r.code != http.StatusOK || !strings.Contains(string(r.body), `"watcher"`) {
		t.Errorf("admin GET /api/users: %d %s", r.code, r.body)
	}
}

var pwLine = regexp.MustCompile(`with password (\S+) `)

func TestFirstRunPasswordIsRandom(t *testing.T) {
	var pws []string
	for range 2 {
		e := newEnv(t, func(c *Config) { c.AdminPassword = "" })
		m := pwLine.FindStringSubmatch(e.out.String())
		if m == nil {
			t.Fatalf("no password printed: %q", e.out.String())
		}
		pw := m[1]
		if len(pw) < GeneratedPasswordLen {
			t.Errorf("generated password %q has %d characters; want ≥ %d", pw, len(pw), GeneratedPasswordLen)
		}
		pws = append(pws, pw)
		// Printed once: a second start on the same database prints nothing.
		var again bytes.Buffer
		if _, err := New(Config{Store: e.st, PasswordOut: &again}); err != nil {
			t.Fatal(err)
		}
		if again.Len() != 0 {
			t.Errorf("second start printed %q", again.String())
		}
		c := e.client()
		if r := c.login("admin", pw); r.code != http.StatusOK || !strings.Contains(string(r.body), `"must_change_password":true`) {
			t.Errorf("login with the printed password: %d %s", r.code, r.body)
		}
		for _, guess := range []string{"admin", "password", "decnet", "changeme", ""} {
			if r := e.client().login("admin", guess); r.code == http.StatusOK {
				t.Errorf("admin logs in with %q", guess)
			}
		}
	}
	if pws[0] == pws[1] {
		t.Errorf("two fresh databases got the same admin password %q", pws[0])
	}
}

func TestForcedPasswordChange(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	if r := c.login("admin", testAdminPW); r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	for _, p := range []string{"/api/logs", "/api/stats", "/api/users", "/api/openapi.json"} {
		if r := c.get(p); r.code != http.StatusForbidden || r.errMsg() != "password change required" {
			t.Errorf("GET %s before the change: %d %s", p, r.code, r.body)
		}
	}
	if r := c.get("/api/auth/me"); r.code != http.StatusOK || !strings.Contains(string(r.body), `"must_change_password":true`) {
		t.Errorf("me: %d %s", r.code, r.body)
	}
	for _, tc := range []struct {
		cur, new string
		code     int
	}{
		{"wrong-password-here", testNewPW, http.StatusForbidden},
		{testAdminPW, "short", http.StatusBadRequest},
		{testAdminPW, testAdminPW, http.StatusBadRequest},
	} {
		if r := c.do("POST", "/api/auth/password", map[string]string{"current_password": tc.cur, "new_password": tc.new}); r.code != tc.code {
			t.Errorf("change %q → %q: %d %s; want %d", tc.cur, tc.new, r.code, r.body, tc.code)
		}
	}
	other := e.client()
	if r := other.login("admin", testAdminPW); r.code != http.StatusOK {
		t.Fatal("second session")
	}
	if r := c.do("POST", "/api/auth/password", map[string]string{"current_password": testAdminPW, "new_password": testNewPW}); r.code != http.StatusOK {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	if r := c.get("/api/logs"); r.code != http.StatusOK {
		t.Errorf("logs after the change: %d %s", r.code, r.body)
	}
	if r := other.get("/api/auth/me"); r.code != http.StatusUnauthorized {
		t.Errorf("the other session survived the password change: %d", r.code)
	}
	if r := e.client().login("admin", testAdminPW); r.code != http.StatusUnauthorized {
		t.Errorf("old password still logs in: %d", r.code)
	}
	if r := e.client().login("admin", testNewPW); r.code != http.StatusOK || !strings.Contains(string(r.body), `"must_change_password":false`) {
		t.Errorf("new password: %d %s", r.code, r.body)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	token := c.csrf
	last := "A" // the token with its last character changed
	if strings.HasSuffix(token, last) {
		last = "B"
	}
	for _, bad := range []string{"", "wrong", token[:len(token)-1] + last} {
		c.csrf = bad
		if r := c.do("POST", "/api/users", map[string]any{"username": "x1", "password": "long-enough-pw", "role": "viewer"}); r.code != http.StatusForbidden {
			t.Errorf("POST /api/users with CSRF token %q: %d %s; want 403", bad, r.code, r.body)
		}
		if r := c.do("POST", "/api/auth/logout", nil); r.code != http.StatusForbidden {
			t.Errorf("logout with CSRF token %q: %d; want 403", bad, r.code)
		}
	}
	// Another session's token does not fit this one.
	c2 := e.client()
	c2.login("admin", testNewPW)
	c.csrf = c2.csrf
	if r := c.do("POST", "/api/auth/logout", nil); r.code != http.StatusForbidden {
		t.Errorf("logout with another session's token: %d; want 403", r.code)
	}
	c.csrf = token
	if r := c.do("POST", "/api/auth/logout", nil); r.code != http.StatusOK {
		t.Errorf("logout with the token: %d %s", r.code, r.body)
	}
	if r := c.get("/api/auth/me"); r.code != http.StatusUnauthorized {
		t.Errorf("after logout: %d; want 401", r.code)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, nil)
	h := e.srv.Handler()
	login := func(ip, user, pw string) *httptest.ResponseRecorder {
		body := `{"username":"` + user + `","password":"` + pw + `"}`
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	// Per source address: 5 failures on different usernames, then 429 even with the right password.
	for i := range DefaultLoginLimit {
		if w := login("192.0.2.1", "nobody"+strconv.Itoa(i), "wrong-password"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	w := login("192.0.2.1", "admin", testAdminPW)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("6th attempt from the address: %d; want 429", w.Code)
	}
	if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > int(DefaultLoginWindow/time.Second)+1 {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	// Per username: failures from many addresses.
	for i := range DefaultLoginLimit {
		login("198.51.100."+strconv.Itoa(i+1), "admin", "wrong-password")
	}
	if w := login("203.0.113.9", "admin", testAdminPW); w.Code != http.StatusTooManyRequests {
		t.Errorf("admin after 5 failures from 5 addresses: %d; want 429", w.Code)
	}
	// Other users from other addresses are unaffected.
	if w := login("203.0.113.10", "someone", "wrong-password"); w.Code != http.StatusUnauthorized {
		t.Errorf("unrelated login: %d; want 401", w.Code)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(2, time.Minute, 100)
	now := time.Now()
	for i := range 1000 {
		th.fail("k"+strconv.Itoa(i), now)
	}
	if n := th.size(); n > 100 {
		t.Fatalf("throttle holds %d keys; bound 100", n)
	}
	th.fail("x", now)
	th.fail("x", now)
	if d, ok := th.blocked("x", now.Add(time.Second)); !ok || d <= 0 || d > time.Minute {
		t.Fatalf("blocked = %v, %v", d, ok)
	}
	if _, ok := th.blocked("x", now.Add(time.Minute)); ok {
		t.Fatal("still blocked after the window")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q", h)
	}
	h2, _ := hashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal (no salt)")
	}
	for _, tc := range []struct {
		hash, pw string
		ok       bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"", "x", false},
		{"$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA", "x", false},
		{"$2a$10$whatever", "x", false},
	} {
		if got := verifyPassword(tc.hash, tc.pw); got != tc.ok {
			t.Errorf("verifyPassword(%q, %q) = %v", tc.hash, tc.pw, got)
		}
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	e := newEnvDSN(t, dsn, nil)
	c := e.admin()
	e2 := newEnvDSN(t, dsn, nil) // a new server process on the same database
	c.e = e2
	if r := c.get("/api/auth/me"); r.code != http.StatusOK {
		t.Fatalf("session after restart: %d %s", r.code, r.body)
	}
	if r := c.do("POST", "/api/auth/logout", nil); r.code != http.StatusOK {
		t.Errorf("CSRF token after restart: %d %s", r.code, r.body)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionIdle = time.Second })
	c := e.admin()
	if r := c.get("/api/auth/me"); r.code != http.StatusOK {
		t.Fatal(r.code)
	}
	for range 6 { // activity keeps it alive
		time.Sleep(300 * time.Millisecond)
		if r := c.get("/api/auth/me"); r.code != http.StatusOK {
			t.Fatalf("active session expired: %d", r.code)
		}
	}
	time.Sleep(1300 * time.Millisecond)
	if r := c.get("/api/auth/me"); r.code != http.StatusUnauthorized {
		t.Errorf("idle session: %d; want 401", r.code)
	}
}

func TestCookieAttributes(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	r := c.login("admin", testAdminPW)
	sc := r.hdr.Get("Set-Cookie")
	for _, want := range []string{SessionCookie + "=", "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure set over plain HTTP: %q", sc)
	}
	tls := httptest.NewTLSServer(e.srv.Handler())
	defer tls.Close()
	req, _ := http.NewRequest("POST", tls.URL+"/api/auth/login", strings.NewReader(`{"username":"admin","password":"`+testAdminPW+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := tls.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie over TLS lacks Secure: %q", sc)
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestRequestLimits(t *testing.T) {
	e := newEnv(t, nil)
	h := e.srv.Handler()
	big := `{"username":"admin","password":"` + strings.Repeat("a", 200<<10) + `"}`
	for _, tc := range []struct {
		ct, body string
		code     int
	}{
		{"application/json", big, http.StatusRequestEntityTooLarge},
		{"text/plain", `{"username":"admin","password":"x"}`, http.StatusUnsupportedMediaType},
		{"application/json", `{"username":"admin","password":"x","extra":1}`, http.StatusBadRequest},
		{"application/json", `{"username":"admin"} {}`, http.StatusBadRequest},
		{"application/json", `[1]`, http.StatusBadRequest},
	} {
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.code {
			t.Errorf("body %.40q (%s): %d %s; want %d", tc.body, tc.ct, w.Code, w.Body, tc.code)
		}
	}
}

// TestAuthFlowMySQL runs login, the forced change, a viewer and sessions on MariaDB/MySQL.
func TestAuthFlowMySQL(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	e := newEnvDSN(t, dsn, func(c *Config) { c.AdminPassword = "" })
	m := pwLine.FindStringSubmatch(e.out.String())
	if m == nil {
		t.Fatalf("no first-run password printed: %q", e.out.String())
	}
	c := e.client()
	if r := c.login("admin", m[1]); r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	if r := c.get("/api/logs"); r.code != http.StatusForbidden {
		t.Errorf("before the change: %d", r.code)
	}
	if r := c.do("POST", "/api/auth/password", map[string]string{"current_password": m[1], "new_password": testNewPW}); r.code != http.StatusOK {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	v := e.viewer(c, "mysql-viewer")
	if r := v.get("/api/users"); r.code != http.StatusForbidden {
		t.Errorf("viewer /api/users: %d", r.code)
	}
	e2 := newEnvDSN(t, dsn, nil) // restart on the same database: sessions persist
	v.e = e2
	if r := v.get("/api/auth/me"); r.code != http.StatusOK {
		t.Errorf("session after restart: %d", r.code)
	}
}
