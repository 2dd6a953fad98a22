// Package shell owns DECNET's emulated interactive shell: what an attacker gets after a
// "successful" SSH or telnet login. It never executes anything. Command lines are parsed
// by a small POSIX-shell subset and every command is emulated against an in-memory,
// per-session filesystem built from the decky's distro persona (catalog.Distro), so that
// uname, /etc/os-release, the kernel, the shell, the hostname, the processes and the
// network all tell the same story as the decky's banners. Every command line is reported
// as a "command" event and every download attempt (wget, curl, tftp, scp, …) as a
// "download_attempt" event; nothing is ever fetched. Memory is bounded per session
// (filesystem overlay, history, line length, output size).
package shell

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"decnet/internal/catalog"
)

// Bounds for one session.
const (
	maxLineLen   = 64 << 10  // bytes of one command line handed to Exec
	maxOutput    = 256 << 10 // bytes of output of one Exec
	maxHistory   = 1000      // remembered history entries
	maxDepth     = 4         // nesting of $( … ), sh -c, | sh
	maxSteps     = 4096      // simple commands run by one Exec
	maxVars      = 256       // shell variables
	maxVarLen    = 8 << 10   // bytes of one variable's value
	maxGlobMatch = 1000
)

// Options describe the session: who is logged in, on which decky, from where.
type Options struct {
	Hostname string
	User     string         // logged-in user ("root" → prompt '#', home /root; else '$', /home/<user>)
	Distro   catalog.Distro // the decky's OS persona
	IP       string         // the decky's IP, optionally with a prefix ("10.0.0.5/24"; default /24)
	MAC      string         // optional, for ip link output (derived from the hostname when empty)
	ClientIP string         // for w, who, last, $SSH_CLIENT
	// ClientPort is the attacker's source port, for $SSH_CLIENT/$SSH_CONNECTION (optional).
	ClientPort int
	// Services are the decky's service slugs ("ssh", "http", "mysql", …): they appear in
	// ps, ss/netstat and systemctl so the inside matches what a port scan saw. Empty
	// means just "ssh".
	Services []string
	// Emit receives every command line as a "command" event (fields: command) and every
	// download attempt as "download_attempt" (fields: url, tool). Passwords typed at
	// sudo/su/passwd prompts are reported as "auth" events (fields: username, password,
	// secret_kind=plaintext, outcome=failure, method). May be nil.
	Emit func(eventType string, fields map[string]string)
	Now  func() time.Time // nil → time.Now
}

// Shell is one emulated login session. It is not safe for concurrent use.
type Shell struct {
	o       Options
	p       *persona
	fs      *memFS
	now     func() time.Time
	start   time.Time
	cwd     string
	oldpwd  string
	vars    map[string]string
	exports map[string]bool
	aliases map[string]string
	history []string
	status  int
	exited  bool
	bashPid int
	tty     bool
	steps   int
	// readSecret reads a line without echo (a password) while Interact runs; nil otherwise.
	readSecret func(prompt string) (string, bool)
	crontab    string
	bbApplet   bool // a command runs as a busybox applet (busybox wget …)
}

// New starts a session.
func New(o Options) *Shell {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Shell{o: o, now: now, start: now(), vars: map[string]string{}, exports: map[string]bool{},
		aliases: map[string]string{}}
	s.p = newPersona(o, s.start)
	s.bashPid = s.p.procs[len(s.p.procs)-1].pid + 900 + s.p.rng.IntN(3000)
	s.buildFS()
	s.cwd = s.p.home
	if _, err := s.fs.walk(s.cwd, true); err != nil {
		s.cwd = "/"
	}
	s.oldpwd = s.cwd
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if s.p.uid != 0 {
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
	}
	if s.p.usrMerge && s.p.family == "arch" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/bin/site_perl:/usr/bin/vendor_perl:/usr/bin/core_perl"
	}
	cport := o.ClientPort
	if cport == 0 {
		cport = 40000 + s.p.rng.IntN(20000)
	}
	for k, v := range map[string]string{
		"HOME":           s.p.home,
		"USER":           s.p.user,
		"LOGNAME":        s.p.user,
		"SHELL":          s.p.shellPath,
		"PATH":           path,
		"PWD":            s.cwd,
		"OLDPWD":         s.cwd,
		"LANG":           "C.UTF-8",
		"TERM":           "xterm-256color",
		"SHLVL":          "1",
		"MAIL":           "/var/mail/" + s.p.user,
		"SSH_CLIENT":     fmt.Sprintf("%s %d 22", s.p.clientIP, cport),
		"SSH_CONNECTION": fmt.Sprintf("%s %d %s 22", s.p.clientIP, cport, s.p.ip),
		"SSH_TTY":        "/dev/pts/0",
		"_":              "/usr/bin/env",
	} {
		s.vars[k] = v
		s.exports[k] = true
	}
	if s.p.family == "debian" {
		s.vars["XDG_SESSION_ID"], s.exports["XDG_SESSION_ID"] = fmt.Sprint(1+s.p.rng.IntN(400)), true
		s.vars["XDG_RUNTIME_DIR"], s.exports["XDG_RUNTIME_DIR"] = fmt.Sprintf("/run/user/%d", s.p.uid), true
	}
	s.vars["HOSTNAME"] = s.p.hostname
	s.vars["HISTSIZE"] = "1000"
	s.vars["PS1"] = `\u@\h:\w\$ `
	if s.p.family != "rhel" && s.p.family != "alpine" {
		s.aliases["ls"] = "ls --color=auto"
		s.aliases["ll"] = "ls -alF"
		s.aliases["la"] = "ls -A"
		s.aliases["l"] = "ls -CF"
	}
	if s.p.family == "rhel" {
		s.aliases["ll"] = "ls -l --color=auto"
		s.aliases["ls"] = "ls --color=auto"
	}
	return s
}

// Prompt returns the shell's primary prompt for the current state, in the style of the
// persona's shell: Debian/Ubuntu bash "user@host:~# ", Red Hat and Arch bash
// "[user@host ~]# ", Alpine ash "host:~# ", Kali zsh's two-line prompt.
func (s *Shell) Prompt() string {
	sign := "$"
	if s.p.uid == 0 {
		sign = "#"
	}
	w := s.cwd
	if w == s.p.home {
		w = "~"
	} else if strings.HasPrefix(w, s.p.home+"/") && s.p.home != "/" {
		w = "~" + w[len(s.p.home):]
	}
	base := w
	if base != "~" && base != "/" {
		base = pathBase(base)
	}
	switch {
	case s.p.shellKind == "zsh" && s.p.id == "kali":
		mark := "$"
		if s.p.uid == 0 {
			mark = "#"
		}
		return fmt.Sprintf("┌──(%s㉿%s)-[%s]\n└─%s ", s.p.user, s.p.shortHost, w, mark)
	case s.p.shellKind == "zsh":
		return fmt.Sprintf("%s@%s %s %s ", s.p.user, s.p.shortHost, base, map[bool]string{true: "#", false: "%"}[s.p.uid == 0])
	case s.p.shellKind == "ash" || s.p.family == "alpine":
		return fmt.Sprintf("%s:%s%s ", s.p.shortHost, w, sign)
	case s.p.family == "rhel" || s.p.family == "arch":
		return fmt.Sprintf("[%s@%s %s]%s ", s.p.user, s.p.shortHost, base, sign)
	}
	return fmt.Sprintf("%s@%s:%s%s ", s.p.user, s.p.shortHost, w, sign)
}

// continuationPrompt is PS2.
func (s *Shell) continuationPrompt() string { return "> " }

func (s *Shell) emit(typ string, fields map[string]string) {
	if s.o.Emit != nil {
		s.o.Emit(typ, fields)
	}
}

// Exec runs one command line (which may hold several commands joined by ; && || | and
// newlines) and returns its output, with "\n" line endings, and whether the session
// should end (exit, logout). The line is reported as a "command" event.
func (s *Shell) Exec(line string) (out string, exit bool) {
	if s.exited {
		return "", true
	}
	if len(line) > maxLineLen {
		line = line[:maxLineLen]
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return "", false
	}
	s.emit("command", map[string]string{"command": line})
	s.addHistory(trimmed)
	s.steps = 0
	buf := &limitedBuf{max: maxOutput}
	s.runScript(line, "", buf, buf, 0)
	return buf.String(), s.exited
}

func (s *Shell) addHistory(line string) {
	if len(line) > 4096 {
		line = line[:4096]
	}
	s.history = append(s.history, line)
	if len(s.history) > maxHistory {
		s.history = append(s.history[:0:0], s.history[len(s.history)-maxHistory:]...)
	}
}

// limitedBuf keeps at most max bytes and silently drops the rest.
type limitedBuf struct {
	b   bytes.Buffer
	max int
}

func (l *limitedBuf) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitedBuf) String() string { return l.b.String() }

// runScript parses and runs src with the given stdin, writing to out and errw.
func (s *Shell) runScript(src, stdin string, out, errw io.Writer, depth int) int {
	if depth > maxDepth {
		return 1
	}
	toks, err := lex(src)
	if err == nil {
		var items []listItem
		items, err = parse(toks)
		if err == nil {
			return s.runList(items, stdin, out, errw, depth)
		}
	}
	if err == errIncomplete {
		fmt.Fprintf(errw, "%s: -c: line 1: unexpected EOF while looking for matching `%s'\n", s.shName(), missingCloser(src))
		fmt.Fprintf(errw, "%s: -c: line 2: syntax error: unexpected end of file\n", s.shName())
	} else {
		fmt.Fprintf(errw, "%s: %s\n", s.shName(), err)
	}
	s.status = 2
	return 2
}

// missingCloser guesses which quote or bracket is unterminated, for the error text.
func missingCloser(src string) string {
	var stack []byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		top := byte(0)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch {
		case c == '\\' && top != '\'':
			i++
		case top == '\'':
			if c == '\'' {
				stack = stack[:len(stack)-1]
			}
		case c == '\'' && top != '"':
			stack = append(stack, '\'')
		case c == '"':
			if top == '"' {
				stack = stack[:len(stack)-1]
			} else {
				stack = append(stack, '"')
			}
		case c == '`':
			if top == '`' {
				stack = stack[:len(stack)-1]
			} else {
				stack = append(stack, '`')
			}
		case c == '(' && top != '"':
			stack = append(stack, ')')
		case c == ')' && top == ')':
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) == 0 {
		return "'"
	}
	return string(stack[len(stack)-1])
}

// Incomplete reports whether line needs more input (an open quote, a trailing pipe or
// backslash) — an interactive shell then shows its continuation prompt.
func Incomplete(line string) bool {
	toks, err := lex(line)
	if err == errIncomplete {
		return true
	}
	if err != nil {
		return false
	}
	_, err = parse(toks)
	return err == errIncomplete
}

func (s *Shell) runList(items []listItem, stdin string, out, errw io.Writer, depth int) int {
	status := s.status
	run := true
	for _, it := range items {
		if s.exited {
			break
		}
		if run {
			status = s.runPipeline(it.pl, stdin, out, errw, depth)
			s.status = status
			if it.op == "&" {
				fmt.Fprintf(errw, "[1] %d\n", s.bashPid+1+s.p.rng.IntN(200))
				s.status, status = 0, 0
			}
		}
		// A skipped pipeline keeps the status, so "a && b || c" runs c when a fails.
		switch it.op {
		case "&&":
			run = status == 0
		case "||":
			run = status != 0
		default:
			run = true
		}
	}
	return status
}

func (s *Shell) runPipeline(pl pipeline, stdin string, out, errw io.Writer, depth int) int {
	input := stdin
	status := 0
	for i, c := range pl.cmds {
		last := i == len(pl.cmds)-1
		var w io.Writer = out
		var pipeBuf *limitedBuf
		if !last {
			pipeBuf = &limitedBuf{max: maxOutput}
			w = pipeBuf
		}
		status = s.runSimple(c, input, w, errw, depth, len(pl.cmds) > 1)
		if pipeBuf != nil {
			input = pipeBuf.String()
		}
		if s.exited && len(pl.cmds) == 1 {
			break
		}
	}
	if len(pl.cmds) > 1 && s.exited {
		s.exited = false // exit inside a pipeline only ends that subshell
	}
	return status
}

// runSimple expands and runs one simple command with its redirections.
func (s *Shell) runSimple(c simpleCmd, stdin string, out, errw io.Writer, depth int, inPipe bool) int {
	s.steps++
	if s.steps > maxSteps {
		return 1
	}
	var args []string
	for i, w := range c.words {
		f := s.expandWord(w, depth, errw)
		if i == 0 && len(f) > 0 {
			// Alias expansion on the command word (one level, like bash without recursion).
			if a, ok := s.aliases[f[0]]; ok && w == f[0] {
				f = append(strings.Fields(a), f[1:]...)
			}
		}
		args = append(args, f...)
	}
	// Leading assignments.
	var assigns [][2]string
	for len(args) > 0 {
		k, v, ok := strings.Cut(args[0], "=")
		if !ok || !validName(k) {
			break
		}
		assigns = append(assigns, [2]string{k, v})
		args = args[1:]
	}
	if len(args) == 0 {
		for _, a := range assigns {
			s.setVar(a[0], a[1])
		}
	}

	// Redirections.
	stdout, stderr := out, errw
	var files []pendingWrite
	for _, r := range c.redirs {
		targets := s.expandWord(r.target, depth, errw)
		target := strings.Join(targets, " ")
		switch r.op {
		case "<":
			if r.fd > 0 {
				continue
			}
			data, err := s.readFile(target)
			if err != nil {
				fmt.Fprintf(errw, "%s: %s: %s\n", s.shName(), target, err)
				return 1
			}
			stdin = string(data)
		case "<<<":
			stdin = target + "\n"
		case "<<", "<&", "<>":
			// Here-documents cannot be fed on one line; treat as empty input.
			stdin = ""
		case ">&":
			if target == "1" && r.fd == 2 {
				stderr = stdout
			} else if target == "2" && (r.fd == 1 || r.fd == -1) {
				stdout = stderr
			} else if target == "-" {
				// close: drop output
				if r.fd == 2 {
					stderr = io.Discard
				} else {
					stdout = io.Discard
				}
			} else if r.fd == -1 {
				// ">& file" means both.
				pw := &pendingWrite{path: clean(s.cwd, target), buf: &limitedBuf{max: maxOverlayBytes}}
				files = append(files, *pw)
				stdout, stderr = files[len(files)-1].buf, files[len(files)-1].buf
			}
		case ">", ">>":
			if target == "" {
				fmt.Fprintf(errw, "%s: : No such file or directory\n", s.shName())
				return 1
			}
			pw := pendingWrite{path: clean(s.cwd, target), shown: target, appendMode: r.op == ">>",
				buf: &limitedBuf{max: maxOverlayBytes}}
			files = append(files, pw)
			b := files[len(files)-1].buf
			switch r.fd {
			case 2:
				stderr = b
			case -2:
				stdout, stderr = b, b
			case -1, 1:
				stdout = b
			default:
				// other descriptors: not connected to the command
			}
		}
	}
	// Create/truncate files first, like the shell does, so errors show even if the
	// command writes nothing.
	for i := range files {
		if err := s.fs.writeFile(files[i].path, nil, files[i].appendMode, s.p.uid, s.p.gid); err != nil {
			fmt.Fprintf(errw, "%s: %s: %s\n", s.shName(), files[i].shown, err)
			s.status = 1
			return 1
		}
	}
	status := 0
	if len(args) > 0 {
		status = s.dispatch(args, assigns, stdin, stdout, stderr, depth, inPipe)
	}
	for i := range files {
		data := files[i].buf.String()
		if data == "" {
			continue
		}
		if err := s.fs.writeFile(files[i].path, []byte(data), true, s.p.uid, s.p.gid); err != nil {
			fmt.Fprintf(errw, "%s: %s: %s\n", s.shName(), files[i].shown, err)
			status = 1
		}
	}
	return status
}

type pendingWrite struct {
	path, shown string
	appendMode  bool
	buf         *limitedBuf
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (s *Shell) setVar(k, v string) {
	if len(v) > maxVarLen {
		v = v[:maxVarLen]
	}
	if _, ok := s.vars[k]; !ok && len(s.vars) >= maxVars {
		return
	}
	switch k {
	case "PWD", "OLDPWD":
	}
	s.vars[k] = v
}

func (s *Shell) envKeys() []string {
	var keys []string
	for k := range s.vars {
		if s.exports[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// shName is how the shell names itself in error messages.
func (s *Shell) shName() string {
	switch s.p.shellKind {
	case "ash":
		return "-ash"
	case "zsh":
		return "zsh"
	case "sh":
		return "-sh"
	}
	return "-bash"
}

// notFound is the shell's "command not found" text.
func (s *Shell) notFound(name string) string {
	switch s.p.shellKind {
	case "ash":
		return "-ash: " + name + ": not found\n"
	case "zsh":
		return "zsh: command not found: " + name + "\n"
	case "sh":
		return "-sh: 1: " + name + ": not found\n"
	}
	return "bash: " + name + ": command not found\n"
}

func (s *Shell) readFile(p string) ([]byte, error) {
	n, err := s.fs.walk(clean(s.cwd, p), true)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, errIsDir
	}
	if !s.canRead(n) {
		return nil, errPerm
	}
	return n.content(), nil
}

func (s *Shell) canRead(n *node) bool {
	if s.p.uid == 0 {
		return true
	}
	switch {
	case n.uid == s.p.uid:
		return n.mode&0o400 != 0
	case n.gid == s.p.gid:
		return n.mode&0o040 != 0
	}
	return n.mode&0o004 != 0
}

func (s *Shell) canWriteDir(n *node) bool {
	if s.p.uid == 0 {
		return true
	}
	if n.uid == s.p.uid {
		return n.mode&0o200 != 0
	}
	return n.mode&0o002 != 0
}
