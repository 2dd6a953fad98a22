package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"decnet/internal/bus"
	"decnet/internal/event"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

const (
	testAdminPW = "first-admin-password"
	testNewPW   = "second-admin-password"
)

type env struct {
	t   *testing.T
	st  store.Store
	bus *bus.Bus
	srv *Server
	ts  *httptest.Server
	out *bytes.Buffer
}

func openStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnv starts a server on a fresh SQLite store (or the given DSN).
func newEnv(t *testing.T, mod func(*Config)) *env {
	return newEnvDSN(t, storetest.SQLiteDSN(t), mod)
}

func newEnvDSN(t *testing.T, dsn string, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, st: openStore(t, dsn), bus: bus.New(), out: &bytes.Buffer{}}
	cfg := Config{Store: e.st, Bus: e.bus, StateDir: t.TempDir(), AdminPassword: testAdminPW, PasswordOut: e.out}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)
	t.Cleanup(e.bus.Close)
	return e
}

// client is a browser-like client: a cookie jar and the session's CSRF token.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
}

func (r resp) errMsg() string {
	var e struct{ Error string }
	json.Unmarshal(r.body, &e)
	return e.Error
}

func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, hdr: res.Header, body: b}
}

func (c *client) get(path string) resp { c.e.t.Helper(); return c.do("GET", path, nil) }

func (c *client) login(user, pw string) resp {
	c.e.t.Helper()
	r := c.do("POST", "/api/auth/login", map[string]string{"username": user, "password": pw})
	if r.code == http.StatusOK {
		var me struct {
			CSRFToken string `json:"csrf_token"`
		}
		r.json(c.e.t, &me)
		c.csrf = me.CSRFToken
	}
	return r
}

// admin returns a client logged in as admin with the forced change done.
func (e *env) admin() *client {
	e.t.Helper()
	c := e.client()
	pw := testAdminPW
	if r := c.login("admin", pw); r.code != http.StatusOK {
		if r = c.login("admin", testNewPW); r.code != http.StatusOK {
			e.t.Fatalf("admin login: %d %s", r.code, r.body)
		}
		return c
	}
	if r := c.do("POST", "/api/auth/password", map[string]string{"current_password": pw, "new_password": testNewPW}); r.code != http.StatusOK {
		e.t.Fatalf("forced password change: %d %s", r.code, r.body)
	}
	return c
}

// viewer creates a viewer (through the admin API) and returns it logged in, its
// forced change done.
func (e *env) viewer(adm *client, name string) *client {
	e.t.Helper()
	if r := adm.do("POST", "/api/users", map[string]any{"username": name, "password": "viewer-initial-pw", "role": "viewer"}); r.code != http.StatusCreated {
		e.t.Fatalf("create viewer: %d %s", r.code, r.body)
	}
	c := e.client()
	if r := c.login(name, "viewer-initial-pw"); r.code != http.StatusOK {
		e.t.Fatalf("viewer login: %d %s", r.code, r.body)
	}
	if r := c.do("POST", "/api/auth/password", map[string]string{"current_password": "viewer-initial-pw", "new_password": "viewer-changed-pw"}); r.code != http.StatusOK {
		e.t.Fatalf("viewer password change: %d %s", r.code, r.body)
	}
	return c
}

var evBase = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func mkEvent(i int, mod func(*event.Event)) store.Record {
	e := event.Event{
		ID:           fmt.Sprintf("01900000-0000-7000-8000-%012d", i),
		Time:         evBase.Add(time.Duration(i) * time.Second),
		Decky:        fmt.Sprintf("decky-%d", i%3),
		Service:      []string{"ssh", "http", "ftp"}[i%3],
		Type:         []string{event.Auth, event.Request, event.Connect}[i%3],
		AttackerIP:   fmt.Sprintf("10.0.0.%d", i%5+1),
		AttackerPort: 40000 + i,
		Fields:       map[string]string{"n": fmt.Sprint(i)},
		Msg:          fmt.Sprintf("event %d", i),
	}
	if mod != nil {
		mod(&e)
	}
	line, _ := event.Format(e)
	return store.Record{Event: e, RawLine: string(line)}
}

// mkEvents is mkEvent of 0 to n-1.
func mkEvents(n int) []store.Record {
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = mkEvent(i, nil)
	}
	return recs
}

// ingest stores recs and publishes the new rows on the bus, as the ingester does.
func (e *env) ingest(recs []store.Record, bounty ...store.Bounty) []int64 {
	e.t.Helper()
	res, err := e.st.Ingest(context.Background(), store.Batch{Records: recs, Bounty: bounty})
	if err != nil {
		e.t.Fatalf("Ingest: %v", err)
	}
	var rows []store.LogRow
	for i, id := range res.IDs {
		if id > 0 {
			rows = append(rows, store.LogRow{ID: id, Record: recs[i]})
		}
	}
	e.bus.Publish(rows)
	return res.IDs
}

// pathOf fills a route pattern's wildcards.
func pathOf(p string) string {
	r := strings.NewReplacer("{key}", "10.0.0.1", "{username}", "someone")
	return r.Replace(p)
}

// getEncoded GETs path with c's cookies as a client that decompresses nothing,
// sending accept as Accept-Encoding ("" for none). The answer must be 200 with
// Vary: Accept-Encoding and a Content-Length that is the body's.
func (c *client) getEncoded(path, accept string) (http.Header, []byte) {
	t := c.e.t
	t.Helper()
	req, _ := http.NewRequest("GET", c.e.ts.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	hc := &http.Client{Jar: c.hc.Jar, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !slices.Contains(res.Header.Values("Vary"), "Accept-Encoding") || res.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
		t.Fatalf("GET %s: %d, Vary %q, Content-Length %s for %d bytes", path, res.StatusCode, res.Header.Values("Vary"), res.Header.Get("Content-Length"), len(b))
	}
	return res.Header, b
}

// gunzip returns the decompressed gzip body b.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
