package api

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
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
	if name == "index.html" {
		w.Header().Set("Cache-Control", "no-cache")
	} else if strings.HasPrefix(name, "assets/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
