package elasticsearch

import (
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// start runs the service; most tests exercise an 8.x node, so the version is 8.13.4
// unless the persona names one (the default persona is tested in TestDefaultVersion).
func start(t *testing.T, persona map[string]string) *servicetest.Harness {
	t.Helper()
	p := map[string]string{"version": "8.13.4"}
	for k, v := range persona {
		p[k] = v
	}
	return servicetest.Start(t, "elasticsearch", service.Config{Hostname: "es-node-1", Distro: "debian", Persona: p})
}

func TestDefaultVersion(t *testing.T) {
	h := servicetest.Start(t, "elasticsearch", service.Config{Hostname: "es-node-1", Distro: "debian"})
	out := curl(t, "http://"+h.Addr(Port)+"/")
	if !strings.Contains(out, `"number" : "7.10.2"`) || !strings.Contains(out, `"build_flavor" : "default"`) {
		t.Errorf("default persona root document:\n%s", out)
	}
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := servicetest.Run(t, 30*time.Second, nil, "curl", append([]string{"-sS"}, args...)...)
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	return out
}

func TestCurlRoot(t *testing.T) {
	h := start(t, nil)
	base := "http://" + h.Addr(Port)
	out := curl(t, "-i", "-A", "python-requests/2.31.0", base+"/")
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	if want := "HTTP/1.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application/json\r\ncontent-length: "; !strings.HasPrefix(head, want) {
		t.Errorf("head %q, want prefix %q", head, want)
	}
	for _, want := range []string{"{\n  \"name\" : \"es-node-1\",\n  \"cluster_name\" : \"elasticsearch\",\n  \"cluster_uuid\" : \"",
		"\"number\" : \"8.13.4\",", "\"build_type\" : \"deb\",", "\"lucene_version\" : \"9.10.0\",", "\"tagline\" : \"You Know, for Search\"\n}\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("root body lacks %q:\n%s", want, body)
		}
	}
	var doc struct {
		ClusterUUID string `json:"cluster_uuid"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.ClusterUUID) != 22 {
		t.Errorf("root document %v: %+v", err, doc)
	}
	h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request, "method=GET", "path=/", "user_agent=python-requests/2.31.0"))
}

func TestCurlCatHealthSearch(t *testing.T) {
	h := start(t, map[string]string{"indices": "customers,orders-2024"})
	base := "http://" + h.Addr(Port)
	out := curl(t, base+"/_cat/indices?v")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "health status index") || !strings.Contains(out, "yellow open   customers") {
		t.Errorf("_cat/indices:\n%s", out)
	}
	out = curl(t, base+"/_cluster/health?pretty")
	if !strings.Contains(out, `"status" : "yellow"`) || !strings.Contains(out, `"active_primary_shards" : 2`) {
		t.Errorf("health:\n%s", out)
	}
	query := `{"query":{"match_all":{}}}`
	out = curl(t, "-H", "Content-Type: application/json", "-d", query, base+"/customers/_search")
	var res struct {
		Hits struct {
			Total struct{ Value int }
			Hits  []struct {
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Hits.Hits) != 3 || res.Hits.Hits[0].Index != "customers" || res.Hits.Hits[0].Source["email"] == nil {
		t.Errorf("search %v:\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "search request", servicetest.Type(event.Request, "method=POST", "path=/customers/_search", "body="+query))
	out = curl(t, base+"/nosuch/_search")
	if !strings.Contains(out, `"type":"index_not_found_exception","reason":"no such index [nosuch]"`) || !strings.HasSuffix(out, `"status":404}`) {
		t.Errorf("missing index: %s", out)
	}
	out = curl(t, base+"/_foo")
	if out != `{"error":"no handler found for uri [/_foo] and method [GET]"}` {
		t.Errorf("no handler: %s", out)
	}
	out = curl(t, "-X", "DELETE", base+"/customers")
	if out != `{"acknowledged":true}` {
		t.Errorf("delete: %s", out)
	}
	h.Wait(t, 5*time.Second, "delete alert", servicetest.Type(event.Alert, "alert=index-delete", "index=customers"))
	out = curl(t, base+"/_nodes")
	if !strings.Contains(out, `"version":"8.13.4"`) || !strings.Contains(out, `"cluster_name":"elasticsearch"`) {
		t.Errorf("_nodes: %s", out)
	}
}

func TestBasicAuthCaptured(t *testing.T) {
	for _, security := range []string{"false", "true"} {
		t.Run("security="+security, func(t *testing.T) {
			h := start(t, map[string]string{"security": security})
			out, _ := servicetest.Run(t, 30*time.Second, nil, "curl", "-s", "-u", "elastic:chang]e\"me", "http://"+h.Addr(Port)+"/_cat/indices")
			e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=elastic", "password=chang]e\"me", "secret_kind=plaintext"))
			if e.AttackerIP != "127.0.0.1" {
				t.Errorf("auth event %+v", e)
			}
			if security == "true" {
				if !strings.Contains(out, `"reason":"unable to authenticate user [elastic] for REST request [/_cat/indices]"`) || e.Fields["outcome"] != "failure" {
					t.Errorf("security on: %s / %v", out, e.Fields)
				}
				out, _ = servicetest.Run(t, 30*time.Second, nil, "curl", "-s", "-i", "http://"+h.Addr(Port)+"/")
				if !strings.Contains(out, "HTTP/1.1 401 Unauthorized\r\nX-elastic-product: Elasticsearch\r\nWWW-Authenticate: Basic realm=\"security\" charset=\"UTF-8\"\r\n") ||
					!strings.Contains(out, "missing authentication credentials for REST request [/]") {
					t.Errorf("no credentials: %s", out)
				}
			} else if !strings.Contains(out, "customers") {
				t.Errorf("open node: %s", out)
			}
		})
	}
}

// TestHTTP10 checks the answer to nmap's GET / HTTP/1.0 probe: an HTTP/1.0 status
// line, then the connection closes.
func TestHTTP10(t *testing.T) {
	h := start(t, map[string]string{"version": "7.10.2"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "HTTP/1.0 200 OK\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: ") ||
		!strings.Contains(string(b), "\"build_hash\" : \"747e1cc71def077253878a59143c1f785afa92b9\"") {
		t.Errorf("answer %q", b)
	}
}

func TestHostilePathRecorded(t *testing.T) {
	h := start(t, nil)
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /a%5D%22%0A%1B%5B31m%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c)
	e := h.Wait(t, 5*time.Second, "request", func(e event.Event) bool { return e.Type == event.Request && e.Fields["path_b64"] != "" })
	if e.Fields["path"] != service.Printable("/a]\"\n\x1b[31m\xff", 0) {
		t.Errorf("path field %q", e.Fields["path"])
	}
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		v      any
		pretty bool
		want   string
	}{
		{obj{{"a", 1}, {"b", "x\"\n<"}, {"c", 1.0}, {"d", []any{}}, {"e", obj{}}}, false, `{"a":1,"b":"x\"\n<","c":1.0,"d":[],"e":{}}`},
		{obj{{"a", []any{"x", obj{{"k", true}}}}, {"e", obj{}}, {"f", []any{}}}, true, "{\n  \"a\" : [\n    \"x\",\n    {\n      \"k\" : true\n    }\n  ],\n  \"e\" : { },\n  \"f\" : [ ]\n}"},
		{"\x01\xff", false, "\"\\u0001\ufffd\""},
	} {
		if got := string(render(tc.v, tc.pretty)); got != tc.want {
			t.Errorf("render(%v, %v) = %q, want %q", tc.v, tc.pretty, got, tc.want)
		}
	}
}

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		p, n string
		want bool
	}{{"*", "x", true}, {"logs-*", "logs-app", true}, {"logs-*", "orders", false}, {"*-2024", "orders-2024", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxc", false}, {"orders", "orders", true}} {
		if got := wildcard(tc.p, tc.n); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v", tc.p, tc.n, got)
		}
	}
}

func TestNmapVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan in -short mode")
	}
	h := start(t, map[string]string{"version": "7.10.2"})
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out, _ := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "-p", port, "127.0.0.1")
	if !strings.Contains(out, "Elasticsearch REST API 7.10.2 (name: es-node-1; cluster: elasticsearch; Lucene 8.7.0)") {
		t.Errorf("nmap did not identify Elasticsearch:\n%s", out)
	}
}
