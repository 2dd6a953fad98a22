package elasticsearch

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// index is a bait index.
type index struct {
	name    string
	uuid    string
	docs    []doc
	count   int   // docs.count it claims
	size    int64 // store size in bytes
	created time.Time
}

type doc struct {
	id     string
	source obj
}

// newIndex makes a bait index whose documents fit its name.
func newIndex(decky, name string, started time.Time) index {
	seed := derivedHex(decky+"/"+name, 16)
	n, _ := strconv.ParseUint(seed[:8], 16, 64)
	ix := index{
		name:    name,
		uuid:    base64ID(decky, "index:"+name),
		count:   int(n%90000) + 1200,
		created: started.Add(-time.Duration(20+n%200) * 24 * time.Hour),
	}
	ix.size = int64(ix.count) * int64(380+n%400)
	people := []struct{ first, last, city string }{{"Laura", "Bennett", "Leeds"}, {"Marco", "Ricci", "Turin"}, {"Priya", "Nair", "Pune"}}
	for i, p := range people {
		var src obj
		email := strings.ToLower(p.first) + "." + strings.ToLower(p.last) + "@" + []string{"gmail.com", "outlook.com", "yahoo.com"}[i]
		day := started.Add(-time.Duration(i*3+1) * 24 * time.Hour).UTC()
		switch {
		case strings.Contains(name, "order"):
			src = obj{{"order_id", "ORD-" + strconv.Itoa(100200+int(n%800)+i*7)}, {"customer_email", email},
				{"total", float64(4999+i*1250) / 100}, {"currency", "EUR"}, {"status", []string{"shipped", "paid", "refunded"}[i]},
				{"created_at", day.Format(time.RFC3339)}}
		case strings.Contains(name, "pay"):
			src = obj{{"payment_id", "pay_" + derivedHex(seed+strconv.Itoa(i), 14)}, {"card_holder", p.first + " " + p.last},
				{"card_last4", strconv.Itoa(4000 + int(n%5000) + i*37)[:4]}, {"amount", float64(12900+i*4550) / 100},
				{"iban", "GB" + strconv.Itoa(29+i) + "NWBK6016133192681" + strconv.Itoa(i)}, {"created_at", day.Format(time.RFC3339)}}
		case strings.Contains(name, "log"):
			src = obj{{"@timestamp", day.Format("2006-01-02T15:04:05.000Z")}, {"level", []string{"INFO", "WARN", "ERROR"}[i]},
				{"service", "api-gateway"}, {"message", []string{"user login ok user=" + email, "slow query on customers (2310 ms)", "payment provider timeout, retrying"}[i]}}
		default:
			src = obj{{"first_name", p.first}, {"last_name", p.last}, {"email", email}, {"city", p.city},
				{"phone", "+44 7700 9" + strconv.Itoa(10000 + int(n%80000) + i*313)[:5]},
				{"password_hash", "$2a$10$" + base64.RawStdEncoding.EncodeToString([]byte(derivedHex(seed+p.last, 40)))[:53]},
				{"created_at", day.Format(time.RFC3339)}}
		}
		ix.docs = append(ix.docs, doc{id: base64ID(decky, name+"/doc"+strconv.Itoa(i))[:20], source: src})
	}
	return ix
}

func errorBody(status int, typ, reason string, extra obj) obj {
	cause := append(obj{{"type", typ}, {"reason", reason}}, extra...)
	top := append(obj{{"root_cause", []any{cause}}, {"type", typ}, {"reason", reason}}, extra...)
	return obj{{"error", top}, {"status", status}}
}

func (s *server) jsonResp(status int, rq *request, v any) *response {
	p, _ := rq.param("pretty")
	pretty := false
	if _, ok := rq.param("pretty"); ok && p != "false" {
		pretty = true
	}
	b := render(v, pretty)
	if pretty {
		b = append(b, '\n')
	}
	return &response{status: status, body: b}
}

func (s *server) noHandler(rq *request) *response {
	uri := rq.URL.RequestURI()
	return s.jsonResp(400, rq, obj{{"error", "no handler found for uri [" + uri + "] and method [" + rq.Method + "]"}})
}

func (s *server) notFound(rq *request, name string) *response {
	extra := obj{{"resource.type", "index_or_alias"}, {"resource.id", name}, {"index_uuid", "_na_"}, {"index", name}}
	return s.jsonResp(404, rq, errorBody(404, "index_not_found_exception", "no such index ["+name+"]", extra))
}

// unauthorized is the 401 of a node with security on.
func (s *server) unauthorized(rq *request) *response {
	reason := "missing authentication credentials for REST request [" + rq.URL.RequestURI() + "]"
	if auth := rq.Header.Get("Authorization"); auth != "" {
		reason = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
		if scheme, cred, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "basic") {
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
			user, _, _ := strings.Cut(string(raw), ":")
			reason = "unable to authenticate user [" + user + "] for REST request [" + rq.URL.RequestURI() + "]"
		}
	}
	challenges := []any{`Basic realm="security" charset="UTF-8"`}
	if s.ver.major >= 8 {
		challenges = append(challenges, "Bearer realm=\"security\"", "ApiKey")
	}
	extra := obj{{"header", obj{{"WWW-Authenticate", challenges}}}}
	resp := s.jsonResp(401, rq, errorBody(401, "security_exception", reason, extra))
	for _, c := range challenges {
		resp.headers = append(resp.headers, [2]string{"WWW-Authenticate", c.(string)})
	}
	return resp
}

// handle routes one request.
func (s *server) handle(c *service.Conn, rq *request) *response {
	if s.security {
		return s.unauthorized(rq)
	}
	p := path.Clean("/" + rq.URL.Path)
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if p == "/" {
		parts = nil
	}
	m := rq.Method
	get := m == http.MethodGet || m == http.MethodHead
	if m == http.MethodOptions {
		// RestController answers OPTIONS with the methods the path allows.
		allow := "HEAD,DELETE,PUT,GET"
		if len(parts) == 0 {
			allow = "HEAD,GET"
		} else if strings.HasPrefix(parts[0], "_") {
			allow = "GET"
		}
		return &response{status: 200, ctype: "text/plain; charset=UTF-8", headers: [][2]string{{"Allow", allow}}}
	}
	switch {
	case len(parts) == 0:
		if get {
			return s.root(rq)
		}
		return s.noHandler(rq)
	case parts[0] == "_cat" && get:
		return s.cat(rq, parts[1:])
	case p == "/_cluster/health" && get:
		return s.jsonResp(200, rq, s.health())
	case p == "/_cluster/settings" && get:
		return s.jsonResp(200, rq, obj{{"persistent", obj{}}, {"transient", obj{}}})
	case parts[0] == "_nodes" && get:
		return s.jsonResp(200, rq, s.nodes())
	case (p == "/_search" || p == "/_count") && (get || m == http.MethodPost):
		return s.search(rq, s.indices, parts[0] == "_count")
	case (p == "/_aliases" || p == "/_alias") && get:
		out := obj{}
		for _, ix := range s.indices {
			out = append(out, kv{ix.name, obj{{"aliases", obj{}}}})
		}
		return s.jsonResp(200, rq, out)
	case p == "/_mapping" && get:
		return s.jsonResp(200, rq, s.mappings(s.indices))
	case p == "/_bulk" && m == http.MethodPost:
		return s.bulk(c, rq)
	case strings.HasPrefix(parts[0], "_"):
		return s.noHandler(rq)
	}
	// /<index>[/...]
	target := parts[0]
	ixs, missing := s.resolve(target)
	rest := parts[1:]
	switch {
	case len(rest) == 0 && m == http.MethodPut:
		c.Emit(event.Alert, map[string]string{"alert": "index-create", "index": service.Printable(target, 256)}, "")
		if missing == "" && len(ixs) > 0 {
			extra := obj{{"index_uuid", ixs[0].uuid}, {"index", target}}
			return s.jsonResp(400, rq, errorBody(400, "resource_already_exists_exception", "index ["+target+"/"+ixs[0].uuid+"] already exists", extra))
		}
		return s.jsonResp(200, rq, obj{{"acknowledged", true}, {"shards_acknowledged", true}, {"index", target}})
	case len(rest) == 0 && m == http.MethodDelete:
		c.Emit(event.Alert, map[string]string{"alert": "index-delete", "index": service.Printable(target, 256)}, "")
		if missing != "" {
			return s.notFound(rq, missing)
		}
		return s.jsonResp(200, rq, obj{{"acknowledged", true}})
	case len(rest) == 0 && get:
		if missing != "" {
			return s.notFound(rq, missing)
		}
		return s.jsonResp(200, rq, s.indexInfo(ixs))
	case len(rest) == 1 && (rest[0] == "_search" || rest[0] == "_count") && (get || m == http.MethodPost):
		if missing != "" {
			return s.notFound(rq, missing)
		}
		return s.search(rq, ixs, rest[0] == "_count")
	case len(rest) == 1 && rest[0] == "_mapping" && get:
		if missing != "" {
			return s.notFound(rq, missing)
		}
		return s.jsonResp(200, rq, s.mappings(ixs))
	case len(rest) == 1 && rest[0] == "_bulk" && m == http.MethodPost:
		return s.bulk(c, rq)
	case len(rest) >= 1 && (rest[0] == "_doc" || rest[0] == "_create") && (m == http.MethodPost || m == http.MethodPut):
		id := base64ID(strconv.FormatInt(time.Now().UnixNano(), 10), target)[:20]
		if len(rest) == 2 {
			id = rest[1]
		}
		f := map[string]string{"alert": "document-write", "index": service.Printable(target, 256), "id": service.Printable(id, 256)}
		service.SetPrintableLimit(f, "document", string(rq.body), maxBodyField)
		c.Emit(event.Alert, f, "")
		return s.jsonResp(201, rq, obj{{"_index", target}, {"_id", id}, {"_version", 1}, {"result", "created"},
			{"_shards", obj{{"total", 2}, {"successful", 1}, {"failed", 0}}}, {"_seq_no", 0}, {"_primary_term", 1}})
	case len(rest) == 2 && rest[0] == "_doc" && get:
		if missing != "" {
			return s.notFound(rq, missing)
		}
		for _, ix := range ixs {
			for _, d := range ix.docs {
				if d.id == rest[1] {
					return s.jsonResp(200, rq, obj{{"_index", ix.name}, {"_id", d.id}, {"_version", 1}, {"_seq_no", 0},
						{"_primary_term", 1}, {"found", true}, {"_source", d.source}})
				}
			}
		}
		return s.jsonResp(404, rq, obj{{"_index", ixs[0].name}, {"_id", rest[1]}, {"found", false}})
	}
	return s.noHandler(rq)
}

// resolve expands an index expression (names, wildcards, _all, comma lists).
// missing names the first explicit index that does not exist.
func (s *server) resolve(expr string) (out []index, missing string) {
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		matched := false
		for _, ix := range s.indices {
			if part == "_all" || part == "*" || wildcard(part, ix.name) {
				matched = true
				if !seen[ix.name] {
					seen[ix.name] = true
					out = append(out, ix)
				}
			}
		}
		if !matched && !strings.Contains(part, "*") && part != "_all" && missing == "" {
			missing = part
		}
	}
	return out, missing
}

// wildcard matches Elasticsearch's simple '*' patterns.
func wildcard(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(name, p)
		}
		j := strings.Index(name, p)
		if j < 0 {
			return false
		}
		name = name[j+len(p):]
	}
	return true
}

func (s *server) root(rq *request) *response {
	r := s.rel
	v := obj{{"number", s.ver.text}}
	if s.ver.major >= 7 {
		v = append(v, kv{"build_flavor", "default"})
	}
	v = append(v, kv{"build_type", s.buildType()}, kv{"build_hash", r.hash}, kv{"build_date", r.date},
		kv{"build_snapshot", false}, kv{"lucene_version", r.lucene},
		kv{"minimum_wire_compatibility_version", r.minWire}, kv{"minimum_index_compatibility_version", r.minIndex})
	doc := obj{{"name", s.name}, {"cluster_name", s.cluster}, {"cluster_uuid", s.uuid}, {"version", v}, {"tagline", "You Know, for Search"}}
	pretty := true
	if p, ok := rq.param("pretty"); ok && p == "false" {
		pretty = false
	}
	b := render(doc, pretty)
	if pretty {
		b = append(b, '\n')
	}
	return &response{status: 200, body: b}
}

// buildType is the package a node of the decky's distro was installed from.
func (s *server) buildType() string {
	switch s.rt.Distro.Slug {
	case "rocky9", "centos7", "fedora":
		return "rpm"
	case "debian", "ubuntu22", "ubuntu20", "kali":
		return "deb"
	}
	if strings.HasPrefix(s.rt.Distro.Slug, "windows") {
		return "zip"
	}
	return "tar"
}

func (s *server) shards() (primaries, unassigned int) {
	return len(s.indices), len(s.indices) // one primary and one replica each, replicas unassigned
}

func (s *server) health() obj {
	p, u := s.shards()
	pct := 100.0
	if p+u > 0 {
		pct = float64(p) * 100 / float64(p+u)
	}
	status := "green"
	if u > 0 {
		status = "yellow"
	}
	return obj{{"cluster_name", s.cluster}, {"status", status}, {"timed_out", false}, {"number_of_nodes", 1},
		{"number_of_data_nodes", 1}, {"active_primary_shards", p}, {"active_shards", p}, {"relocating_shards", 0},
		{"initializing_shards", 0}, {"unassigned_shards", u}, {"delayed_unassigned_shards", 0},
		{"number_of_pending_tasks", 0}, {"number_of_in_flight_fetch", 0}, {"task_max_waiting_in_queue_millis", 0},
		{"active_shards_percent_as_number", pct}}
}

func (s *server) ip() string {
	if ip := s.rt.Config.IP; ip != "" {
		return ip
	}
	return "127.0.0.1"
}

func (s *server) roles() []string {
	switch {
	case s.ver.atLeast(8, 0):
		return []string{"data", "data_cold", "data_content", "data_frozen", "data_hot", "data_warm", "ingest", "master", "ml", "remote_cluster_client", "transform"}
	case s.ver.atLeast(7, 10):
		return []string{"data", "data_cold", "data_content", "data_hot", "data_warm", "ingest", "master", "ml", "remote_cluster_client", "transform"}
	}
	return []string{"data", "ingest", "master", "ml"}
}

func (s *server) jdk() string {
	switch {
	case s.ver.atLeast(8, 13):
		return "21.0.2"
	case s.ver.atLeast(8, 0):
		return "17.0.7"
	case s.ver.atLeast(7, 10):
		return "15.0.1"
	}
	return "17.0.1"
}

func (s *server) nodes() obj {
	osName := "Linux"
	if strings.HasPrefix(s.rt.Distro.Slug, "windows") {
		osName = "Windows Server 2019"
	}
	node := obj{
		{"name", s.name}, {"transport_address", s.ip() + ":9300"}, {"host", s.ip()}, {"ip", s.ip()},
		{"version", s.ver.text}, {"build_flavor", "default"}, {"build_type", s.buildType()}, {"build_hash", s.rel.hash},
		{"total_indexing_buffer", int64(107374182)}, {"roles", s.roles()},
		{"attributes", obj{{"ml.machine_memory", "8335577088"}, {"ml.max_jvm_size", "4177526784"}, {"xpack.installed", "true"}}},
		{"settings", obj{
			{"cluster", obj{{"name", s.cluster}}},
			{"node", obj{{"name", s.name}}},
			{"path", obj{{"logs", "/var/log/elasticsearch"}, {"home", "/usr/share/elasticsearch"}}},
			{"discovery", obj{{"type", "single-node"}}},
			{"network", obj{{"host", "0.0.0.0"}}},
			{"xpack", obj{{"security", obj{{"enabled", "false"}}}}},
		}},
		{"os", obj{{"refresh_interval_in_millis", 1000}, {"name", osName}, {"pretty_name", s.rt.Distro.Display},
			{"arch", "amd64"}, {"version", s.rt.Distro.Kernel}, {"available_processors", 4}, {"allocated_processors", 4}}},
		{"process", obj{{"refresh_interval_in_millis", 1000}, {"id", 1147}, {"mlockall", false}}},
		{"jvm", obj{{"pid", 1147}, {"version", s.jdk()}, {"vm_name", "OpenJDK 64-Bit Server VM"},
			{"vm_version", s.jdk() + "+13-58"}, {"vm_vendor", "Oracle Corporation"}, {"bundled_jdk", true}, {"using_bundled_jdk", true},
			{"start_time_in_millis", s.started.UnixMilli()},
			{"mem", obj{{"heap_init_in_bytes", int64(4177526784)}, {"heap_max_in_bytes", int64(4177526784)}}}}},
	}
	return obj{{"_nodes", obj{{"total", 1}, {"successful", 1}, {"failed", 0}}}, {"cluster_name", s.cluster},
		{"nodes", obj{{s.nodeID, node}}}}
}

func (s *server) indexInfo(ixs []index) obj {
	out := obj{}
	for _, ix := range ixs {
		out = append(out, kv{ix.name, obj{
			{"aliases", obj{}},
			{"mappings", mappingOf(ix)},
			{"settings", obj{{"index", obj{
				{"routing", obj{{"allocation", obj{{"include", obj{{"_tier_preference", "data_content"}}}}}}},
				{"number_of_shards", "1"}, {"provided_name", ix.name},
				{"creation_date", strconv.FormatInt(ix.created.UnixMilli(), 10)},
				{"number_of_replicas", "1"}, {"uuid", ix.uuid},
				{"version", obj{{"created", s.versionID()}}},
			}}}},
		}})
	}
	return out
}

// versionID is Elasticsearch's numeric version id (8.13.4 → 8130499... as
// index.version.created: major*1000000 + minor*10000 + patch*100 + 99).
func (s *server) versionID() string {
	parts := strings.Split(s.ver.text, ".")
	var n [3]int
	for i := range parts {
		n[i], _ = strconv.Atoi(parts[i])
	}
	return strconv.Itoa(n[0]*1000000 + n[1]*10000 + n[2]*100 + 99)
}

func mappingOf(ix index) obj {
	props := obj{}
	if len(ix.docs) > 0 {
		for _, f := range ix.docs[0].source {
			switch f.v.(type) {
			case float64:
				props = append(props, kv{f.k, obj{{"type", "float"}}})
			default:
				if strings.Contains(f.k, "timestamp") || strings.HasSuffix(f.k, "_at") {
					props = append(props, kv{f.k, obj{{"type", "date"}}})
				} else {
					props = append(props, kv{f.k, obj{{"type", "text"}, {"fields", obj{{"keyword", obj{{"type", "keyword"}, {"ignore_above", 256}}}}}}})
				}
			}
		}
	}
	return obj{{"properties", props}}
}

func (s *server) mappings(ixs []index) obj {
	out := obj{}
	for _, ix := range ixs {
		out = append(out, kv{ix.name, obj{{"mappings", mappingOf(ix)}}})
	}
	return out
}

func (s *server) search(rq *request, ixs []index, count bool) *response {
	total := 0
	for _, ix := range ixs {
		total += ix.count
	}
	shards := obj{{"total", len(ixs)}, {"successful", len(ixs)}, {"skipped", 0}, {"failed", 0}}
	if count {
		return s.jsonResp(200, rq, obj{{"count", total}, {"_shards", shards}})
	}
	size := 10
	if v, ok := rq.param("size"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			size = min(n, 100)
		}
	}
	var hits []any
	for _, ix := range ixs {
		for _, d := range ix.docs {
			if len(hits) >= size {
				break
			}
			hits = append(hits, obj{{"_index", ix.name}, {"_id", d.id}, {"_score", 1.0}, {"_source", d.source}})
		}
	}
	if hits == nil {
		hits = []any{}
	}
	var tot any = obj{{"value", min(total, 10000)}, {"relation", rel(total)}}
	if s.ver.major < 7 {
		tot = total
	}
	var maxScore any = 1.0
	if len(hits) == 0 {
		maxScore = nil
	}
	took := 2 + int(binary.BigEndian.Uint16([]byte(derivedHex(rq.URL.RawQuery, 4)))%9)
	return s.jsonResp(200, rq, obj{{"took", took}, {"timed_out", false}, {"_shards", shards},
		{"hits", obj{{"total", tot}, {"max_score", maxScore}, {"hits", hits}}}})
}

func rel(total int) string {
	if total > 10000 {
		return "gte"
	}
	return "eq"
}

// bulk records a bulk write (its body is on the request event) and acknowledges it.
func (s *server) bulk(c *service.Conn, rq *request) *response {
	lines := 0
	for _, l := range strings.Split(string(rq.body), "\n") {
		if strings.TrimSpace(l) != "" {
			lines++
		}
	}
	c.Emit(event.Alert, map[string]string{"alert": "bulk-write", "lines": strconv.Itoa(lines)}, "")
	return s.jsonResp(200, rq, obj{{"took", 4}, {"errors", false}, {"items", []any{}}})
}
