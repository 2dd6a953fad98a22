package shell

import (
	"errors"
	"path"
	"sort"
	"strings"
	"time"
)

// Limits of the per-session filesystem overlay: what an attacker may add.
const (
	maxOverlayBytes = 1 << 20 // bytes of file content written by the attacker
	maxOverlayNodes = 2048    // files and directories created by the attacker
	maxPathLen      = 4096
	maxSymlinkHops  = 8
)

var (
	errNotExist = errors.New("No such file or directory")
	errNotDir   = errors.New("Not a directory")
	errIsDir    = errors.New("Is a directory")
	errExist    = errors.New("File exists")
	errPerm     = errors.New("Permission denied")
	errNoSpace  = errors.New("No space left on device")
	errNotEmpty = errors.New("Directory not empty")
	errLoop     = errors.New("Too many levels of symbolic links")
	errNameLong = errors.New("File name too long")
	errBusy     = errors.New("Device or resource busy")
)

// node is one file, directory or symlink of the in-memory filesystem.
type node struct {
	name     string
	dir      bool
	link     string // symlink target when non-empty
	mode     uint32 // permission bits (and setuid etc.)
	uid, gid int
	size     int64 // displayed size when data is nil (binaries, devices)
	data     []byte
	gen      func() string // dynamic content (/proc)
	mtime    time.Time
	children map[string]*node
	user     bool // created or written by the attacker: counts against the overlay budget
	char     bool // character device
}

func (n *node) Size() int64 {
	if n.dir {
		return 4096
	}
	if n.link != "" {
		return int64(len(n.link))
	}
	if n.data != nil {
		return int64(len(n.data))
	}
	return n.size
}

// memFS is a session's filesystem: the distro's base tree plus whatever the attacker did,
// bounded by maxOverlayBytes and maxOverlayNodes.
type memFS struct {
	root      *node
	usedBytes int
	usedNodes int
	now       func() time.Time
}

// clean makes p absolute (relative to cwd) and normalised.
func clean(cwd, p string) string {
	if !strings.HasPrefix(p, "/") {
		p = cwd + "/" + p
	}
	return path.Clean(p)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// walk resolves an absolute clean path. With follow=false the last component is not
// dereferenced when it is a symlink.
func (f *memFS) walk(p string, follow bool) (*node, error) {
	return f.walkDepth(p, follow, 0)
}

func (f *memFS) walkDepth(p string, follow bool, depth int) (*node, error) {
	if len(p) > maxPathLen {
		return nil, errNameLong
	}
	cur := f.root
	curPath := "/"
	parts := splitPath(p)
	for i, part := range parts {
		if !cur.dir {
			return nil, errNotDir
		}
		if part == ".." {
			curPath = path.Dir(curPath)
			n, err := f.walkDepth(curPath, true, depth)
			if err != nil {
				return nil, err
			}
			cur = n
			continue
		}
		next, ok := cur.children[part]
		if !ok {
			return nil, errNotExist
		}
		last := i == len(parts)-1
		if next.link != "" && (!last || follow) {
			if depth >= maxSymlinkHops {
				return nil, errLoop
			}
			target := next.link
			if !strings.HasPrefix(target, "/") {
				target = path.Join(curPath, target)
			}
			n, err := f.walkDepth(path.Clean(target), true, depth+1)
			if err != nil {
				return nil, err
			}
			next = n
			curPath = path.Clean(target)
		} else {
			curPath = path.Join(curPath, part)
		}
		cur = next
	}
	return cur, nil
}

// parent resolves the directory that holds p, and p's base name.
func (f *memFS) parent(p string) (*node, string, error) {
	dir, base := path.Split(p)
	if base == "" || base == "." || base == ".." {
		return nil, "", errExist
	}
	if len(base) > 255 {
		return nil, "", errNameLong
	}
	d, err := f.walk(path.Clean(dir), true)
	if err != nil {
		return nil, "", err
	}
	if !d.dir {
		return nil, "", errNotDir
	}
	return d, base, nil
}

func (f *memFS) charge(bytes, nodes int) error {
	if f.usedBytes+bytes > maxOverlayBytes || f.usedNodes+nodes > maxOverlayNodes {
		return errNoSpace
	}
	f.usedBytes += bytes
	f.usedNodes += nodes
	return nil
}

func (f *memFS) release(n *node) {
	if n.user {
		f.usedBytes -= len(n.data)
		f.usedNodes--
	}
	for _, c := range n.children {
		f.release(c)
	}
}

// add inserts a base-tree node (no budget accounting); used while building.
func (f *memFS) add(p string, n *node) *node {
	d := f.mkdirAllBase(path.Dir(p))
	n.name = path.Base(p)
	if n.dir && n.children == nil {
		n.children = map[string]*node{}
	}
	d.children[n.name] = n
	return n
}

func (f *memFS) mkdirAllBase(p string) *node {
	cur := f.root
	for _, part := range splitPath(p) {
		next, ok := cur.children[part]
		if !ok {
			next = &node{name: part, dir: true, mode: 0o755, mtime: cur.mtime, children: map[string]*node{}}
			cur.children[part] = next
		}
		if next.link != "" {
			n, err := f.walk(path.Clean(path.Join("/", p[:0], next.link)), true)
			if err == nil && n.dir {
				next = n
			}
		}
		cur = next
	}
	return cur
}

// writeFile creates or replaces (or appends to) a file as the attacker.
func (f *memFS) writeFile(p string, data []byte, appendMode bool, uid, gid int) error {
	n, err := f.walk(p, true)
	if err == nil {
		if n.dir {
			return errIsDir
		}
		if n.gen != nil || n.char {
			if n.char {
				return nil // /dev/null and friends swallow writes
			}
			return errPerm
		}
		if uid != 0 && (n.uid != uid || n.mode&0o200 == 0) {
			return errPerm
		}
		old := len(n.data)
		var nd []byte
		if appendMode {
			nd = append(append(make([]byte, 0, old+len(data)), n.data...), data...)
		} else {
			nd = append([]byte(nil), data...)
		}
		delta := len(nd)
		if n.user {
			delta -= old
		}
		if err := f.charge(delta, 0); err != nil {
			return err
		}
		if !n.user {
			n.user = true
			f.usedNodes++
		}
		n.data, n.size, n.mtime = nd, 0, f.now()
		return nil
	}
	if err != errNotExist {
		return err
	}
	d, base, err := f.parent(p)
	if err != nil {
		return err
	}
	if uid != 0 && (d.uid != uid || d.mode&0o200 == 0) && d.mode&0o1002 != 0o1002 {
		return errPerm
	}
	if err := f.charge(len(data), 1); err != nil {
		return err
	}
	d.children[base] = &node{name: base, mode: 0o644, uid: uid, gid: gid, data: append([]byte{}, data...),
		mtime: f.now(), user: true}
	d.mtime = f.now()
	return nil
}

func (f *memFS) mkdir(p string, uid, gid int) error {
	if _, err := f.walk(p, false); err == nil {
		return errExist
	}
	d, base, err := f.parent(p)
	if err != nil {
		return err
	}
	if uid != 0 && (d.uid != uid || d.mode&0o200 == 0) && d.mode&0o1002 != 0o1002 {
		return errPerm
	}
	if err := f.charge(0, 1); err != nil {
		return err
	}
	d.children[base] = &node{name: base, dir: true, mode: 0o755, uid: uid, gid: gid, mtime: f.now(),
		children: map[string]*node{}, user: true}
	d.mtime = f.now()
	return nil
}

func (f *memFS) remove(p string, recursive bool, uid int) error {
	n, err := f.walk(p, false)
	if err != nil {
		return err
	}
	if p == "/" {
		return errBusy
	}
	if n.dir && !recursive {
		return errIsDir
	}
	d, base, err := f.parent(p)
	if err != nil {
		return err
	}
	if uid != 0 && d.uid != uid && d.mode&0o1002 != 0o1002 {
		return errPerm
	}
	if n.gen != nil && n.link == "" {
		return errPerm // /proc entries cannot be removed
	}
	f.release(n)
	delete(d.children, base)
	d.mtime = f.now()
	return nil
}

// rename moves src to dst (dst may be an existing directory to move into).
func (f *memFS) rename(src, dst string, uid int) error {
	n, err := f.walk(src, false)
	if err != nil {
		return err
	}
	if t, err := f.walk(dst, true); err == nil && t.dir {
		dst = path.Join(dst, path.Base(src))
	}
	if dst == src {
		return nil
	}
	if strings.HasPrefix(dst, src+"/") {
		return errors.New("Invalid argument")
	}
	sd, sbase, err := f.parent(src)
	if err != nil {
		return err
	}
	dd, dbase, err := f.parent(dst)
	if err != nil {
		return err
	}
	if uid != 0 && ((sd.uid != uid && sd.mode&0o1002 != 0o1002) || (dd.uid != uid && dd.mode&0o1002 != 0o1002)) {
		return errPerm
	}
	if old, ok := dd.children[dbase]; ok {
		if old.dir && !n.dir {
			return errIsDir
		}
		f.release(old)
	}
	delete(sd.children, sbase)
	n.name = dbase
	dd.children[dbase] = n
	dd.mtime = f.now()
	return nil
}

// copyNode deep-copies n into a new attacker-owned tree, charging the budget.
func (f *memFS) copyNode(n *node, name string, uid, gid int) (*node, error) {
	c := &node{name: name, dir: n.dir, link: n.link, mode: n.mode, uid: uid, gid: gid, size: n.size,
		mtime: f.now(), user: true, char: n.char}
	var data []byte
	if n.gen != nil {
		data = []byte(n.gen())
	} else if n.data != nil {
		data = n.data
	} else if !n.dir && n.link == "" && n.size > 0 {
		data = fakeELF(n.size)
	}
	if data != nil {
		c.data = append([]byte{}, data...)
		c.size = 0
	}
	if err := f.charge(len(c.data), 1); err != nil {
		return nil, err
	}
	if n.dir {
		c.children = map[string]*node{}
		for k, ch := range n.children {
			cc, err := f.copyNode(ch, k, uid, gid)
			if err != nil {
				return nil, err
			}
			c.children[k] = cc
		}
	}
	return c, nil
}

func (f *memFS) copy(src, dst string, recursive bool, uid, gid int) error {
	n, err := f.walk(src, true)
	if err != nil {
		return err
	}
	if n.dir && !recursive {
		return errIsDir
	}
	if t, err := f.walk(dst, true); err == nil && t.dir {
		dst = path.Join(dst, path.Base(src))
	}
	if n.dir && (dst == src || strings.HasPrefix(dst, src+"/")) {
		return errors.New("cannot copy a directory into itself")
	}
	dd, dbase, err := f.parent(dst)
	if err != nil {
		return err
	}
	if uid != 0 && dd.uid != uid && dd.mode&0o1002 != 0o1002 {
		return errPerm
	}
	if uid != 0 && n.mode&0o444 == 0 {
		return errPerm
	}
	c, err := f.copyNode(n, dbase, uid, gid)
	if err != nil {
		return err
	}
	if old, ok := dd.children[dbase]; ok {
		f.release(old)
	}
	dd.children[dbase] = c
	return nil
}

// list returns a directory's entries sorted by name (as ls sorts in the C locale,
// ignoring a leading dot like ls does in en_US.UTF-8).
func (f *memFS) list(n *node) []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a := strings.ToLower(strings.TrimLeft(out[i].name, "."))
		b := strings.ToLower(strings.TrimLeft(out[j].name, "."))
		if a != b {
			return a < b
		}
		return out[i].name < out[j].name
	})
	return out
}

// content returns a file's bytes as the attacker would read them.
func (n *node) content() []byte {
	if n.gen != nil {
		return []byte(n.gen())
	}
	if n.data != nil {
		return n.data
	}
	if n.char {
		return nil
	}
	if n.size > 0 {
		return fakeELF(n.size)
	}
	return nil
}

// fakeELF is what cat shows for a binary: an ELF header then binary noise, short.
func fakeELF(size int64) []byte {
	b := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00")
	if size < int64(len(b)) {
		return b[:size]
	}
	return b
}

// glob expands a pattern against the filesystem, like the shell does for unquoted words.
// It returns nil when nothing matches (the word is then kept literally).
func (f *memFS) glob(cwd, pattern string, limit int) []string {
	abs := strings.HasPrefix(pattern, "/")
	full := clean(cwd, pattern)
	if strings.HasSuffix(pattern, "/") {
		full += "/"
	}
	parts := splitPath(full)
	type cand struct {
		p string
		n *node
	}
	cur := []cand{{"/", f.root}}
	for _, part := range parts {
		var next []cand
		for _, c := range cur {
			if !c.n.dir {
				continue
			}
			if !strings.ContainsAny(part, "*?[") {
				if part == ".." || part == "." {
					n, err := f.walk(path.Clean(path.Join(c.p, part)), true)
					if err == nil {
						next = append(next, cand{path.Clean(path.Join(c.p, part)), n})
					}
					continue
				}
				if ch, ok := c.n.children[part]; ok {
					p := path.Join(c.p, part)
					if ch.link != "" {
						if n, err := f.walk(p, true); err == nil {
							ch = n
						}
					}
					next = append(next, cand{p, ch})
				}
				continue
			}
			for _, ch := range f.list(c.n) {
				if strings.HasPrefix(ch.name, ".") && !strings.HasPrefix(part, ".") {
					continue
				}
				if ok, err := path.Match(part, ch.name); err == nil && ok {
					p := path.Join(c.p, ch.name)
					n := ch
					if ch.link != "" {
						if t, err := f.walk(p, true); err == nil {
							n = t
						}
					}
					next = append(next, cand{p, n})
					if len(next) > limit {
						return nil
					}
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	out := make([]string, 0, len(cur))
	for _, c := range cur {
		p := c.p
		if !abs {
			if rel, ok := relTo(cwd, p); ok {
				p = rel
			}
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func relTo(cwd, p string) (string, bool) {
	if cwd == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	if strings.HasPrefix(p, cwd+"/") {
		return p[len(cwd)+1:], true
	}
	return "", false
}
