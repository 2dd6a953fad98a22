package elasticsearch

import (
	"strconv"
	"strings"
	"time"
)

// catEndpoints is what GET /_cat lists.
const catEndpoints = `=^.^=
/_cat/allocation
/_cat/shards
/_cat/shards/{index}
/_cat/master
/_cat/nodes
/_cat/tasks
/_cat/indices
/_cat/indices/{index}
/_cat/segments
/_cat/segments/{index}
/_cat/count
/_cat/count/{index}
/_cat/recovery
/_cat/recovery/{index}
/_cat/health
/_cat/pending_tasks
/_cat/aliases
/_cat/aliases/{alias}
/_cat/thread_pool
/_cat/thread_pool/{thread_pools}
/_cat/plugins
/_cat/fielddata
/_cat/fielddata/{fields}
/_cat/nodeattrs
/_cat/repositories
/_cat/snapshots/{repository}
/_cat/templates
/_cat/component_templates/_cat/ml/anomaly_detectors
/_cat/ml/anomaly_detectors/{job_id}
/_cat/ml/datafeeds
/_cat/ml/datafeeds/{datafeed_id}
/_cat/ml/trained_models
/_cat/ml/trained_models/{model_id}
/_cat/ml/data_frame/analytics
/_cat/ml/data_frame/analytics/{id}
/_cat/transforms
/_cat/transforms/{transform_id}
`

// table is a _cat table: header names and rows; numeric columns are right-aligned.
type table struct {
	head    []string
	numeric map[int]bool
	rows    [][]string
}

// text renders the table like RestTable: columns padded to their widest cell,
// one space apart, the header only with ?v.
func (t table) text(verbose bool) string {
	widths := make([]int, len(t.head))
	all := t.rows
	if verbose {
		all = append([][]string{t.head}, t.rows...)
	}
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i, c := range r {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", widths[i]-len(c))
			if t.numeric[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// json renders the table as ?format=json does: an array of objects of strings.
func (t table) json() []any {
	out := []any{}
	for _, r := range t.rows {
		o := obj{}
		for i, c := range r {
			o = append(o, kv{t.head[i], c})
		}
		out = append(out, o)
	}
	return out
}

// humanBytes is ByteSizeValue's short form (4.2mb, 918.5kb, 512b).
func humanBytes(n int64) string {
	units := []string{"b", "kb", "mb", "gb", "tb"}
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + "b"
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + units[u]
}

func (s *server) cat(rq *request, parts []string) *response {
	_, verbose := rq.param("v")
	if v, ok := rq.param("v"); ok && v == "false" {
		verbose = false
	}
	if len(parts) == 0 {
		return &response{status: 200, ctype: "text/plain; charset=UTF-8", body: []byte(catEndpoints)}
	}
	var t table
	switch parts[0] {
	case "indices":
		ixs := s.indices
		if len(parts) > 1 {
			var missing string
			if ixs, missing = s.resolve(parts[1]); missing != "" {
				return s.notFound(rq, missing)
			}
		}
		t = table{head: []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"},
			numeric: map[int]bool{4: true, 5: true, 6: true, 7: true, 8: true, 9: true}}
		if s.ver.atLeast(8, 11) {
			t.head = append(t.head, "dataset.size")
			t.numeric[10] = true
		}
		for _, ix := range ixs {
			row := []string{"yellow", "open", ix.name, ix.uuid, "1", "1", strconv.Itoa(ix.count), strconv.Itoa(ix.count / 97),
				humanBytes(ix.size), humanBytes(ix.size)}
			if s.ver.atLeast(8, 11) {
				row = append(row, humanBytes(ix.size))
			}
			t.rows = append(t.rows, row)
		}
	case "nodes":
		role := "cdfhilmrstw"
		if !s.ver.atLeast(8, 0) {
			role = "cdhilmrstw"
		}
		t = table{head: []string{"ip", "heap.percent", "ram.percent", "cpu", "load_1m", "load_5m", "load_15m", "node.role", "master", "name"},
			numeric: map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true},
			rows:    [][]string{{s.ip(), "41", "94", "3", "0.18", "0.22", "0.19", role, "*", s.name}}}
	case "health":
		p, u := s.shards()
		now := time.Now()
		t = table{head: []string{"epoch", "timestamp", "cluster", "status", "node.total", "node.data", "shards", "pri", "relo", "init", "unassign", "pending_tasks", "max_task_wait_time", "active_shards_percent"},
			numeric: map[int]bool{0: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true},
			rows: [][]string{{strconv.FormatInt(now.Unix(), 10), now.UTC().Format("15:04:05"), s.cluster, "yellow", "1", "1",
				strconv.Itoa(p), strconv.Itoa(p), "0", "0", strconv.Itoa(u), "0", "-", strconv.FormatFloat(float64(p)*100/float64(max(1, p+u)), 'f', 1, 64) + "%"}}}
	case "master":
		t = table{head: []string{"id", "host", "ip", "node"}, rows: [][]string{{s.nodeID, s.ip(), s.ip(), s.name}}}
	case "count":
		total := 0
		for _, ix := range s.indices {
			total += ix.count
		}
		now := time.Now()
		t = table{head: []string{"epoch", "timestamp", "count"}, numeric: map[int]bool{0: true, 2: true},
			rows: [][]string{{strconv.FormatInt(now.Unix(), 10), now.UTC().Format("15:04:05"), strconv.Itoa(total)}}}
	case "aliases", "templates", "plugins", "tasks", "pending_tasks", "repositories", "nodeattrs":
		t = table{head: []string{"name"}}
	default:
		return s.noHandler(rq)
	}
	if f, _ := rq.param("format"); f == "json" {
		return s.jsonResp(200, rq, t.json())
	}
	return &response{status: 200, ctype: "text/plain; charset=UTF-8", body: []byte(t.text(verbose))}
}
