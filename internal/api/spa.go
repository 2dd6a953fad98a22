package api

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DECNET</title></head>` +
	`<body><h1>404: dashboard not built</h1><p>This decnet binary has no embedded dashboard. The API is at /api/.</p></body></html>`

// staticExt are extensions of files a build emits: a missing one is a 404, not a
// client route (client routes may hold dots, e.g. /attackers/10.0.0.1).
var staticExt = map[string]bool{".js": true, ".mjs": true, ".css": true, ".map": true, ".png": true, ".svg": true, ".ico": true,
	".jpg": true, ".webp": true, ".woff": true, ".woff2": true, ".ttf": true, ".json": true, ".txt": true, ".html": true, ".wasm": true}

// handleSPA serves the embedded dashboard: a file when it exists, index.html for
// client-side routes (paths that are not a build file), 404 otherwise.
func (s *Server) handleSPA(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.cfg.Assets == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(notBuiltPage))
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if st, err := fs.Stat(s.cfg.Assets, name); err != nil || st.IsDir() {
		if strings.HasPrefix(name, "assets/") || staticExt[path.Ext(name)] {
			http.NotFound(w, r)
			return
		}
		name = "index.html"
	}
	data, err := fs.ReadFile(s.cfg.Assets, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := s.assetsGz.get(name, data); gz != nil {
			data = gz
			w.Header().Set("Content-Encoding", "gzip")
		}
	}
	if name == "index.html" {
		w.Header().Set("Cache-Control", "no-cache")
	} else if strings.HasPrefix(name, "assets/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// gzipAssets holds the dashboard's files gzip-compressed, each compressed once, the
// first time a client that accepts gzip asks for it (the embedded files never
// change). The script bundle is ~640 KB and ~200 KB compressed: what a browser
// downloads on a dashboard's first load, often over a VPN.
type gzipAssets struct {
	mu sync.Mutex
	m  map[string][]byte // nil value: not smaller compressed
}

// get returns name's data (the file's whole content) gzip-compressed, or nil when
// that is no smaller.
func (g *gzipAssets) get(name string, data []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gz, ok := g.m[name]; ok {
		return gz
	}
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	gz := gzipBytes(zw, data)
	if g.m == nil {
		g.m = map[string][]byte{}
	}
	g.m[name] = gz
	return gz
}
