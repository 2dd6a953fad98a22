package ssh

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	// maxFSEntries bounds the entries an attacker can add to a session's fake tree.
	maxFSEntries = 4096
	// maxPending bounds the out-of-order SFTP write data one connection holds
	// while waiting for gaps to fill, across all its uploads (OpenSSH and pkg/sftp
	// keep at most a few MiB in flight per file).
	maxPending = 16 << 20
)

// sftp serves the SFTP subsystem over the session channel and returns its exit
// status. Uploaded files are captured; reads and listings come from a small fake
// tree that matches the decky's distro.
func (s *session) sftp() uint32 {
	fsys := newFakeFS(s)
	srv := sftp.NewRequestServer(s.ch, sftp.Handlers{FileGet: fsys, FilePut: fsys, FileCmd: fsys, FileList: fsys},
		sftp.WithStartDirectory(fsys.home))
	// Serve ends at the client's EOF; the channel stays open for exit-status.
	err := srv.Serve()
	if err != nil && !errors.Is(err, io.EOF) {
		return 1
	}
	return 0
}

// fakeEntry is one file or directory of the fake tree.
type fakeEntry struct {
	name    string
	dir     bool
	mode    fs.FileMode
	size    int64
	mtime   time.Time
	content []byte
	// uploaded files are listed with their size but cannot be read back.
	uploaded bool
}

func (e *fakeEntry) Name() string { return e.name }
func (e *fakeEntry) Size() int64 {
	if e.dir {
		return 4096
	}
	if e.content != nil {
		return int64(len(e.content))
	}
	return e.size
}
func (e *fakeEntry) Mode() fs.FileMode {
	if e.dir {
		return fs.ModeDir | e.mode
	}
	return e.mode
}
func (e *fakeEntry) ModTime() time.Time { return e.mtime }
func (e *fakeEntry) IsDir() bool        { return e.dir }
func (e *fakeEntry) Sys() any           { return nil }

// fakeFS is one session's view of the decky's filesystem over SFTP.
type fakeFS struct {
	s    *session
	home string

	mu      sync.Mutex
	entries map[string]*fakeEntry // by clean absolute path
}

func newFakeFS(s *session) *fakeFS {
	rt := s.cn.s.rt
	user := s.sc.User()
	home := homeOf(user)
	f := &fakeFS{s: s, home: home, entries: map[string]*fakeEntry{}}
	old := time.Now().Add(-97 * 24 * time.Hour).Truncate(time.Second)
	for _, d := range []string{"/", "/bin", "/boot", "/dev", "/dev/shm", "/etc", "/etc/ssh", "/home", "/lib", "/media", "/mnt",
		"/opt", "/proc", "/root", "/root/.ssh", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib",
		"/usr/local", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var", "/var/backups", "/var/cache", "/var/lib",
		"/var/log", "/var/tmp", "/var/www", home} {
		mode := fs.FileMode(0o755)
		switch d {
		case "/tmp", "/var/tmp", "/dev/shm":
			mode = fs.ModeSticky | 0o777
		case "/root", "/root/.ssh":
			mode = 0o700
		}
		f.entries[d] = &fakeEntry{name: path.Base(d), dir: true, mode: mode, mtime: old}
	}
	hostname := rt.Config.Hostname
	files := map[string]string{
		"/etc/hostname":        hostname + "\n",
		"/etc/os-release":      rt.Distro.OSRelease,
		"/etc/issue.net":       rt.Distro.IssueNet,
		"/etc/passwd":          fakePasswd(user, home, rt.Distro.Shell),
		"/etc/hosts":           "127.0.0.1\tlocalhost\n127.0.1.1\t" + hostname + "\n",
		"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n",
		home + "/.bashrc":      "# ~/.bashrc: executed by bash(1) for non-login shells.\n[ -z \"$PS1\" ] && return\nHISTCONTROL=ignoreboth\nshopt -s histappend\nHISTSIZE=1000\nHISTFILESIZE=2000\n",
		home + "/.profile":     "# ~/.profile: executed by the command interpreter for login shells.\nif [ -n \"$BASH_VERSION\" ]; then\n    if [ -f \"$HOME/.bashrc\" ]; then\n\t. \"$HOME/.bashrc\"\n    fi\nfi\n",
	}
	for p, c := range files {
		f.entries[p] = &fakeEntry{name: path.Base(p), mode: 0o644, mtime: old, content: []byte(c)}
	}
	return f
}

// homeOf is a user's home directory on the emulated machine.
func homeOf(user string) string {
	if user == "root" || user == "" || user == "." || user == ".." || strings.ContainsAny(user, "/\x00") {
		return "/root"
	}
	return "/home/" + user
}

func fakePasswd(user, home, sh string) string {
	if sh == "" {
		sh = "/bin/bash"
	}
	var b strings.Builder
	b.WriteString("root:x:0:0:root:/root:" + sh + "\n")
	b.WriteString("daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\n")
	b.WriteString("www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n")
	if home != "/root" {
		b.WriteString(user + ":x:1000:1000:" + user + ",,,:" + home + ":" + sh + "\n")
	}
	return b.String()
}

func (f *fakeFS) lookup(p string) (*fakeEntry, bool) {
	e, ok := f.entries[path.Clean("/"+p)]
	return e, ok
}

func (f *fakeFS) parentIsDir(p string) bool {
	e, ok := f.entries[path.Dir(path.Clean("/"+p))]
	return ok && e.dir
}

func (f *fakeFS) emit(method string, r *sftp.Request) {
	fields := map[string]string{"kind": "sftp", "method": method, "path": service.Printable(r.Filepath, 0), "username": service.Printable(f.s.sc.User(), 0)}
	if r.Target != "" {
		fields["target"] = service.Printable(r.Target, 0)
	}
	f.s.cn.c.Emit(event.Request, fields, "")
}

// Fileread serves a fake file.
func (f *fakeFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.lookup(r.Filepath)
	switch {
	case !ok:
		f.s.cn.c.Emit(event.DownloadAttempt, map[string]string{"path": service.Printable(r.Filepath, 0), "via": "sftp", "username": service.Printable(f.s.sc.User(), 0)}, "")
		return nil, os.ErrNotExist
	case e.dir:
		return nil, errors.New("is a directory")
	case e.uploaded:
		return nil, os.ErrPermission
	}
	f.s.cn.c.Emit(event.DownloadAttempt, map[string]string{"path": service.Printable(r.Filepath, 0), "via": "sftp", "username": service.Printable(f.s.sc.User(), 0)}, "")
	return bytes.NewReader(e.content), nil
}

// Filewrite captures an upload.
func (f *fakeFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := path.Clean("/" + r.Filepath)
	if e, ok := f.entries[p]; ok && e.dir {
		return nil, errors.New("is a directory")
	}
	if !f.parentIsDir(p) {
		return nil, os.ErrNotExist
	}
	if _, ok := f.entries[p]; !ok && len(f.entries) >= maxFSEntries {
		return nil, errors.New("no space left on device")
	}
	f.entries[p] = &fakeEntry{name: path.Base(p), mode: 0o644, mtime: time.Now().Truncate(time.Second), uploaded: true}
	return newUpload(f.s.cn.s.rt.SaveArtifact, &f.s.cn.pending, func(res uploadResult) {
		f.finishUpload(p, res.size)
		fields := map[string]string{
			"filename": service.Printable(p, 0), "size": strconv.FormatInt(res.size, 10), "sha256": res.sum,
			"stored": strconv.FormatBool(res.stored), "via": "sftp", "username": service.Printable(f.s.sc.User(), 0),
		}
		if !res.complete {
			fields["complete"] = "false"
		}
		f.s.cn.c.Emit(event.FileUpload, fields, "")
	}), nil
}

func (f *fakeFS) finishUpload(p string, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.entries[p]; ok && !e.dir {
		e.size = size
	}
}

// Filecmd handles setstat, rename, remove, mkdir, rmdir and links on the fake tree.
func (f *fakeFS) Filecmd(r *sftp.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := path.Clean("/" + r.Filepath)
	switch r.Method {
	case "Setstat":
		if _, ok := f.entries[p]; !ok {
			return os.ErrNotExist
		}
		return nil
	case "Rename":
		f.emit("rename", r)
		e, ok := f.entries[p]
		if !ok {
			return os.ErrNotExist
		}
		t := path.Clean("/" + r.Target)
		if !f.parentIsDir(t) {
			return os.ErrNotExist
		}
		if e.dir {
			return os.ErrPermission
		}
		delete(f.entries, p)
		e.name = path.Base(t)
		f.entries[t] = e
		return nil
	case "Remove":
		f.emit("remove", r)
		e, ok := f.entries[p]
		if !ok {
			return os.ErrNotExist
		}
		if e.dir {
			return errors.New("is a directory")
		}
		if !e.uploaded {
			return os.ErrPermission
		}
		delete(f.entries, p)
		return nil
	case "Mkdir":
		f.emit("mkdir", r)
		if _, ok := f.entries[p]; ok {
			return os.ErrExist
		}
		if !f.parentIsDir(p) {
			return os.ErrNotExist
		}
		if len(f.entries) >= maxFSEntries {
			return errors.New("no space left on device")
		}
		f.entries[p] = &fakeEntry{name: path.Base(p), dir: true, mode: 0o755, mtime: time.Now().Truncate(time.Second)}
		return nil
	case "Rmdir":
		f.emit("rmdir", r)
		e, ok := f.entries[p]
		if !ok {
			return os.ErrNotExist
		}
		if !e.dir {
			return errors.New("not a directory")
		}
		prefix := p + "/"
		for q := range f.entries {
			if strings.HasPrefix(q, prefix) {
				return errors.New("directory not empty")
			}
		}
		return os.ErrPermission
	case "Symlink", "Link":
		f.emit(strings.ToLower(r.Method), r)
		return os.ErrPermission
	}
	return sftp.ErrSSHFxOpUnsupported
}

// Filelist serves List and Stat (Readlink is not supported: the tree has no links).
func (f *fakeFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := path.Clean("/" + r.Filepath)
	e, ok := f.entries[p]
	if !ok {
		return nil, os.ErrNotExist
	}
	switch r.Method {
	case "List":
		if !e.dir {
			return nil, errors.New("not a directory")
		}
		var list []fs.FileInfo
		prefix := strings.TrimSuffix(p, "/") + "/"
		for q, c := range f.entries {
			if q != "/" && strings.HasPrefix(q, prefix) && !strings.Contains(q[len(prefix):], "/") {
				cp := *c
				list = append(list, &cp)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name() < list[j].Name() })
		return listerAt(list), nil
	case "Stat":
		cp := *e
		if p == "/" {
			cp.name = "/"
		}
		return listerAt{&cp}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

type listerAt []fs.FileInfo

func (l listerAt) ListAt(out []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n+int(off) >= len(l) {
		return n, io.EOF
	}
	return n, nil
}

// upload streams one SFTP upload into Runtime.SaveArtifact. SFTP clients write
// several chunks concurrently and out of order; chunks ahead of the next expected
// offset wait (bounded by maxPending) until the gap fills, so the artifact is hashed
// in file order without holding the whole file in memory.
type upload struct {
	onDone func(uploadResult)
	budget *atomic.Int64 // pending bytes of the whole connection

	mu      sync.Mutex
	next    int64
	pending map[int64][]byte
	held    int
	pw      *io.PipeWriter
	done    chan uploadResult
	closed  bool
	failed  error
}

type uploadResult struct {
	sum      string
	size     int64
	stored   bool
	err      error
	complete bool // false when data after a gap (a sparse write) was dropped
}

// newUpload starts save (Runtime.SaveArtifact) on the upload's byte stream;
// onDone gets the result when the client closes the file.
func newUpload(save func(io.Reader) (string, int64, bool, error), budget *atomic.Int64, onDone func(uploadResult)) *upload {
	pr, pw := io.Pipe()
	u := &upload{onDone: onDone, budget: budget, pending: map[int64][]byte{}, pw: pw, done: make(chan uploadResult, 1)}
	go func() {
		sum, size, stored, err := save(pr)
		pr.CloseWithError(err)
		u.done <- uploadResult{sum: sum, size: size, stored: stored, err: err}
	}()
	return u
}

func (u *upload) WriteAt(p []byte, off int64) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed != nil {
		return 0, u.failed
	}
	if u.closed {
		return 0, os.ErrClosed
	}
	n := len(p)
	end := off + int64(n)
	switch {
	case end <= u.next:
		return n, nil // a rewrite of data already hashed
	case off < u.next:
		p = p[u.next-off:]
		off = u.next
	}
	if off > u.next {
		if prev, ok := u.pending[off]; ok && len(prev) >= len(p) {
			return n, nil
		}
		if u.budget.Add(int64(len(p))) > maxPending {
			u.budget.Add(-int64(len(p)))
			u.failed = errors.New("upload written too far out of order")
			return 0, u.failed
		}
		u.pending[off] = append([]byte(nil), p...)
		u.held += len(p)
		return n, nil
	}
	if err := u.push(p); err != nil {
		return 0, err
	}
	// Flush every pending chunk that now starts at or before next (overlaps
	// keep only their new tail), until no chunk touches the written prefix.
	for progress := true; progress; {
		progress = false
		for o, c := range u.pending {
			if o > u.next {
				continue
			}
			delete(u.pending, o)
			u.held -= len(c)
			u.budget.Add(-int64(len(c)))
			progress = true
			if o+int64(len(c)) > u.next {
				if err := u.push(c[u.next-o:]); err != nil {
					return 0, err
				}
			}
		}
	}
	return n, nil
}

func (u *upload) push(p []byte) error {
	if _, err := u.pw.Write(p); err != nil {
		u.failed = err
		return err
	}
	u.next += int64(len(p))
	return nil
}

// Close ends the upload and reports the artifact.
func (u *upload) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	complete := len(u.pending) == 0 && u.failed == nil
	u.pending = nil
	u.budget.Add(-int64(u.held))
	u.held = 0
	u.mu.Unlock()
	_ = u.pw.Close()
	res := <-u.done
	res.complete = complete
	u.onDone(res)
	return res.err
}
