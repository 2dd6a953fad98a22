package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

type logsResp struct {
	Items []struct {
		ID         int64             `json:"id"`
		EventID    string            `json:"event_id"`
		Timestamp  string            `json:"timestamp"`
		Decky      string            `json:"decky"`
		Service    string            `json:"service"`
		EventType  string            `json:"event_type"`
		AttackerIP string            `json:"attacker_ip"`
		Fields     map[string]string `json:"fields"`
		Msg        string            `json:"msg"`
		RawLine    string            `json:"raw_line"`
		RawLineB64 string            `json:"raw_line_b64"`
	} `json:"items"`
	NextBeforeID *int64 `json:"next_before_id"`
}

func seed(e *env, n int) {
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = mkEvent(i, nil)
	}
	e.ingest(recs)
}

func TestLogs(t *testing.T) { testLogs(t, storetest.SQLiteDSN(t)) }

func TestLogsMySQL(t *testing.T) { testLogs(t, storetest.MySQLDSN(t)) }

func testLogs(t *testing.T, dsn string) {
	e := newEnvDSN(t, dsn, nil)
	seed(e, 30)
	c := e.admin()
	var lr logsResp
	r := c.get("/api/logs?limit=7&q=" + url.QueryEscape("service:ssh"))
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if ct := r.hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	r.json(t, &lr)
	if len(lr.Items) != 7 || lr.NextBeforeID == nil || lr.Items[0].ID <= lr.Items[6].ID {
		t.Fatalf("first page: %d items, next %v", len(lr.Items), lr.NextBeforeID)
	}
	seen := map[int64]bool{}
	for {
		for _, it := range lr.Items {
			if it.Service != "ssh" || seen[it.ID] {
				t.Fatalf("item %+v (service filter or repeat)", it)
			}
			seen[it.ID] = true
			if _, err := time.Parse(time.RFC3339, it.Timestamp); err != nil || !strings.HasSuffix(it.Timestamp, "Z") || len(it.Timestamp) != len("2006-01-02T15:04:05.000000Z") {
				t.Errorf("timestamp %q is not RFC 3339 UTC with µs", it.Timestamp)
			}
		}
		if lr.NextBeforeID == nil {
			break
		}
		next := *lr.NextBeforeID
		lr = logsResp{}
		c.get(fmt.Sprintf("/api/logs?limit=7&q=service:ssh&before_id=%d", next)).json(t, &lr)
	}
	if len(seen) != 10 {
		t.Errorf("paged through %d ssh events; want 10", len(seen))
	}
	since := evBase.Add(20 * time.Second).Format(time.RFC3339)
	lr = logsResp{}
	c.get("/api/logs?since="+url.QueryEscape(since)).json(t, &lr)
	if len(lr.Items) != 10 || lr.NextBeforeID != nil {
		t.Errorf("since: %d items; want 10", len(lr.Items))
	}
	for _, bad := range []string{"limit=0", "limit=501", "limit=x", "before_id=-1", "q=" + url.QueryEscape(`"unterminated`), "since=yesterday-ish",
		"q=decky:a+decky:b"} {
		if r := c.get("/api/logs?" + bad); r.code != http.StatusBadRequest || r.errMsg() == "" {
			t.Errorf("%s: %d %s; want 400 with an error", bad, r.code, r.body)
		}
	}

	var h struct {
		Interval string `json:"interval"`
		Buckets  []struct {
			T     string `json:"t"`
			Count int64  `json:"count"`
		} `json:"buckets"`
	}
	q := url.Values{"since": {evBase.Add(-time.Minute).Format(time.RFC3339)}, "until": {evBase.Add(2 * time.Minute).Format(time.RFC3339)}, "interval": {"10s"}}
	r = c.get("/api/logs/histogram?" + q.Encode())
	r.json(t, &h)
	var total int64
	for _, b := range h.Buckets {
		total += b.Count
	}
	if r.code != http.StatusOK || h.Interval != "10s" || len(h.Buckets) < 18 || len(h.Buckets) > 19 || total != 30 {
		t.Errorf("histogram: %d, interval %s, %d buckets, %d events; want 10s, 18-19 buckets, 30", r.code, h.Interval, len(h.Buckets), total)
	}
	q.Set("q", "service:http")
	h.Buckets = nil
	c.get("/api/logs/histogram?"+q.Encode()).json(t, &h)
	total = 0
	for _, b := range h.Buckets {
		total += b.Count
	}
	if total != 10 {
		t.Errorf("histogram service:http counted %d; want 10", total)
	}
	for _, bad := range []string{"interval=7s", "interval=10s&since=" + url.QueryEscape("2000-01-01T00:00:00Z")} {
		if r := c.get("/api/logs/histogram?" + bad); r.code != http.StatusBadRequest {
			t.Errorf("histogram %s: %d; want 400", bad, r.code)
		}
	}

	var st struct {
		Totals struct {
			Events int64 `json:"events"`
		} `json:"totals"`
		ByService  []store.Count `json:"by_service"`
		TopSources []store.Count `json:"top_sources"`
	}
	r = c.get("/api/stats")
	r.json(t, &st)
	if r.code != http.StatusOK || st.Totals.Events != 30 || len(st.ByService) != 3 || len(st.TopSources) != 5 {
		t.Errorf("stats: %d %s", r.code, r.body)
	}
	// Computing the overview folded the events into the store's counters, so the
	// next computation reads only what comes after (MySQL folds ids a minute old:
	// there the fold only set the cursor up).
	cur, err := e.st.Cursor(context.Background(), store.CountersLogsCursor)
	if mysql := strings.HasPrefix(dsn, "mysql"); err != nil || cur == "" || (cur == "0") != mysql {
		t.Errorf("after /api/stats the overview counters' cursor is %q (%v); want the newest event id on SQLite, 0 on MySQL", cur, err)
	}
	// Served from the cache, then refreshed in the background once stale.
	e.ingest([]store.Record{mkEvent(1000, nil), mkEvent(1001, nil)})
	deadline := time.Now().Add(10 * time.Second)
	for st.Totals.Events != 32 {
		if time.Now().After(deadline) {
			t.Fatalf("stats never saw the new events: %d", st.Totals.Events)
		}
		time.Sleep(200 * time.Millisecond)
		c.get("/api/stats").json(t, &st)
	}
	if r := c.get("/api/stats?since=" + url.QueryEscape(evBase.Add(25*time.Second).Format(time.RFC3339))); r.code != 200 {
		t.Errorf("stats since: %d", r.code)
	} else if r.json(t, &st); st.Totals.Events != 7 {
		t.Errorf("stats since t+25s: %d events; want 7", st.Totals.Events)
	}
}

func TestHostileStringsRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	hostile := map[string]string{
		"username":   `<script>alert("x")</script>`,
		"password":   `"><img src=x onerror=alert(1)>`,
		"path":       `javascript:alert(document.cookie)`,
		"user_agent": `<svg onload=alert(1)>&lt;&amp;&#x3c;`,
		"command":    "echo \x1b[31mred\x1b[0m; \u202e\u0000 end",
		"sni":        strings.Repeat("A", 100000),
		"bad_utf8":   "a\xff\xfeb",
	}
	rec := mkEvent(1, func(ev *event.Event) { ev.Fields = hostile; ev.Msg = "</script><script>alert(2)</script>" })
	rec.RawLine += "\xff"
	e.ingest([]store.Record{rec})
	c := e.admin()
	r := c.get("/api/logs?raw=1")
	if r.code != http.StatusOK {
		t.Fatal(r.code)
	}
	one := c.get(fmt.Sprintf("/api/logs/%d", 1))
	if one.code != http.StatusOK || !strings.Contains(string(r.body), strings.TrimSuffix(string(one.body), "\n")) {
		t.Errorf("/api/logs/1 (%d) is not the event of the page with raw lines: %.200s", one.code, one.body)
	}
	brief := c.get("/api/logs")
	if brief.code != http.StatusOK || strings.Contains(string(brief.body), `"raw_line`) || !strings.Contains(string(brief.body), `"msg":`) {
		t.Errorf("/api/logs (%d) without raw=1 should leave the raw line out: %.200s", brief.code, brief.body)
	}
	for path, code := range map[string]int{"/api/logs?raw=yes": 400, "/api/logs/0": 400, "/api/logs/x": 400, "/api/logs/2": 404} {
		if got := c.get(path); got.code != code {
			t.Errorf("%s: %d, want %d (%s)", path, got.code, code, got.body)
		}
	}
	for _, raw := range []string{"<script", "<svg", "<img", "\x1b"} {
		if strings.Contains(string(r.body), raw) {
			t.Errorf("the JSON body holds %q unescaped", raw)
		}
	}
	var lr logsResp
	r.json(t, &lr)
	got := lr.Items[0]
	for k, v := range hostile {
		want := v
		if k == "bad_utf8" {
			want = "a\ufffd\ufffdb"
		}
		if got.Fields[k] != want {
			t.Errorf("field %s: got %.60q, want %.60q", k, got.Fields[k], want)
		}
	}
	if got.Msg != rec.Msg {
		t.Errorf("msg %q", got.Msg)
	}
	if b, err := base64.StdEncoding.DecodeString(got.RawLineB64); err != nil || string(b) != rec.RawLine {
		t.Errorf("raw_line_b64 does not carry the exact raw line")
	}
}

func TestAttackers(t *testing.T) {
	e := newEnv(t, nil)
	seed(e, 20)
	now := evBase.Add(time.Hour)
	var as []store.Attacker
	for i := 1; i <= 3; i++ {
		a := store.Attacker{UUID: fmt.Sprintf("uuid-%d", i), IP: fmt.Sprintf("10.0.0.%d", i), FirstSeen: evBase, LastSeen: now.Add(time.Duration(i) * time.Minute),
			EventCount: int64(10 * i), Deckies: []string{"decky-0"}, Services: []string{"ssh"},
			Commands: []store.AttackerCommand{{Time: now, Decky: "decky-0", Service: "ssh", Command: "<b>uname -a</b>"}}}
		if i == 3 {
			a.Deckies, a.IsTraversal, a.TraversalPath = []string{"decky-0", "decky-1"}, true, "decky-0 -> decky-1"
		}
		as = append(as, a)
	}
	err := e.st.SaveAnalysis(context.Background(), store.AnalysisBatch{Attackers: as, Behaviors: []store.Behavior{{AttackerUUID: "uuid-3", BehaviorClass: "lateral_mover",
		OSGuess: "Linux", ToolGuesses: []store.ToolGuess{{Tool: "nmap", Confidence: 0.9, Evidence: []string{"syn window 1024"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cred := store.Bounty{Time: evBase, Decky: "decky-0", Service: "ssh", AttackerIP: "10.0.0.3", Type: "credential",
		Payload: json.RawMessage(`{"username":"root","password":"toor"}`), DedupKey: "c1"}
	e.ingest([]store.Record{mkEvent(100, nil)}, cred)
	c := e.admin()
	var list struct {
		Items []struct {
			IP            string   `json:"ip"`
			EventCount    int64    `json:"event_count"`
			Deckies       []string `json:"deckies"`
			IsTraversal   bool     `json:"is_traversal"`
			BehaviorClass string   `json:"behavior_class"`
		} `json:"items"`
		Total int64 `json:"total"`
	}
	c.get("/api/attackers?sort=event_count&order=asc&limit=2").json(t, &list)
	if list.Total != 3 || len(list.Items) != 2 || list.Items[0].IP != "10.0.0.1" || list.Items[1].EventCount != 20 {
		t.Errorf("list: %+v", list)
	}
	list.Items = nil
	c.get("/api/attackers?traversal=true").json(t, &list)
	if list.Total != 1 || list.Items[0].IP != "10.0.0.3" || list.Items[0].BehaviorClass != "lateral_mover" {
		t.Errorf("traversal: %+v", list)
	}
	for _, bad := range []string{"sort=ip", "order=up", "traversal=yes", "offset=-1", "limit=1000"} {
		if r := c.get("/api/attackers?" + bad); r.code != http.StatusBadRequest {
			t.Errorf("attackers?%s: %d; want 400", bad, r.code)
		}
	}
	for _, key := range []string{"10.0.0.3", "uuid-3"} {
		var d struct {
			Attacker struct {
				IP       string `json:"ip"`
				Commands []struct {
					Command string `json:"command"`
				} `json:"commands"`
				TraversalPath string `json:"traversal_path"`
			} `json:"attacker"`
			Behavior *struct {
				ToolGuesses []struct {
					Tool string `json:"tool"`
				} `json:"tool_guesses"`
			} `json:"behavior"`
			Credentials []struct {
				Payload map[string]string `json:"payload"`
			} `json:"credentials"`
			Timeline []struct {
				AttackerIP string `json:"attacker_ip"`
			} `json:"timeline"`
		}
		r := c.get("/api/attackers/" + key)
		r.json(t, &d)
		if r.code != http.StatusOK || d.Attacker.IP != "10.0.0.3" || d.Attacker.TraversalPath != "decky-0 -> decky-1" ||
			len(d.Attacker.Commands) != 1 || d.Attacker.Commands[0].Command != "<b>uname -a</b>" ||
			d.Behavior == nil || d.Behavior.ToolGuesses[0].Tool != "nmap" || len(d.Credentials) != 1 || d.Credentials[0].Payload["password"] != "toor" ||
			len(d.Timeline) == 0 || d.Timeline[0].AttackerIP != "10.0.0.3" {
			t.Errorf("detail %s: %d %s", key, r.code, r.body)
		}
	}
	if r := c.get("/api/attackers/10.9.9.9"); r.code != http.StatusNotFound {
		t.Errorf("unknown attacker: %d", r.code)
	}
}

func TestBountyAndExport(t *testing.T) {
	e := newEnv(t, nil)
	evil := map[string]string{"username": "=cmd|' /C calc'!A0", "password": "+SUM(1)", "secret_kind": "-2+3", "filename": "@x"}
	p, _ := json.Marshal(evil)
	var bs []store.Bounty
	for i := range 3 {
		bs = append(bs, store.Bounty{Time: evBase, Decky: "decky-0", Service: "ssh", AttackerIP: "10.0.0.1", Type: "credential",
			Payload: p, DedupKey: fmt.Sprintf("k%d", i)})
	}
	bs = append(bs, store.Bounty{Time: evBase, Decky: "=decky", Service: "http", AttackerIP: "10.0.0.2", Type: "fingerprint",
		Payload: json.RawMessage(`{"kind":"ja3","value":"abc"}`), DedupKey: "fp"})
	e.ingest([]store.Record{mkEvent(1, nil)}, bs...)
	c := e.admin()
	var page struct {
		Items []struct {
			ID         int64             `json:"id"`
			BountyType string            `json:"bounty_type"`
			Payload    map[string]string `json:"payload"`
		} `json:"items"`
		NextBeforeID *int64 `json:"next_before_id"`
	}
	c.get("/api/bounty?type=credential&limit=2").json(t, &page)
	if len(page.Items) != 2 || page.NextBeforeID == nil || page.Items[0].Payload["username"] != evil["username"] {
		t.Errorf("bounty page: %+v", page)
	}
	r := c.get("/api/bounty/export?format=csv")
	if r.code != http.StatusOK || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/csv") || !strings.Contains(r.hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv export: %d %v", r.code, r.hdr)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 {
		t.Fatalf("csv has %d records; want header + 4", len(recs))
	}
	for _, rec := range recs[1:] {
		for j, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %d %q starts a formula", j, cell)
			}
		}
	}
	if !strings.Contains(string(r.body), `'=cmd|`) || !strings.Contains(string(r.body), "'+SUM(1)") || !strings.Contains(string(r.body), "'=decky") {
		t.Errorf("the guarded values are missing: %s", r.body)
	}
	r = c.get("/api/bounty/export?format=json&type=credential")
	var all []map[string]any
	if err := json.Unmarshal(r.body, &all); err != nil || len(all) != 3 {
		t.Errorf("json export: %v, %d rows: %s", err, len(all), r.body)
	}
	if r := c.get("/api/bounty/export?format=xlsx"); r.code != http.StatusBadRequest {
		t.Errorf("xlsx: %d", r.code)
	}
}

func TestDeckiesWithoutDeployment(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	r := c.get("/api/deckies")
	if r.code != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"items":[]}` {
		t.Errorf("deckies: %d %s", r.code, r.body)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	r := c.get("/api/openapi.json")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		registered[rt.Method+" "+rt.Path] = true
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not in openapi.json", rt.Method, rt.Path)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("openapi.json documents %s, which is not registered", k)
		}
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	assets := fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html><div id=app></div>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	for _, withAssets := range []bool{true, false} {
		e := newEnv(t, func(c *Config) {
			if withAssets {
				c.Assets = assets
			}
		})
		c := e.client()
		for _, tc := range []struct {
			path string
			code int
			body string
		}{
			{"/api/health", 200, `"ok"`},
			{"/api/logs", 401, "authentication"},
			{"/api/nope", 404, "no such API route"},
			{"/api/auth/login", 405, "does not take GET"},
			{"/", 200, "id=app"},
			{"/attackers/10.0.0.1", 200, "id=app"},
			{"/assets/app.js", 200, "console.log"},
			{"/assets/missing.js", 404, ""},
		} {
			r := c.get(tc.path)
			code, body := tc.code, tc.body
			if !withAssets && !strings.HasPrefix(tc.path, "/api/") {
				code, body = 404, "dashboard not built"
			}
			if r.code != code || !strings.Contains(string(r.body), body) {
				t.Errorf("assets=%v GET %s: %d %.80s; want %d with %q", withAssets, tc.path, r.code, r.body, code, body)
			}
			for h, want := range map[string]string{"Content-Security-Policy": ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if got := r.hdr.Get(h); got != want {
					t.Errorf("GET %s: %s = %q; want %q", tc.path, h, got, want)
				}
			}
		}
	}
}

func TestUsersAdmin(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	for _, tc := range []struct {
		body map[string]any
		code int
	}{
		{map[string]any{"username": "ana", "password": "ana-password-1", "role": "viewer"}, 201},
		{map[string]any{"username": "ana", "password": "ana-password-1", "role": "viewer"}, 409},
		{map[string]any{"username": "<b>", "password": "ana-password-1", "role": "viewer"}, 400},
		{map[string]any{"username": "bo", "password": "short", "role": "viewer"}, 400},
		{map[string]any{"username": "bo", "password": "long-enough-pw", "role": "root"}, 400},
	} {
		if r := c.do("POST", "/api/users", tc.body); r.code != tc.code {
			t.Errorf("create %v: %d %s; want %d", tc.body, r.code, r.body, tc.code)
		}
	}
	ana := e.client()
	if r := ana.login("ana", "ana-password-1"); r.code != 200 {
		t.Fatal(r.code)
	}
	if r := c.do("POST", "/api/users/ana/password", map[string]any{"new_password": "ana-password-2"}); r.code != 200 || !strings.Contains(string(r.body), `"must_change_password":true`) {
		t.Errorf("reset: %d %s", r.code, r.body)
	}
	if r := ana.get("/api/auth/me"); r.code != http.StatusUnauthorized {
		t.Errorf("ana's session survived a reset: %d", r.code)
	}
	if r := c.do("DELETE", "/api/users/admin", nil); r.code != http.StatusConflict {
		t.Errorf("deleting oneself: %d", r.code)
	}
	if r := c.do("DELETE", "/api/users/ana", nil); r.code != 200 {
		t.Errorf("delete: %d %s", r.code, r.body)
	}
	if r := c.do("DELETE", "/api/users/ana", nil); r.code != 404 {
		t.Errorf("delete again: %d", r.code)
	}
	if r := e.client().login("ana", "ana-password-2"); r.code != http.StatusUnauthorized {
		t.Errorf("deleted user logs in: %d", r.code)
	}
}

// TestOpenAPIRefsResolve: every $ref in the document points at a defined component.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	refs := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				refs++
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(doc)
	if refs < 20 {
		t.Errorf("only %d $refs", refs)
	}
}

// The dashboard's files go gzip-compressed to a browser that accepts gzip, as they
// are to one that does not, and a file that would not shrink is sent as it is.
func TestAssetsGzipped(t *testing.T) {
	bundle := []byte(strings.Repeat("export function f(){return document.title}\n", 2000))
	tiny := []byte("x")
	e := newEnv(t, func(c *Config) {
		c.Assets = fstest.MapFS{
			"index.html":      {Data: []byte("<!doctype html><div id=app></div>")},
			"assets/app.js":   {Data: bundle},
			"assets/tiny.txt": {Data: tiny},
		}
	})
	c := e.client()
	for range 2 { // compressed once, then from memory
		h, b := c.getEncoded("/assets/app.js", "gzip, deflate, br, zstd")
		if h.Get("Content-Encoding") != "gzip" || len(b) >= len(bundle)/10 {
			t.Fatalf("app.js: Content-Encoding %q, %d bytes of %d", h.Get("Content-Encoding"), len(b), len(bundle))
		}
		if !bytes.Equal(gunzip(t, b), bundle) {
			t.Fatal("app.js decompressed is not the file")
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
			t.Fatalf("app.js Content-Type %q", h.Get("Content-Type"))
		}
	}
	if h, b := c.getEncoded("/assets/app.js", ""); h.Get("Content-Encoding") != "" || !bytes.Equal(b, bundle) {
		t.Fatalf("app.js without Accept-Encoding: %q, %d bytes", h.Get("Content-Encoding"), len(b))
	}
	if h, b := c.getEncoded("/assets/tiny.txt", "gzip"); h.Get("Content-Encoding") != "" || !bytes.Equal(b, tiny) {
		t.Fatalf("tiny.txt: %q, %q", h.Get("Content-Encoding"), b)
	}
	if h, b := c.getEncoded("/attackers/10.0.0.1", "gzip"); h.Get("Content-Encoding") != "" || !bytes.Contains(b, []byte("id=app")) {
		t.Fatalf("a client route (index.html, too small to shrink): %q, %q", h.Get("Content-Encoding"), b)
	}
}
