// Package webui owns the DECNET dashboard's built assets: the single-page app built
// from web/ (npm ci && npm run build writes it into dist/) embedded into the
// binary, so `go build` needs no npm and the API server serves the dashboard from
// the same port. The built files are committed; see web/README.md.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Assets returns the dashboard's files rooted at the build output: index.html at
// the top, hashed bundles under assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path name; "dist" is valid.
		panic("webui: " + err.Error())
	}
	return sub
}
