package shell

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// env is what an emulated command sees.
type env struct {
	s      *Shell
	name   string
	args   []string // without the command name
	stdin  string
	out    io.Writer
	err    io.Writer
	depth  int
	inPipe bool
}

func (e *env) printf(format string, a ...any) { fmt.Fprintf(e.out, format, a...) }
func (e *env) errorf(format string, a ...any) { fmt.Fprintf(e.err, format, a...) }

type cmdFunc func(e *env) int

// builtins run whatever PATH says; programs must exist in the fake filesystem.
var builtins map[string]cmdFunc
var programs map[string]cmdFunc

func init() {
	builtins = map[string]cmdFunc{
		"cd": cmdCd, "pwd": cmdPwd, "echo": cmdEcho, "printf": cmdPrintf, "export": cmdExport, "unset": cmdUnset,
		"history": cmdHistory, "exit": cmdExit, "logout": cmdExit, "true": cmdTrue, ":": cmdTrue, "false": cmdFalse,
		"type": cmdType, "command": cmdCommand, "alias": cmdAlias, "unalias": cmdUnalias, "source": cmdSource,
		".": cmdSource, "set": cmdSet, "ulimit": cmdUlimit, "umask": cmdUmask, "kill": cmdKill, "test": cmdTest,
		"[": cmdTest, "exec": cmdExecBuiltin, "eval": cmdEval, "hash": cmdTrue, "shopt": cmdTrue, "wait": cmdTrue,
		"jobs": cmdTrue, "read": cmdRead, "enable": cmdTrue, "disown": cmdTrue, "trap": cmdTrue,
	}
	programs = map[string]cmdFunc{
		"ls": cmdLs, "dir": cmdLs, "cat": cmdCat, "whoami": cmdWhoami, "id": cmdID, "groups": cmdGroups,
		"uname": cmdUname, "hostname": cmdHostname, "w": cmdW, "who": cmdWho, "users": cmdUsers, "last": cmdLast,
		"uptime": cmdUptime, "free": cmdFree, "df": cmdDf, "ps": cmdPs, "top": cmdTop, "ip": cmdIP,
		"ifconfig": cmdIfconfig, "env": cmdEnv, "printenv": cmdPrintenv, "which": cmdWhich, "nproc": cmdNproc,
		"lscpu": cmdLscpu, "crontab": cmdCrontab, "systemctl": cmdSystemctl, "service": cmdService,
		"wget": cmdWget, "curl": cmdCurl, "tftp": cmdTftp, "scp": cmdScp, "ftpget": cmdFtpget, "ssh": cmdSSH,
		"chmod": cmdChmod, "chown": cmdChown, "chgrp": cmdChown, "mkdir": cmdMkdir, "touch": cmdTouch,
		"rm": cmdRm, "rmdir": cmdRmdir, "mv": cmdMv, "cp": cmdCp, "ln": cmdLn, "sudo": cmdSudo, "su": cmdSu,
		"passwd": cmdPasswd, "chpasswd": cmdChpasswd, "grep": cmdGrep, "egrep": cmdGrep, "head": cmdHead,
		"tail": cmdTail, "wc": cmdWc, "awk": cmdAwk, "sort": cmdSort, "uniq": cmdUniq, "cut": cmdCut, "tr": cmdTr,
		"base64": cmdBase64, "md5sum": cmdSum, "sha256sum": cmdSum, "sha1sum": cmdSum, "date": cmdDate,
		"sleep": cmdTrue, "clear": cmdClear, "sh": cmdSh, "bash": cmdSh, "ash": cmdSh, "dash": cmdSh, "zsh": cmdSh,
		"busybox": cmdBusybox, "nohup": cmdNohup, "timeout": cmdTimeout, "xargs": cmdXargs, "tee": cmdTee,
		"seq": cmdSeq, "basename": cmdBasename, "dirname": cmdDirname, "readlink": cmdReadlink,
		"mktemp": cmdMktemp, "yes": cmdYes, "lsb_release": cmdLsbRelease, "hostnamectl": cmdHostnamectl,
		"getent": cmdGetent, "mount": cmdMount, "dmesg": cmdDmesg, "du": cmdDu, "ss": cmdSs, "netstat": cmdNetstat,
		"python3": cmdInterp, "perl": cmdInterp, "python": cmdInterp, "find": cmdFind, "stat": cmdStat,
		"apt": cmdPkg, "apt-get": cmdPkg, "yum": cmdPkg, "dnf": cmdPkg, "apk": cmdPkg, "pacman": cmdPkg,
		"dpkg": cmdDpkg, "rpm": cmdRpm, "pgrep": cmdPgrep, "pkill": cmdPkill, "killall": cmdPkill,
		"ping": cmdPing, "nano": cmdEditor, "vi": cmdEditor, "vim": cmdEditor, "vim.tiny": cmdEditor,
		"useradd": cmdPrivileged, "usermod": cmdPrivileged, "userdel": cmdPrivileged, "iptables": cmdPrivileged,
		"sysctl": cmdSysctl, "modprobe": cmdPrivileged, "reboot": cmdReboot, "shutdown": cmdReboot, "halt": cmdReboot,
		"chattr": cmdPrivileged, "lsattr": cmdTrue, "journalctl": cmdJournalctl, "sed": cmdSed, "tar": cmdTar,
		"gzip": cmdTar, "dd": cmdDd, "whereis": cmdWhereis, "route": cmdRoute, "nc": cmdNc, "nc.openbsd": cmdNc,
		"fdisk": cmdPrivileged, "mkfs": cmdPrivileged, "init": cmdPrivileged, "agetty": cmdPrivileged,
		"sshd": cmdPrivileged, "nmcli": cmdTrue, "rev": cmdRev,
	}
}

// dispatch runs one expanded command.
func (s *Shell) dispatch(args []string, assigns [][2]string, stdin string, out, errw io.Writer, depth int, inPipe bool) int {
	name := args[0]
	e := &env{s: s, name: pathBase(name), args: args[1:], stdin: stdin, out: out, err: errw, depth: depth, inPipe: inPipe}
	if !strings.Contains(name, "/") {
		if f, ok := builtins[name]; ok {
			return f(e)
		}
		full, ok := s.lookPath(name)
		if !ok {
			fmt.Fprint(errw, s.notFound(name))
			return 127
		}
		if f, ok := programs[name]; ok {
			return f(e)
		}
		_ = full
		return 0
	}
	// A path: an emulated program at its real place, or an attacker-dropped file.
	full := clean(s.cwd, name)
	n, err := s.fs.walk(full, true)
	if err != nil {
		fmt.Fprintf(errw, "%s: %s: %s\n", s.shName(), name, err)
		return 127
	}
	if n.dir {
		fmt.Fprintf(errw, "%s: %s: Is a directory\n", s.shName(), name)
		return 126
	}
	if !s.canExec(n) {
		fmt.Fprintf(errw, "%s: %s: Permission denied\n", s.shName(), name)
		return 126
	}
	if f, ok := programs[e.name]; ok && !n.user {
		return f(e)
	}
	if !n.user {
		return 0
	}
	data := n.content()
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		fmt.Fprintf(errw, "%s: %s: cannot execute binary file: Exec format error\n", s.shName(), name)
		return 126
	}
	// A text file the attacker wrote: "run" it through the emulator, line by line.
	return s.runScript(string(data), stdin, out, errw, depth+1)
}

func (s *Shell) canExec(n *node) bool {
	if s.p.uid == 0 {
		return n.mode&0o111 != 0
	}
	if n.uid == s.p.uid {
		return n.mode&0o100 != 0
	}
	return n.mode&0o001 != 0
}

// lookPath searches $PATH in the fake filesystem.
func (s *Shell) lookPath(name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, '/') {
		return "", false
	}
	for _, d := range strings.Split(s.vars["PATH"], ":") {
		if d == "" {
			continue
		}
		p := path.Join(d, name)
		n, err := s.fs.walk(p, true)
		if err == nil && !n.dir && n.mode&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// flags splits leading options: short letters (combined), long options and "--".
type flagSet struct {
	short map[byte]bool
	long  map[string]string
	rest  []string
}

// parseFlags parses options; withValue lists short options that take a value (e.g. "n").
func parseFlags(args []string, withValue string) flagSet {
	fs := flagSet{short: map[byte]bool{}, long: map[string]string{}}
	vals := map[byte]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			fs.rest = append(fs.rest, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			k, v, _ := strings.Cut(a[2:], "=")
			fs.long[k] = v
			continue
		}
		if len(a) > 1 && a[0] == '-' {
			for j := 1; j < len(a); j++ {
				c := a[j]
				fs.short[c] = true
				if strings.IndexByte(withValue, c) >= 0 {
					if j+1 < len(a) {
						vals[c] = a[j+1:]
					} else if i+1 < len(args) {
						vals[c] = args[i+1]
						i++
					}
					break
				}
			}
			continue
		}
		fs.rest = append(fs.rest, a)
	}
	for k, v := range vals {
		fs.long["-"+string(k)] = v
	}
	return fs
}

func (f flagSet) val(c byte) (string, bool) {
	v, ok := f.long["-"+string(c)]
	return v, ok
}

// ---- builtins ----

func cmdCd(e *env) int {
	s := e.s
	target := s.vars["HOME"]
	args := e.args
	if len(args) > 0 && (args[0] == "-L" || args[0] == "-P") {
		args = args[1:]
	}
	if len(args) > 1 {
		e.errorf("%s: cd: too many arguments\n", s.shName())
		return 1
	}
	if len(args) == 1 {
		target = args[0]
		if target == "-" {
			target = s.oldpwd
			e.printf("%s\n", target)
		}
	}
	if target == "" {
		return 0
	}
	full := clean(s.cwd, target)
	n, err := s.fs.walk(full, true)
	if err == nil && !n.dir {
		err = errNotDir
	}
	if err == nil && s.p.uid != 0 && !s.canExecDir(n) {
		err = errPerm
	}
	if err != nil {
		e.errorf("%s: cd: %s: %s\n", s.shName(), target, err)
		return 1
	}
	s.oldpwd, s.cwd = s.cwd, full
	s.vars["OLDPWD"], s.vars["PWD"] = s.oldpwd, s.cwd
	return 0
}

func (s *Shell) canExecDir(n *node) bool {
	if n.uid == s.p.uid {
		return n.mode&0o100 != 0
	}
	if n.gid == s.p.gid {
		return n.mode&0o010 != 0
	}
	return n.mode&0o001 != 0
}

func cmdPwd(e *env) int { e.printf("%s\n", e.s.cwd); return 0 }

func cmdEcho(e *env) int {
	args := e.args
	newline := true
	escapes := e.s.p.shellKind == "sh" || e.s.p.shellKind == "ash" && false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		for _, c := range args[0][1:] {
			switch c {
			case 'n':
				newline = false
			case 'e':
				escapes = true
			case 'E':
				escapes = false
			}
		}
		args = args[1:]
	}
	text := strings.Join(args, " ")
	if escapes {
		var stop bool
		text, stop = unescape(text)
		if stop {
			newline = false
		}
	}
	e.printf("%s", text)
	if newline {
		e.printf("\n")
	}
	return 0
}

// unescape interprets echo -e / printf %b escapes. stop reports a \c.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		case 'c':
			return b.String(), true
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteString("\\x")
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(v))
			i = j - 1
		case '0':
			j := i + 1
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint("0"+s[i+1:j], 8, 16)
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String(), false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func cmdPrintf(e *env) int {
	if len(e.args) == 0 {
		e.errorf("printf: usage: printf [-v var] format [arguments]\n")
		return 2
	}
	format, args := e.args[0], e.args[1:]
	out := &strings.Builder{}
	for iter := 0; iter < 1000; iter++ {
		used := 0
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c == '\\' {
				j := i + 1
				if j < len(format) {
					u, _ := unescape(format[i : j+1])
					if format[j] == 'x' || format[j] == '0' {
						k := j + 1
						for k < len(format) && k < j+4 && isHex(format[k]) {
							k++
						}
						u, _ = unescape(format[i:k])
						j = k - 1
					}
					out.WriteString(u)
					i = j
				}
				continue
			}
			if c != '%' || i+1 >= len(format) {
				out.WriteByte(c)
				continue
			}
			j := i + 1
			for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
				j++
			}
			if j >= len(format) {
				out.WriteString(format[i:])
				break
			}
			spec := format[i+1 : j]
			verb := format[j]
			i = j
			arg := ""
			if verb != '%' && used < len(args) {
				arg = args[used]
				used++
			} else if verb != '%' {
				used++
			}
			switch verb {
			case '%':
				out.WriteByte('%')
			case 's':
				fmt.Fprintf(out, "%"+spec+"s", arg)
			case 'b':
				u, _ := unescape(arg)
				out.WriteString(u)
			case 'd', 'i':
				n, _ := strconv.ParseInt(strings.TrimSpace(arg), 0, 64)
				fmt.Fprintf(out, "%"+spec+"d", n)
			case 'x', 'X', 'o':
				n, _ := strconv.ParseInt(strings.TrimSpace(arg), 0, 64)
				fmt.Fprintf(out, "%"+spec+string(verb), n)
			case 'f', 'g', 'e':
				n, _ := strconv.ParseFloat(strings.TrimSpace(arg), 64)
				fmt.Fprintf(out, "%"+spec+string(verb), n)
			case 'c':
				if arg != "" {
					out.WriteByte(arg[0])
				}
			default:
				out.WriteByte('%')
				out.WriteString(spec)
				out.WriteByte(verb)
			}
			if out.Len() > maxOutput {
				break
			}
		}
		args = args[min(used, len(args)):]
		if used == 0 || len(args) == 0 || out.Len() > maxOutput {
			break
		}
	}
	e.printf("%s", out.String())
	return 0
}

func cmdExport(e *env) int {
	s := e.s
	if len(e.args) == 0 || (len(e.args) == 1 && e.args[0] == "-p") {
		for _, k := range s.envKeys() {
			e.printf("declare -x %s=\"%s\"\n", k, strings.ReplaceAll(s.vars[k], `"`, `\"`))
		}
		return 0
	}
	status := 0
	for _, a := range e.args {
		if a == "-n" || a == "-p" || a == "-f" {
			continue
		}
		k, v, hasVal := strings.Cut(a, "=")
		if !validName(k) {
			e.errorf("%s: export: `%s': not a valid identifier\n", s.shName(), a)
			status = 1
			continue
		}
		if hasVal {
			s.setVar(k, v)
		}
		if _, ok := s.vars[k]; ok || len(s.vars) < maxVars {
			s.exports[k] = true
			if !hasVal {
				if _, ok := s.vars[k]; !ok {
					s.vars[k] = ""
				}
			}
		}
	}
	return status
}

func cmdUnset(e *env) int {
	for _, a := range e.args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		delete(e.s.vars, a)
		delete(e.s.exports, a)
	}
	return 0
}

func cmdHistory(e *env) int {
	s := e.s
	f := parseFlags(e.args, "d")
	if f.short['c'] {
		s.history = nil
		return 0
	}
	if _, ok := f.val('d'); ok {
		return 0
	}
	h := s.history
	start := 0
	if len(f.rest) > 0 {
		n, err := strconv.Atoi(f.rest[0])
		if err != nil {
			e.errorf("%s: history: %s: numeric argument required\n", s.shName(), f.rest[0])
			return 1
		}
		if n < len(h) {
			start = len(h) - n
		}
	}
	for i := start; i < len(h); i++ {
		e.printf("%5d  %s\n", i+1, h[i])
	}
	return 0
}

func cmdExit(e *env) int {
	s := e.s
	code := s.status
	if len(e.args) > 0 {
		n, err := strconv.Atoi(e.args[0])
		if err != nil {
			e.errorf("%s: exit: %s: numeric argument required\n", s.shName(), e.args[0])
			n = 2
		}
		code = n & 0xff
	}
	if e.inPipe {
		return code
	}
	if e.name == "logout" || s.tty {
		e.printf("logout\n")
	}
	s.exited = true
	return code
}

func cmdTrue(e *env) int  { return 0 }
func cmdFalse(e *env) int { return 1 }

func cmdType(e *env) int {
	status := 0
	for _, a := range e.args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if al, ok := e.s.aliases[a]; ok {
			e.printf("%s is aliased to `%s'\n", a, al)
		} else if _, ok := builtins[a]; ok {
			e.printf("%s is a shell builtin\n", a)
		} else if p, ok := e.s.lookPath(a); ok {
			e.printf("%s is %s\n", a, p)
		} else {
			e.errorf("%s: type: %s: not found\n", e.s.shName(), a)
			status = 1
		}
	}
	return status
}

func cmdCommand(e *env) int {
	if len(e.args) == 0 {
		return 0
	}
	if e.args[0] == "-v" || e.args[0] == "-V" {
		status := 0
		for _, a := range e.args[1:] {
			if _, ok := builtins[a]; ok {
				e.printf("%s\n", a)
			} else if p, ok := e.s.lookPath(a); ok {
				e.printf("%s\n", p)
			} else {
				status = 1
			}
		}
		return status
	}
	return e.s.dispatch(e.args, nil, e.stdin, e.out, e.err, e.depth, e.inPipe)
}

func cmdAlias(e *env) int {
	s := e.s
	if len(e.args) == 0 {
		keys := make([]string, 0, len(s.aliases))
		for k := range s.aliases {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.printf("alias %s='%s'\n", k, s.aliases[k])
		}
		return 0
	}
	for _, a := range e.args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if al, found := s.aliases[k]; found {
				e.printf("alias %s='%s'\n", k, al)
			} else {
				e.errorf("%s: alias: %s: not found\n", s.shName(), k)
				return 1
			}
			continue
		}
		if len(s.aliases) < 64 && len(v) < 1024 {
			s.aliases[k] = v
		}
	}
	return 0
}

func cmdUnalias(e *env) int {
	for _, a := range e.args {
		if a == "-a" {
			clear(e.s.aliases)
		}
		delete(e.s.aliases, a)
	}
	return 0
}

func cmdSource(e *env) int {
	if len(e.args) == 0 {
		e.errorf("%s: %s: filename argument required\n", e.s.shName(), e.name)
		return 2
	}
	data, err := e.s.readFile(e.args[0])
	if err != nil {
		e.errorf("%s: %s: %s\n", e.s.shName(), e.args[0], err)
		return 1
	}
	if !e.s.fileIsUser(e.args[0]) {
		return 0 // the distro's own rc files only set things up
	}
	return e.s.runScript(string(data), e.stdin, e.out, e.err, e.depth+1)
}

func (s *Shell) fileIsUser(p string) bool {
	n, err := s.fs.walk(clean(s.cwd, p), true)
	return err == nil && n.user
}

func cmdSet(e *env) int {
	if len(e.args) > 0 {
		return 0
	}
	keys := make([]string, 0, len(e.s.vars))
	for k := range e.s.vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.printf("%s=%s\n", k, shQuote(e.s.vars[k]))
	}
	return 0
}

func shQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+,=") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

func cmdUlimit(e *env) int {
	if len(e.args) > 0 && e.args[0] == "-a" {
		e.printf("real-time non-blocking time  (microseconds, -R) unlimited\ncore file size              (blocks, -c) 0\ndata seg size               (kbytes, -d) unlimited\nscheduling priority                 (-e) 0\nfile size                   (blocks, -f) unlimited\npending signals                     (-i) 15402\nmax locked memory           (kbytes, -l) 500416\nmax memory size             (kbytes, -m) unlimited\nopen files                          (-n) 1024\npipe size                (512 bytes, -p) 8\nPOSIX message queues         (bytes, -q) 819200\nreal-time priority                  (-r) 0\nstack size                  (kbytes, -s) 8192\ncpu time                   (seconds, -t) unlimited\nmax user processes                  (-u) 15402\nvirtual memory              (kbytes, -v) unlimited\nfile locks                          (-x) unlimited\n")
		return 0
	}
	if len(e.args) == 1 && e.args[0] == "-n" {
		e.printf("1024\n")
		return 0
	}
	if len(e.args) == 0 {
		e.printf("unlimited\n")
	}
	return 0
}

func cmdUmask(e *env) int {
	if len(e.args) == 0 {
		e.printf("0022\n")
	}
	return 0
}

func cmdKill(e *env) int {
	status := 0
	for _, a := range e.args {
		if strings.HasPrefix(a, "-") {
			if a == "-l" {
				e.printf(" 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP\n 6) SIGABRT\t 7) SIGBUS\t 8) SIGFPE\t 9) SIGKILL\t10) SIGUSR1\n11) SIGSEGV\t12) SIGUSR2\t13) SIGPIPE\t14) SIGALRM\t15) SIGTERM\n")
			}
			continue
		}
		pid, err := strconv.Atoi(a)
		if err != nil {
			e.errorf("%s: kill: %s: arguments must be process or job IDs\n", e.s.shName(), a)
			status = 1
			continue
		}
		found := false
		for _, p := range e.s.p.procs {
			if p.pid == pid {
				found = true
				if e.s.p.uid != 0 {
					e.errorf("%s: kill: (%d) - Operation not permitted\n", e.s.shName(), pid)
					status = 1
				}
			}
		}
		if !found && pid != e.s.bashPid {
			e.errorf("%s: kill: (%d) - No such process\n", e.s.shName(), pid)
			status = 1
		}
	}
	return status
}

func cmdTest(e *env) int {
	args := e.args
	if e.name == "[" {
		if len(args) == 0 || args[len(args)-1] != "]" {
			e.errorf("%s: [: missing `]'\n", e.s.shName())
			return 2
		}
		args = args[:len(args)-1]
	}
	neg := false
	if len(args) > 0 && args[0] == "!" {
		neg, args = true, args[1:]
	}
	res := false
	switch len(args) {
	case 0:
		res = false
	case 1:
		res = args[0] != ""
	case 2:
		n, err := e.s.fs.walk(clean(e.s.cwd, args[1]), true)
		switch args[0] {
		case "-e", "-a":
			res = err == nil
		case "-f":
			res = err == nil && !n.dir
		case "-d":
			res = err == nil && n.dir
		case "-x":
			res = err == nil && e.s.canExec(n)
		case "-r":
			res = err == nil && e.s.canRead(n)
		case "-w":
			res = err == nil && (e.s.p.uid == 0 || n.uid == e.s.p.uid)
		case "-s":
			res = err == nil && n.Size() > 0
		case "-z":
			res = args[1] == ""
		case "-n":
			res = args[1] != ""
		}
	case 3:
		a, op, b := args[0], args[1], args[2]
		ai, errA := strconv.Atoi(a)
		bi, errB := strconv.Atoi(b)
		numeric := errA == nil && errB == nil
		switch op {
		case "=", "==":
			res = a == b
		case "!=":
			res = a != b
		case "-eq":
			res = numeric && ai == bi
		case "-ne":
			res = numeric && ai != bi
		case "-lt":
			res = numeric && ai < bi
		case "-le":
			res = numeric && ai <= bi
		case "-gt":
			res = numeric && ai > bi
		case "-ge":
			res = numeric && ai >= bi
		}
	}
	if res != neg {
		return 0
	}
	return 1
}

func cmdExecBuiltin(e *env) int {
	if len(e.args) == 0 {
		return 0
	}
	st := e.s.dispatch(e.args, nil, e.stdin, e.out, e.err, e.depth, e.inPipe)
	if !e.inPipe {
		e.s.exited = true
	}
	return st
}

func cmdEval(e *env) int {
	return e.s.runScript(strings.Join(e.args, " "), e.stdin, e.out, e.err, e.depth+1)
}

func cmdRead(e *env) int {
	names := parseFlags(e.args, "pt").rest
	line, _, _ := strings.Cut(e.stdin, "\n")
	if e.stdin == "" {
		return 1
	}
	fields := strings.Fields(line)
	for i, n := range names {
		v := ""
		if i == len(names)-1 && i < len(fields) {
			v = strings.Join(fields[i:], " ")
		} else if i < len(fields) {
			v = fields[i]
		}
		if validName(n) {
			e.s.setVar(n, v)
		}
	}
	return 0
}

// ---- identity ----

func cmdWhoami(e *env) int { e.printf("%s\n", e.s.p.user); return 0 }

func (s *Shell) groupsOf() []string {
	gs := []string{s.p.groupName(s.p.gid)}
	if s.p.user == s.p.adminUser {
		if s.p.family == "debian" {
			gs = append(gs, "adm", "sudo")
		} else {
			gs = append(gs, "wheel")
		}
	}
	return gs
}

func cmdID(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	if len(f.rest) > 0 && f.rest[0] != s.p.user {
		a, ok := s.p.lookupUser(f.rest[0])
		if !ok {
			e.errorf("id: '%s': no such user\n", f.rest[0])
			return 1
		}
		e.printf("uid=%d(%s) gid=%d(%s) groups=%d(%s)\n", a.uid, a.name, a.gid, s.p.groupName(a.gid), a.gid, s.p.groupName(a.gid))
		return 0
	}
	switch {
	case f.short['u'] && f.short['n']:
		e.printf("%s\n", s.p.user)
	case f.short['u']:
		e.printf("%d\n", s.p.uid)
	case f.short['g'] && f.short['n']:
		e.printf("%s\n", s.p.groupName(s.p.gid))
	case f.short['g']:
		e.printf("%d\n", s.p.gid)
	case f.short['G'] && f.short['n']:
		e.printf("%s\n", strings.Join(s.groupsOf(), " "))
	default:
		var gs []string
		for _, g := range s.groupsOf() {
			gid := map[string]int{"adm": 4, "sudo": 27, "wheel": 10}[g]
			if g == s.p.groupName(s.p.gid) {
				gid = s.p.gid
			}
			gs = append(gs, fmt.Sprintf("%d(%s)", gid, g))
		}
		ctx := ""
		if s.p.family == "rhel" {
			ctx = " context=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"
		}
		e.printf("uid=%d(%s) gid=%d(%s) groups=%s%s\n", s.p.uid, s.p.user, s.p.gid, s.p.groupName(s.p.gid), strings.Join(gs, ","), ctx)
	}
	return 0
}

func cmdGroups(e *env) int { e.printf("%s\n", strings.Join(e.s.groupsOf(), " ")); return 0 }

// ---- files ----

func (s *Shell) permString(n *node) string {
	t := byte('-')
	switch {
	case n.link != "":
		t = 'l'
	case n.dir:
		t = 'd'
	case n.char:
		t = 'c'
	}
	b := []byte{t}
	m := n.mode
	rwx := "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	if m&0o4000 != 0 {
		b[3] = map[bool]byte{true: 's', false: 'S'}[b[3] == 'x']
	}
	if m&0o1000 != 0 {
		b[9] = map[bool]byte{true: 't', false: 'T'}[b[9] == 'x']
	}
	return string(b)
}

func human(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	units := "KMGTP"
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f < 10 {
		return fmt.Sprintf("%.1f%c", ceil1(f), units[i])
	}
	return fmt.Sprintf("%.0f%c", ceilInt(f), units[i])
}

func ceil1(f float64) float64 {
	v := float64(int64(f*10)) / 10
	if v < f {
		v += 0.1
	}
	return v
}

func ceilInt(f float64) float64 {
	v := float64(int64(f))
	if v < f {
		v++
	}
	return v
}

func (s *Shell) lsTime(t time.Time) string {
	now := s.now()
	if now.Sub(t) > 182*24*time.Hour || t.After(now.Add(time.Hour)) {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}

type lsEntry struct {
	name string
	n    *node
}

func cmdLs(e *env) int {
	s := e.s
	f := parseFlags(e.args, "IwT")
	long := f.short['l'] || f.short['n'] || f.short['g'] || f.short['o']
	all := f.short['a']
	almost := f.short['A']
	one := f.short['1'] || (!s.tty || e.inPipe)
	dirOnly := f.short['d']
	humanSz := f.short['h']
	classify := f.short['F']
	if _, ok := f.long["all"]; ok {
		all = true
	}
	if _, ok := f.long["almost-all"]; ok {
		almost = true
	}
	for k := range f.long {
		switch k {
		case "all", "almost-all", "color", "human-readable", "classify", "group-directories-first", "full-time", "":
		default:
			if strings.HasPrefix(k, "-") {
				continue
			}
			e.errorf("ls: unrecognized option '--%s'\nTry 'ls --help' for more information.\n", k)
			return 2
		}
	}
	if _, ok := f.long["human-readable"]; ok {
		humanSz = true
	}
	targets := f.rest
	if len(targets) == 0 {
		targets = []string{"."}
	}
	status := 0
	var files []lsEntry
	var dirs []string
	for _, t := range targets {
		full := clean(s.cwd, t)
		n, err := s.fs.walk(full, false)
		if err == nil && n.link != "" && (!long || strings.HasSuffix(t, "/")) {
			if tn, err2 := s.fs.walk(full, true); err2 == nil {
				n = tn
			}
		}
		if err != nil {
			e.errorf("ls: cannot access '%s': %s\n", t, err)
			status = 2
			continue
		}
		if n.link != "" && long {
			// ls -l on a symlink to a directory lists the link itself.
			files = append(files, lsEntry{t, n})
			continue
		}
		if n.dir && !dirOnly {
			dirs = append(dirs, t)
		} else {
			files = append(files, lsEntry{t, n})
		}
	}
	sortEntries := func(ents []lsEntry) {
		if f.short['t'] {
			sort.SliceStable(ents, func(i, j int) bool { return ents[i].n.mtime.After(ents[j].n.mtime) })
		} else if f.short['S'] {
			sort.SliceStable(ents, func(i, j int) bool { return ents[i].n.Size() > ents[j].n.Size() })
		}
		if f.short['r'] {
			for i, j := 0, len(ents)-1; i < j; i, j = i+1, j-1 {
				ents[i], ents[j] = ents[j], ents[i]
			}
		}
	}
	show := func(ents []lsEntry, withTotal bool, dirPath string) {
		sortEntries(ents)
		if long {
			var total int64
			rows := make([][]string, 0, len(ents))
			for _, en := range ents {
				n := en.n
				total += (n.Size() + 4095) / 4096 * 4
				size := strconv.FormatInt(n.Size(), 10)
				if humanSz {
					size = human(n.Size())
				}
				if n.char {
					size = "1, 3"
				}
				nlink := 1
				if n.dir {
					nlink = 2
					for _, c := range n.children {
						if c.dir && c.link == "" {
							nlink++
						}
					}
				}
				name := en.name
				if n.link != "" {
					name += " -> " + n.link
				} else if classify {
					name += classifySuffix(n)
				}
				owner, group := s.p.userName(n.uid), s.p.groupName(n.gid)
				if f.short['n'] {
					owner, group = strconv.Itoa(n.uid), strconv.Itoa(n.gid)
				}
				perm := s.permString(n)
				if s.p.family == "rhel" {
					perm += "." // SELinux context marker
				}
				row := []string{perm, strconv.Itoa(nlink), owner, group, size, s.lsTime(n.mtime), name}
				if f.short['g'] {
					row = append(row[:2], row[3:]...)
				} else if f.short['o'] {
					row = append(row[:3], row[4:]...)
				}
				rows = append(rows, row)
			}
			if withTotal {
				if humanSz {
					e.printf("total %s\n", human(total*1024))
				} else {
					e.printf("total %d\n", total)
				}
			}
			writeColumns(e.out, rows)
			return
		}
		names := make([]string, len(ents))
		for i, en := range ents {
			names[i] = en.name
			if classify {
				names[i] += classifySuffix(en.n)
			}
		}
		if one {
			for _, n := range names {
				e.printf("%s\n", n)
			}
			return
		}
		e.printf("%s", gridColumns(names, 80))
	}
	if len(files) > 0 {
		show(files, false, "")
	}
	for i, d := range dirs {
		full := clean(s.cwd, d)
		n, _ := s.fs.walk(full, true)
		if len(targets) > 1 {
			if i > 0 || len(files) > 0 {
				e.printf("\n")
			}
			e.printf("%s:\n", d)
		}
		if !s.canRead(n) {
			e.errorf("ls: cannot open directory '%s': Permission denied\n", d)
			status = 2
			continue
		}
		var ents []lsEntry
		if all {
			ents = append(ents, lsEntry{".", n})
			parent, _ := s.fs.walk(path.Dir(full), true)
			ents = append(ents, lsEntry{"..", parent})
		}
		for _, c := range s.fs.list(n) {
			if strings.HasPrefix(c.name, ".") && !all && !almost {
				continue
			}
			ents = append(ents, lsEntry{c.name, c})
		}
		show(ents, true, full)
	}
	return status
}

func classifySuffix(n *node) string {
	switch {
	case n.link != "":
		return "@"
	case n.dir:
		return "/"
	case n.mode&0o111 != 0:
		return "*"
	}
	return ""
}

// writeColumns prints rows with right-aligned numeric columns like ls -l.
func writeColumns(w io.Writer, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	cols := len(rows[0])
	widths := make([]int, cols)
	for _, r := range rows {
		for i, c := range r {
			if i < cols && len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			right := i == 1 || i == len(r)-3
			if right {
				b.WriteString(strings.Repeat(" ", widths[i]-len(c)) + c)
			} else {
				b.WriteString(c + strings.Repeat(" ", widths[i]-len(c)))
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
}

// gridColumns lays names out in columns, top to bottom, as ls does on a terminal.
func gridColumns(names []string, width int) string {
	if len(names) == 0 {
		return ""
	}
	for cols := min(len(names), width/3); cols >= 1; cols-- {
		rowsN := (len(names) + cols - 1) / cols
		widths := make([]int, cols)
		for i, n := range names {
			c := i / rowsN
			if l := utf8.RuneCountInString(n) + 2; l > widths[c] {
				widths[c] = l
			}
		}
		total := 0
		for _, w := range widths {
			total += w
		}
		if total-2 > width && cols > 1 {
			continue
		}
		var b strings.Builder
		for r := 0; r < rowsN; r++ {
			for c := 0; c < cols; c++ {
				i := c*rowsN + r
				if i >= len(names) {
					continue
				}
				b.WriteString(names[i])
				if c < cols-1 && (c+1)*rowsN+r < len(names) {
					b.WriteString(strings.Repeat(" ", widths[c]-utf8.RuneCountInString(names[i])))
				}
			}
			b.WriteByte('\n')
		}
		return b.String()
	}
	return strings.Join(names, "\n") + "\n"
}

func cmdCat(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	number := f.short['n']
	targets := f.rest
	if len(targets) == 0 {
		targets = []string{"-"}
	}
	status := 0
	line := 1
	for _, t := range targets {
		var data []byte
		if t == "-" {
			data = []byte(e.stdin)
		} else {
			var err error
			data, err = s.readFile(t)
			if err != nil {
				e.errorf("cat: %s: %s\n", t, err)
				status = 1
				continue
			}
		}
		if number {
			for _, l := range strings.SplitAfter(string(data), "\n") {
				if l == "" {
					continue
				}
				e.printf("%6d\t%s", line, l)
				line++
			}
			continue
		}
		e.out.Write(data)
	}
	return status
}

func cmdChmod(e *env) int {
	s := e.s
	args := e.args
	recursive := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && !isModeSpec(args[0]) {
		if strings.Contains(args[0], "R") {
			recursive = true
		}
		args = args[1:]
	}
	if len(args) < 2 {
		if len(args) == 0 {
			e.errorf("chmod: missing operand\nTry 'chmod --help' for more information.\n")
		} else {
			e.errorf("chmod: missing operand after '%s'\nTry 'chmod --help' for more information.\n", args[0])
		}
		return 1
	}
	spec := args[0]
	status := 0
	for _, t := range args[1:] {
		n, err := s.fs.walk(clean(s.cwd, t), true)
		if err != nil {
			e.errorf("chmod: cannot access '%s': %s\n", t, err)
			status = 1
			continue
		}
		if s.p.uid != 0 && n.uid != s.p.uid {
			e.errorf("chmod: changing permissions of '%s': Operation not permitted\n", t)
			status = 1
			continue
		}
		var apply func(n *node, depth int)
		ok := true
		apply = func(n *node, depth int) {
			m, good := applyMode(n.mode, spec, n.dir)
			if !good {
				ok = false
				return
			}
			if n.gen == nil {
				n.mode = m
			}
			if recursive && n.dir && depth < 64 {
				for _, c := range n.children {
					if c.link == "" {
						apply(c, depth+1)
					}
				}
			}
		}
		apply(n, 0)
		if !ok {
			e.errorf("chmod: invalid mode: '%s'\nTry 'chmod --help' for more information.\n", spec)
			return 1
		}
	}
	return status
}

func isModeSpec(a string) bool {
	return len(a) > 1 && strings.Trim(a[1:], "rwxXstugo") == ""
}

// applyMode applies an octal or symbolic chmod mode.
func applyMode(cur uint32, spec string, dir bool) (uint32, bool) {
	if v, err := strconv.ParseUint(spec, 8, 32); err == nil {
		if v > 0o7777 {
			return 0, false
		}
		return uint32(v), true
	}
	m := cur
	for _, clause := range strings.Split(spec, ",") {
		i := 0
		var who uint32
		for i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0 {
			switch clause[i] {
			case 'u':
				who |= 0o4700
			case 'g':
				who |= 0o2070
			case 'o':
				who |= 0o1007
			case 'a':
				who |= 0o7777
			}
			i++
		}
		if who == 0 {
			who = 0o7777 &^ 0o022 // umask
		}
		if i >= len(clause) {
			return 0, false
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return 0, false
			}
			i++
			var bits uint32
			for i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0 {
				switch clause[i] {
				case 'r':
					bits |= 0o444
				case 'w':
					bits |= 0o222
				case 'x':
					bits |= 0o111
				case 'X':
					if dir || m&0o111 != 0 {
						bits |= 0o111
					}
				case 's':
					bits |= 0o6000
				case 't':
					bits |= 0o1000
				}
				i++
			}
			bits &= who
			switch op {
			case '+':
				m |= bits
			case '-':
				m &^= bits
			case '=':
				m = m&^(who&0o777) | bits
			}
		}
	}
	return m, true
}

func cmdChown(e *env) int {
	s := e.s
	args := e.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if len(args) < 2 {
		e.errorf("%s: missing operand\nTry '%s --help' for more information.\n", e.name, e.name)
		return 1
	}
	spec := args[0]
	uid, gid := -1, -1
	owner, group, hasGroup := strings.Cut(spec, ":")
	if e.name == "chgrp" {
		owner, group, hasGroup = "", spec, true
	}
	if owner != "" {
		if a, ok := s.p.lookupUser(owner); ok {
			uid = a.uid
		} else if n, err := strconv.Atoi(owner); err == nil {
			uid = n
		} else {
			e.errorf("%s: invalid user: '%s'\n", e.name, spec)
			return 1
		}
	}
	if hasGroup && group != "" {
		if a, ok := s.p.lookupUser(group); ok {
			gid = a.gid
		} else if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else if group == "root" {
			gid = 0
		} else {
			e.errorf("%s: invalid group: '%s'\n", e.name, spec)
			return 1
		}
	}
	status := 0
	for _, t := range args[1:] {
		n, err := s.fs.walk(clean(s.cwd, t), true)
		if err != nil {
			e.errorf("%s: cannot access '%s': %s\n", e.name, t, err)
			status = 1
			continue
		}
		if s.p.uid != 0 {
			e.errorf("%s: changing ownership of '%s': Operation not permitted\n", e.name, t)
			status = 1
			continue
		}
		if uid >= 0 {
			n.uid = uid
		}
		if gid >= 0 {
			n.gid = gid
		}
	}
	return status
}

func cmdMkdir(e *env) int {
	s := e.s
	f := parseFlags(e.args, "m")
	if len(f.rest) == 0 {
		e.errorf("mkdir: missing operand\nTry 'mkdir --help' for more information.\n")
		return 1
	}
	status := 0
	for _, t := range f.rest {
		full := clean(s.cwd, t)
		if f.short['p'] {
			cur := "/"
			for _, part := range splitPath(full) {
				cur = path.Join(cur, part)
				n, err := s.fs.walk(cur, true)
				if err == nil {
					if !n.dir {
						e.errorf("mkdir: cannot create directory '%s': File exists\n", t)
						status = 1
						break
					}
					continue
				}
				if err := s.fs.mkdir(cur, s.p.uid, s.p.gid); err != nil {
					e.errorf("mkdir: cannot create directory '%s': %s\n", t, err)
					status = 1
					break
				}
			}
			continue
		}
		if err := s.fs.mkdir(full, s.p.uid, s.p.gid); err != nil {
			e.errorf("mkdir: cannot create directory '%s': %s\n", t, err)
			status = 1
		}
	}
	return status
}

func cmdTouch(e *env) int {
	s := e.s
	f := parseFlags(e.args, "dtr")
	if len(f.rest) == 0 {
		e.errorf("touch: missing file operand\nTry 'touch --help' for more information.\n")
		return 1
	}
	status := 0
	for _, t := range f.rest {
		full := clean(s.cwd, t)
		if n, err := s.fs.walk(full, true); err == nil {
			if s.p.uid != 0 && n.uid != s.p.uid {
				e.errorf("touch: cannot touch '%s': Permission denied\n", t)
				status = 1
				continue
			}
			n.mtime = s.now()
			continue
		}
		if f.short['c'] {
			continue
		}
		if err := s.fs.writeFile(full, nil, true, s.p.uid, s.p.gid); err != nil {
			e.errorf("touch: cannot touch '%s': %s\n", t, err)
			status = 1
		}
	}
	return status
}

func cmdRm(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	recursive := f.short['r'] || f.short['R']
	if _, ok := f.long["recursive"]; ok {
		recursive = true
	}
	force := f.short['f']
	if _, ok := f.long["force"]; ok {
		force = true
	}
	if len(f.rest) == 0 {
		if force {
			return 0
		}
		e.errorf("rm: missing operand\nTry 'rm --help' for more information.\n")
		return 1
	}
	status := 0
	for _, t := range f.rest {
		full := clean(s.cwd, t)
		if full == "/" {
			e.errorf("rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n")
			status = 1
			continue
		}
		n, err := s.fs.walk(full, false)
		if err != nil {
			if !force {
				e.errorf("rm: cannot remove '%s': %s\n", t, err)
				status = 1
			}
			continue
		}
		if n.dir && !recursive {
			e.errorf("rm: cannot remove '%s': Is a directory\n", t)
			status = 1
			continue
		}
		if strings.HasPrefix(full, "/proc") || strings.HasPrefix(full, "/sys") {
			e.errorf("rm: cannot remove '%s': Operation not permitted\n", t)
			status = 1
			continue
		}
		if err := s.fs.remove(full, recursive, s.p.uid); err != nil {
			e.errorf("rm: cannot remove '%s': %s\n", t, err)
			status = 1
		}
	}
	return status
}

func cmdRmdir(e *env) int {
	s := e.s
	status := 0
	for _, t := range parseFlags(e.args, "").rest {
		full := clean(s.cwd, t)
		n, err := s.fs.walk(full, false)
		switch {
		case err != nil:
		case !n.dir:
			err = errNotDir
		case len(n.children) > 0:
			err = errNotEmpty
		default:
			err = s.fs.remove(full, true, s.p.uid)
		}
		if err != nil {
			e.errorf("rmdir: failed to remove '%s': %s\n", t, err)
			status = 1
		}
	}
	return status
}

func cmdMv(e *env) int {
	s := e.s
	f := parseFlags(e.args, "tS")
	if len(f.rest) < 2 {
		e.errorf("mv: missing file operand\nTry 'mv --help' for more information.\n")
		return 1
	}
	dst := f.rest[len(f.rest)-1]
	status := 0
	for _, src := range f.rest[:len(f.rest)-1] {
		if err := s.fs.rename(clean(s.cwd, src), clean(s.cwd, dst), s.p.uid); err != nil {
			if err == errNotExist {
				e.errorf("mv: cannot stat '%s': %s\n", src, err)
			} else {
				e.errorf("mv: cannot move '%s' to '%s': %s\n", src, dst, err)
			}
			status = 1
		}
	}
	return status
}

func cmdCp(e *env) int {
	s := e.s
	f := parseFlags(e.args, "tS")
	recursive := f.short['r'] || f.short['R'] || f.short['a']
	if len(f.rest) < 2 {
		e.errorf("cp: missing file operand\nTry 'cp --help' for more information.\n")
		return 1
	}
	dst := f.rest[len(f.rest)-1]
	status := 0
	for _, src := range f.rest[:len(f.rest)-1] {
		err := s.fs.copy(clean(s.cwd, src), clean(s.cwd, dst), recursive, s.p.uid, s.p.gid)
		switch {
		case err == nil:
		case err == errNotExist:
			e.errorf("cp: cannot stat '%s': %s\n", src, err)
			status = 1
		case err == errIsDir:
			e.errorf("cp: -r not specified; omitting directory '%s'\n", src)
			status = 1
		default:
			e.errorf("cp: cannot create regular file '%s': %s\n", dst, err)
			status = 1
		}
	}
	return status
}

func cmdLn(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	if len(f.rest) < 2 {
		e.errorf("ln: missing file operand\nTry 'ln --help' for more information.\n")
		return 1
	}
	target, name := f.rest[0], f.rest[1]
	full := clean(s.cwd, name)
	if n, err := s.fs.walk(full, true); err == nil && n.dir {
		full = path.Join(full, pathBase(target))
	}
	if _, err := s.fs.walk(full, false); err == nil {
		if !f.short['f'] {
			e.errorf("ln: failed to create symbolic link '%s': File exists\n", name)
			return 1
		}
		s.fs.remove(full, false, s.p.uid)
	}
	if !f.short['s'] {
		// Hard link: copy the content.
		if err := s.fs.copy(clean(s.cwd, target), full, false, s.p.uid, s.p.gid); err != nil {
			e.errorf("ln: failed to access '%s': %s\n", target, err)
			return 1
		}
		return 0
	}
	d, base, err := s.fs.parent(full)
	if err == nil && !s.canWriteDir(d) {
		err = errPerm
	}
	if err == nil {
		err = s.fs.charge(len(target), 1)
	}
	if err != nil {
		e.errorf("ln: failed to create symbolic link '%s': %s\n", name, err)
		return 1
	}
	d.children[base] = &node{name: base, link: target, mode: 0o777, uid: s.p.uid, gid: s.p.gid, mtime: s.now(), user: true}
	return 0
}

func cmdStat(e *env) int {
	s := e.s
	status := 0
	for _, t := range parseFlags(e.args, "c").rest {
		full := clean(s.cwd, t)
		n, err := s.fs.walk(full, false)
		if err != nil {
			e.errorf("stat: cannot statx '%s': %s\n", t, err)
			status = 1
			continue
		}
		kind := "regular file"
		switch {
		case n.link != "":
			kind = "symbolic link"
		case n.dir:
			kind = "directory"
		case n.char:
			kind = "character special file"
		case n.Size() == 0:
			kind = "regular empty file"
		}
		ts := n.mtime.Format("2006-01-02 15:04:05.000000000 -0700")
		e.printf("  File: %s\n  Size: %-15d Blocks: %-10d IO Block: 4096   %s\nDevice: 801h/2049d\tInode: %-11d Links: 1\nAccess: (%04o/%s)  Uid: (%5d/%8s)   Gid: (%5d/%8s)\nAccess: %s\nModify: %s\nChange: %s\n Birth: -\n",
			t, n.Size(), (n.Size()+511)/512, kind, 100000+len(full)*7919%900000, n.mode&0o7777, s.permString(n), n.uid, s.p.userName(n.uid), n.gid, s.p.groupName(n.gid), ts, ts, ts)
	}
	return status
}

func cmdFind(e *env) int {
	s := e.s
	args := e.args
	var roots []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "(" && args[0] != "!" {
		roots = append(roots, args[0])
		args = args[1:]
	}
	if len(roots) == 0 {
		roots = []string{"."}
	}
	var namePat, typ string
	maxDepth := 64
	nocase := false
	for i := 0; i < len(args); i++ {
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch args[i] {
		case "-name", "-iname":
			namePat, nocase = next, args[i] == "-iname"
			i++
		case "-type":
			typ = next
			i++
		case "-maxdepth":
			if v, err := strconv.Atoi(next); err == nil {
				maxDepth = v
			}
			i++
		case "-perm", "-user", "-group", "-mtime", "-size", "-newer", "-path", "-mindepth", "-exec", "-delete":
			if args[i] == "-exec" {
				for i < len(args) && args[i] != ";" && args[i] != "+" {
					i++
				}
				continue
			}
			if args[i] != "-delete" {
				i++
			}
		}
	}
	count := 0
	status := 0
	var walk func(p, shown string, n *node, depth int)
	walk = func(p, shown string, n *node, depth int) {
		if count > 20000 {
			return
		}
		count++
		match := true
		if namePat != "" {
			name := pathBase(shown)
			pat := namePat
			if nocase {
				name, pat = strings.ToLower(name), strings.ToLower(pat)
			}
			match, _ = path.Match(pat, name)
		}
		switch typ {
		case "f":
			match = match && !n.dir && n.link == ""
		case "d":
			match = match && n.dir
		case "l":
			match = match && n.link != ""
		}
		if match {
			e.printf("%s\n", shown)
		}
		if !n.dir || depth >= maxDepth {
			return
		}
		if !s.canRead(n) {
			e.errorf("find: '%s': Permission denied\n", shown)
			status = 1
			return
		}
		for _, c := range s.fs.list(n) {
			walk(path.Join(p, c.name), strings.TrimSuffix(shown, "/")+"/"+c.name, c, depth+1)
		}
	}
	for _, r := range roots {
		full := clean(s.cwd, r)
		n, err := s.fs.walk(full, true)
		if err != nil {
			e.errorf("find: '%s': %s\n", r, err)
			status = 1
			continue
		}
		walk(full, r, n, 0)
	}
	return status
}

func cmdDu(e *env) int {
	s := e.s
	f := parseFlags(e.args, "d")
	targets := f.rest
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var size func(n *node, depth int) int64
	size = func(n *node, depth int) int64 {
		t := (n.Size() + 4095) / 4096 * 4096
		if n.dir && depth < 64 {
			for _, c := range n.children {
				t += size(c, depth+1)
			}
		}
		return t
	}
	for _, t := range targets {
		n, err := s.fs.walk(clean(s.cwd, t), true)
		if err != nil {
			e.errorf("du: cannot access '%s': %s\n", t, err)
			continue
		}
		sz := size(n, 0)
		if f.short['h'] {
			e.printf("%s\t%s\n", human(sz), t)
		} else {
			e.printf("%d\t%s\n", sz/1024, t)
		}
	}
	return 0
}

func cmdMktemp(e *env) int {
	f := parseFlags(e.args, "pt")
	name := "/tmp/tmp." + randWord(e.s.p.rng, 10)
	var err error
	if f.short['d'] {
		err = e.s.fs.mkdir(name, e.s.p.uid, e.s.p.gid)
	} else {
		err = e.s.fs.writeFile(name, nil, false, e.s.p.uid, e.s.p.gid)
	}
	if err != nil {
		e.errorf("mktemp: failed to create file via template '/tmp/tmp.XXXXXXXXXX': %s\n", err)
		return 1
	}
	e.printf("%s\n", name)
	return 0
}

func cmdReadlink(e *env) int {
	f := parseFlags(e.args, "")
	status := 0
	for _, t := range f.rest {
		full := clean(e.s.cwd, t)
		if f.short['f'] || f.short['e'] || f.short['m'] {
			e.printf("%s\n", e.s.realPath(full))
			continue
		}
		n, err := e.s.fs.walk(full, false)
		if err != nil || n.link == "" {
			status = 1
			continue
		}
		e.printf("%s\n", n.link)
	}
	return status
}

// realPath resolves symlinks in an absolute path, component by component.
func (s *Shell) realPath(full string) string {
	cur := "/"
	for i, part := range splitPath(full) {
		next := path.Join(cur, part)
		n, err := s.fs.walk(next, false)
		if err != nil || n.link == "" || i > 64 {
			cur = next
			continue
		}
		t := n.link
		if !strings.HasPrefix(t, "/") {
			t = path.Join(cur, t)
		}
		cur = path.Clean(t)
	}
	return cur
}

func cmdBasename(e *env) int {
	if len(e.args) == 0 {
		e.errorf("basename: missing operand\nTry 'basename --help' for more information.\n")
		return 1
	}
	b := path.Base(e.args[0])
	if len(e.args) > 1 {
		b = strings.TrimSuffix(b, e.args[1])
	}
	e.printf("%s\n", b)
	return 0
}

func cmdDirname(e *env) int {
	if len(e.args) == 0 {
		e.errorf("dirname: missing operand\nTry 'dirname --help' for more information.\n")
		return 1
	}
	for _, a := range e.args {
		e.printf("%s\n", path.Dir(a))
	}
	return 0
}

func cmdWhich(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	status := 0
	for _, a := range f.rest {
		if p, ok := s.lookPath(a); ok {
			e.printf("%s\n", p)
		} else {
			if s.p.family == "rhel" {
				e.errorf("/usr/bin/which: no %s in (%s)\n", a, s.vars["PATH"])
			}
			status = 1
		}
	}
	return status
}

func cmdWhereis(e *env) int {
	for _, a := range e.args {
		if p, ok := e.s.lookPath(a); ok {
			e.printf("%s: %s /usr/share/man/man1/%s.1.gz\n", a, p, a)
		} else {
			e.printf("%s:\n", a)
		}
	}
	return 0
}
