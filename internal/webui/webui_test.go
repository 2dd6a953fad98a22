package webui

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestIndexReferencesOnlyEmbeddedFiles checks that the embedded build has an
// index.html whose every script, stylesheet, icon and image is a same-origin file
// that exists in the embedded dist.
func TestIndexReferencesOnlyEmbeddedFiles(t *testing.T) {
	assets := Assets()
	refs := pageRefs(t, assets, "index.html")
	if len(refs) == 0 {
		t.Fatal("index.html references no script or stylesheet; the build is incomplete")
	}
	var sawJS, sawCSS bool
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html references %q, which is not an absolute same-origin path", ref)
			continue
		}
		name := strings.TrimPrefix(path.Clean(ref), "/")
		if _, err := fs.Stat(assets, name); err != nil {
			t.Errorf("index.html references %q, which is not in the embedded dist: %v", ref, err)
		}
		sawJS = sawJS || strings.HasSuffix(name, ".js")
		sawCSS = sawCSS || strings.HasSuffix(name, ".css")
	}
	if !sawJS || !sawCSS {
		t.Errorf("index.html should load one script and one stylesheet, references are %q", refs)
	}
}

// TestNoInlineScriptOrStyle checks every built HTML file against what the CSP
// (script-src 'self'; style-src 'self') would block: inline <script> bodies,
// event-handler attributes, javascript: URLs, style attributes and <style>
// elements.
func TestNoInlineScriptOrStyle(t *testing.T) {
	assets := Assets()
	n := 0
	err := fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		n++
		pageRefs(t, assets, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the embedded dist has no HTML file")
	}
}

// pageRefs parses one HTML file, fails t on anything inline, and returns the URLs
// of its scripts, stylesheets and images.
func pageRefs(t *testing.T, assets fs.FS, name string) []string {
	t.Helper()
	b, err := fs.ReadFile(assets, name)
	if err != nil {
		t.Fatalf("the embedded dist has no %s: %v (run npm ci && npm run build in web/)", name, err)
	}
	doc, err := html.Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("%s does not parse as HTML: %v", name, err)
	}
	var refs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				attrs[k] = a.Val
				switch {
				case strings.HasPrefix(k, "on"):
					t.Errorf("%s: <%s> has an inline event handler %s=%q", name, n.Data, a.Key, a.Val)
				case k == "style":
					t.Errorf("%s: <%s> has an inline style attribute %q", name, n.Data, a.Val)
				case (k == "href" || k == "src" || k == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
					t.Errorf("%s: <%s> has a javascript: URL", name, n.Data)
				}
			}
			switch n.Data {
			case "script":
				src, ok := attrs["src"]
				if !ok || src == "" {
					t.Errorf("%s: has an inline <script> (no src)", name)
				} else {
					refs = append(refs, src)
				}
				if c := n.FirstChild; c != nil && strings.TrimSpace(c.Data) != "" {
					t.Errorf("%s: <script src=%q> has an inline body", name, src)
				}
			case "style":
				t.Errorf("%s: has an inline <style> element", name)
			case "link":
				if href := attrs["href"]; href != "" {
					refs = append(refs, href)
				}
			case "img":
				if src := attrs["src"]; src != "" && !strings.HasPrefix(src, "data:") {
					refs = append(refs, src)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refs
}

// forbiddenInSource are constructs the dashboard's own code must never use: they
// turn attacker-controlled text into markup or code, or need 'unsafe-inline'.
var forbiddenInSource = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|dangerouslySetInnerHTML`), "renders a string as HTML"},
	{regexp.MustCompile(`document\.write|\beval\s*\(|new\s+Function\s*\(`), "executes or writes strings as code"},
	{regexp.MustCompile(`\bstyle=\{|\bstyle="`), "sets an inline style attribute (blocked by the CSP)"},
	{regexp.MustCompile(`setAttribute\(\s*['"](style|on\w+|href|src)['"]`), "sets a style, event-handler or URL attribute from a string"},
	{regexp.MustCompile(`window\.(alert|confirm|prompt)\s*\(`), "opens a modal dialog"},
}

// TestSourceRendersTextOnly scans the dashboard sources (web/src) for constructs
// that would make attacker-controlled text markup or code.
func TestSourceRendersTextOnly(t *testing.T) {
	files := sourceFiles(t)
	checked := 0
	for _, rel := range files {
		if !strings.HasPrefix(rel, "src/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(webDir(t), filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, f := range forbiddenInSource {
				if f.re.MatchString(line) {
					t.Errorf("web/%s:%d %s: %s", rel, i+1, f.why, strings.TrimSpace(line))
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no dashboard sources under web/src")
	}
}

// TestDistMatchesSources recomputes the digest of the build's inputs that
// `npm run build` records in source.sha256 (see web/scripts/source-hash.mjs): a
// change to web/ without a rebuild of the committed dist fails here.
func TestDistMatchesSources(t *testing.T) {
	want, err := os.ReadFile("source.sha256")
	if err != nil {
		t.Fatalf("cannot read source.sha256 (written by npm run build in web/): %v", err)
	}
	var lines []string
	for _, rel := range sourceFiles(t) {
		b, err := os.ReadFile(filepath.Join(webDir(t), filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		lines = append(lines, rel+"\x00"+hex.EncodeToString(sum[:])+"\n")
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	if got := hex.EncodeToString(sum[:]); got != strings.TrimSpace(string(want)) {
		t.Fatalf("the dashboard sources in web/ changed since internal/webui/dist was built (digest %s, recorded %s): run npm ci && npm run build in web/ and commit the result", got, strings.TrimSpace(string(want)))
	}
}

func webDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sourceFiles lists the build inputs relative to web/ with slashes, sorted as the
// build script sorts them (by UTF-16 code units, which equals byte order for the
// ASCII names used here).
func sourceFiles(t *testing.T) []string {
	t.Helper()
	web := webDir(t)
	files := []string{"index.html", "vite.config.js", "package.json", "package-lock.json"}
	for _, dir := range []string{"src", "public"} {
		err := filepath.WalkDir(filepath.Join(web, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(web, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatalf("cannot list the dashboard sources in %s: %v", web, err)
		}
	}
	sort.Strings(files)
	return files
}
