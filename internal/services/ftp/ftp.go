package ftp

// The control channel is written by hand: the only Go FTP server library of note
// (fclairamb/ftpserverlib) is not among the project's available modules, and it
// writes its own reply texts, while scanners and bots compare vsftpd's and ProFTPD's
// texts byte for byte. The command parser is small and fuzzed (parse_test.go).

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	// maxCommandLine is vsftpd's VSFTP_MAX_COMMAND_LINE; longer lines are cut.
	maxCommandLine = 4096
	// maxUploads bounds the uploads one session may add to its tree listing.
	maxUploads = 256
	// dataAcceptTimeout is how long a passive listener waits (vsftpd accept_timeout).
	dataAcceptTimeout = 60 * time.Second
	// dataIdleTimeout bounds a stalled transfer (vsftpd data_connection_timeout).
	dataIdleTimeout = 5 * time.Minute
	// maxStrayData bounds connections from other addresses to a passive port.
	maxStrayData = 4
)

// failDelay is the pause after a wrong password (vsftpd delay_failed_login=1).
// Tests shorten it.
var failDelay = time.Second

// server is one running ftp service.
type server struct {
	rt       *service.Runtime
	fl       *flavor
	version  string
	ident    string
	anon     bool
	users    map[string]map[string]bool
	maxTries int
	tree     *node
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	return rt.ServeTCP(ctx, 21, s.handle)
}

func newServer(rt *service.Runtime) *server {
	name := rt.Persona(KeyServer)
	if name == "" {
		name = defaultServer(rt.Distro)
	}
	fl := &vsftpd
	if name == ServerProftpd {
		fl = &proftpd
	}
	version := rt.Persona(KeyVersion)
	if version == "" {
		version = defaultVersion(name, rt.Distro)
	}
	ident := "ProFTPD Default Installation"
	switch {
	case strings.HasPrefix(rt.Distro.Slug, "ubuntu"), rt.Distro.Slug == "debian", rt.Distro.Slug == "kali":
		ident = "Debian"
	}
	users := service.Users(rt, KeyUsers, DefaultUsers)
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	return &server{
		rt: rt, fl: fl, version: version, ident: ident,
		anon:     rt.PersonaBool(KeyAnonymous, true),
		users:    users,
		maxTries: rt.PersonaInt(KeyMaxTries, 3),
		tree:     baitTree(host),
	}
}

// session is one control connection.
type session struct {
	s   *server
	fl  *flavor
	c   *service.Conn
	ctx context.Context
	w   *bufio.Writer

	user     string // from USER, pending PASS
	loggedIn bool
	anon     bool
	failures int

	root    *node
	cwd     string
	binary  bool
	rest    int64
	uploads int
	rnfr    bool

	pasv   net.Listener
	active bool // PORT/EPRT given: never connected to (the decky does not connect out)
}

func (s *server) handle(ctx context.Context, c *service.Conn) {
	ss := &session{s: s, fl: s.fl, c: c, ctx: ctx, w: bufio.NewWriter(c), root: cloneTree(s.tree), cwd: "/"}
	defer ss.closePasv()
	ss.reply(s.fl.banner(s.version, ss.bannerIP(), s.ident))
	br := bufio.NewReaderSize(c, 1024)
	for {
		raw, _, err := service.ReadLine(br, maxCommandLine)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				// vsftpd's idle_session_timeout answer.
				ss.reply("421 Timeout.\r\n")
			}
			return
		}
		line := string(raw)
		verb, arg := parseCommand(line)
		if verb == "" {
			continue
		}
		if !ss.command(verb, arg, line) {
			return
		}
	}
}

// bannerIP is the server address as ProFTPD prints it (IPv4 on a dual-stack socket).
func (ss *session) bannerIP() string {
	a, _ := netip.ParseAddrPort(ss.c.LocalAddr().String())
	ip := a.Addr()
	if ip.Is4() || ip.Is4In6() {
		return "::ffff:" + ip.Unmap().String()
	}
	return ip.String()
}

func (ss *session) reply(s string) bool {
	ss.w.WriteString(s)
	return ss.w.Flush() == nil
}

// emitCommand records one command line (USER and PASS are recorded as auth events).
func (ss *session) emitCommand(line string) {
	f := map[string]string{}
	service.SetPrintable(f, "command", line)
	if ss.loggedIn {
		service.SetPrintable(f, "username", ss.user)
	}
	ss.c.Emit(event.Command, f, "")
}

// preLogin are the commands answered before login.
var preLogin = map[string]bool{"USER": true, "PASS": true, "QUIT": true, "FEAT": true, "OPTS": true, "SYST": true, "HELP": true, "NOOP": true}

// command handles one command; it returns false when the session ends.
func (ss *session) command(verb, arg, line string) bool {
	fl := ss.fl
	if verb != "USER" && verb != "PASS" {
		ss.emitCommand(line)
	}
	if !ss.loggedIn && !preLogin[verb] {
		if fl == &proftpd && !knownVerb[verb] {
			return ss.reply(fl.unknown(service.Printable(verb, 256)))
		}
		return ss.reply(fl.needLogin)
	}
	if verb != "REST" && verb != "RETR" && verb != "STOR" && verb != "APPE" {
		defer func() { ss.rest = 0 }()
	}
	switch verb {
	case "USER":
		return ss.cmdUser(arg)
	case "PASS":
		return ss.cmdPass(arg)
	case "QUIT":
		ss.reply(fl.quit)
		return false
	case "SYST":
		return ss.reply(fl.syst)
	case "FEAT":
		return ss.reply(fl.feat)
	case "HELP":
		return ss.reply(fl.help)
	case "NOOP":
		return ss.reply(fl.noop)
	case "OPTS":
		if strings.EqualFold(strings.TrimSpace(arg), "UTF8 ON") {
			return ss.reply(fl.optsUTF8)
		}
		return ss.reply("501 Option not understood.\r\n")
	case "PWD", "XPWD":
		return ss.reply(fl.pwd(ss.cwd))
	case "CWD", "XCWD":
		return ss.cwdTo(arg)
	case "CDUP", "XCUP":
		return ss.cwdTo("..")
	case "TYPE":
		switch strings.ToUpper(strings.TrimSpace(arg)) {
		case "A", "A N":
			ss.binary = false
			return ss.reply(fl.typeA)
		case "I", "L 8":
			ss.binary = true
			return ss.reply(fl.typeI)
		}
		return ss.reply(fl.typeBad(arg))
	case "MODE":
		if strings.EqualFold(arg, "S") {
			return ss.reply(fl.mode)
		}
		return ss.reply("504 Bad MODE command.\r\n")
	case "STRU":
		if strings.EqualFold(arg, "F") {
			return ss.reply(fl.stru)
		}
		return ss.reply("504 Bad STRU command.\r\n")
	case "ALLO":
		return ss.reply("202 ALLO command ignored.\r\n")
	case "ABOR":
		return ss.reply(fl.abor)
	case "REST":
		n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
		if err != nil || n < 0 {
			n = 0
		}
		ss.rest = n
		return ss.reply(fl.restOK(strconv.FormatInt(n, 10)))
	case "PASV":
		return ss.cmdPasv(false, arg)
	case "EPSV":
		return ss.cmdPasv(true, arg)
	case "PORT", "EPRT":
		return ss.cmdPort(verb, arg)
	case "LIST", "NLST":
		return ss.cmdList(verb == "NLST", arg)
	case "RETR":
		return ss.cmdRetr(arg)
	case "STOR", "APPE", "STOU":
		return ss.cmdStor(verb, arg)
	case "SIZE":
		n := lookup(ss.root, resolve(ss.cwd, arg))
		if n == nil || n.dir {
			return ss.reply(fl.noSize(arg))
		}
		return ss.reply("213 " + strconv.FormatInt(n.size, 10) + "\r\n")
	case "MDTM":
		n := lookup(ss.root, resolve(ss.cwd, arg))
		if n == nil || n.dir {
			return ss.reply(fl.noMdtm(arg))
		}
		return ss.reply("213 " + n.mtime.UTC().Format("20060102150405") + "\r\n")
	case "STAT":
		return ss.cmdStat(arg)
	case "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNTO":
		ss.rnfr = false
		return ss.reply(fl.denied(arg))
	case "RNFR":
		if lookup(ss.root, resolve(ss.cwd, arg)) == nil {
			return ss.reply(fl.noFile(arg))
		}
		ss.rnfr = true
		return ss.reply("350 Ready for RNTO.\r\n")
	case "SITE":
		sub, _, _ := strings.Cut(strings.TrimSpace(arg), " ")
		switch strings.ToUpper(sub) {
		case "CHMOD", "UMASK":
			return ss.reply(fl.denied(arg))
		case "HELP":
			if fl == &vsftpd {
				return ss.reply("214 CHMOD UMASK HELP\r\n")
			}
		}
		if fl == &vsftpd {
			return ss.reply("500 Unknown SITE command.\r\n")
		}
		return ss.reply("500 'SITE " + service.Printable(strings.ToUpper(sub), 256) + "' not understood\r\n")
	}
	return ss.reply(fl.unknown(service.Printable(verb, 256)))
}

// knownVerb are commands ProFTPD knows (an unknown one is "not understood" even
// before login).
var knownVerb = map[string]bool{}

func init() {
	for _, v := range strings.Fields("USER PASS ACCT CWD XCWD CDUP XCUP SMNT QUIT REIN PORT PASV EPRT EPSV TYPE STRU MODE RETR STOR STOU APPE ALLO REST RNFR RNTO ABOR DELE MDTM RMD XRMD MKD XMKD PWD XPWD SIZE LIST NLST SITE SYST STAT HELP NOOP FEAT OPTS HOST CLNT LANG MLSD MLST MFMT") {
		knownVerb[v] = true
	}
}

func (ss *session) cmdUser(arg string) bool {
	if ss.loggedIn {
		return ss.reply("530 Can't change to another user.\r\n")
	}
	ss.user = arg
	ss.anon = ss.s.anon && (strings.EqualFold(arg, "anonymous") || strings.EqualFold(arg, "ftp"))
	return ss.reply(ss.fl.userOK(service.Printable(arg, 256), ss.anon))
}

func (ss *session) cmdPass(pw string) bool {
	fl := ss.fl
	if ss.loggedIn {
		return ss.reply("230 Already logged in.\r\n")
	}
	if ss.user == "" {
		return ss.reply(fl.needUser)
	}
	ok := ss.anon || ss.s.users[ss.user][pw]
	f := map[string]string{
		"password":    event.SafeTerminal(pw),
		"secret_b64":  base64.StdEncoding.EncodeToString([]byte(pw)),
		"secret_kind": "plaintext",
		"method":      "password",
		"server":      fl.name,
	}
	if ss.anon {
		f["method"] = "anonymous"
	}
	service.SetPrintable(f, "username", ss.user)
	if ok {
		f["outcome"] = "success"
	} else {
		f["outcome"] = "failure"
	}
	ss.c.Emit(event.Auth, f, "")
	if ok {
		ss.loggedIn = true
		return ss.reply(fl.loginOK(service.Printable(ss.user, 256), ss.anon))
	}
	ss.user = ""
	ss.failures++
	select {
	case <-time.After(failDelay + rand.N(failDelay/4+1)):
	case <-ss.ctx.Done():
		return false
	}
	ss.reply(fl.loginBad)
	return ss.failures < ss.s.maxTries
}

func (ss *session) cwdTo(arg string) bool {
	p := resolve(ss.cwd, arg)
	n := lookup(ss.root, p)
	if n == nil || !n.dir {
		return ss.reply(ss.fl.cwdBad(arg))
	}
	ss.cwd = p
	return ss.reply(ss.fl.cwdOK)
}

func (ss *session) cmdStat(arg string) bool {
	if arg != "" {
		// STAT <path> lists over the control connection.
		n := lookup(ss.root, resolve(ss.cwd, listPath(arg)))
		var b strings.Builder
		b.WriteString("213-Status follows:\r\n")
		if n != nil {
			b.WriteString(ss.listing(n, false))
		}
		b.WriteString("213 End of status\r\n")
		return ss.reply(b.String())
	}
	peer := ss.c.Peer.Addr().String()
	mode := "ASCII"
	if ss.binary {
		mode = "BINARY"
	}
	if ss.fl == &proftpd {
		return ss.reply("211-Status of '" + ss.s.ident + "'\r\n Connected from " + peer + " (" + peer + ")\r\n Logged in as " +
			event.SafeTerminal(ss.user) + "\r\n TYPE: " + mode + ", STRUcture: File, Mode: Stream\r\n No data connection\r\n211 End of status\r\n")
	}
	user := ss.user
	if ss.anon {
		user = "ftp"
	}
	return ss.reply("211-FTP server status:\r\n     Connected to " + peer + "\r\n     Logged in as " + event.SafeTerminal(user) +
		"\r\n     TYPE: " + mode + "\r\n     No session bandwidth limit\r\n     Session timeout in seconds is 300\r\n" +
		"     Control connection is plain text\r\n     Data connections will be plain text\r\n" +
		"     At session startup, client count was 1\r\n     vsFTPd " + ss.s.version + " - secure, fast, stable\r\n211 End of status\r\n")
}

// listPath drops ls options ("-la") from a LIST argument.
func listPath(arg string) string {
	var keep []string
	for _, w := range strings.Fields(arg) {
		if !strings.HasPrefix(w, "-") {
			keep = append(keep, w)
		}
	}
	return strings.Join(keep, " ")
}

// listing renders a LIST (or NLST) of n in the server's format.
func (ss *session) listing(n *node, namesOnly bool) string {
	now := time.Now()
	entries := []*node{n}
	if n.dir {
		entries = n.sorted()
	}
	var b strings.Builder
	for _, e := range entries {
		if namesOnly {
			b.WriteString(e.name + "\r\n")
			continue
		}
		b.WriteString(ss.fl.ls(e, now))
	}
	return b.String()
}

func (ss *session) cmdList(namesOnly bool, arg string) bool {
	p := listPath(arg)
	n := lookup(ss.root, resolve(ss.cwd, p))
	if n == nil && ss.fl == &proftpd {
		return ss.reply("450 " + service.Printable(p, 256) + ": No such file or directory\r\n")
	}
	dc, ok := ss.openData()
	if !ok {
		return ss.ctx.Err() == nil
	}
	defer dc.Close()
	if !ss.reply(ss.fl.listStart) {
		return false
	}
	if n != nil {
		io.WriteString(dc, ss.listing(n, namesOnly))
	}
	dc.Close()
	return ss.reply(ss.fl.listDone)
}

func (ss *session) cmdRetr(arg string) bool {
	p := resolve(ss.cwd, arg)
	n := lookup(ss.root, p)
	f := map[string]string{"method": "RETR", "username": event.SafeTerminal(ss.user)}
	service.SetPrintable(f, "path", p)
	if n == nil || n.dir || n.upload {
		f["outcome"] = "not_found"
		ss.c.Emit(event.Request, f, "")
		return ss.reply(ss.fl.noFile(arg))
	}
	f["outcome"] = "served"
	f["size"] = strconv.FormatInt(n.size, 10)
	ss.c.Emit(event.Request, f, "")
	dc, ok := ss.openData()
	if !ok {
		return ss.ctx.Err() == nil
	}
	defer dc.Close()
	if !ss.reply(ss.fl.retrStart(n.name, n.size, ss.binary)) {
		return false
	}
	data := n.data
	if ss.rest > 0 && ss.rest < int64(len(data)) {
		data = data[ss.rest:]
	} else if ss.rest >= int64(len(data)) {
		data = nil
	}
	ss.rest = 0
	_, _ = dc.Write(data)
	dc.Close()
	return ss.reply(ss.fl.xferDone)
}

func (ss *session) cmdStor(verb, arg string) bool {
	name := arg
	if verb == "STOU" && name == "" {
		name = fmt.Sprintf("ftp%06d", rand.N(1000000))
	}
	p := resolve(ss.cwd, name)
	dir, base := splitPath(p)
	parent := lookup(ss.root, dir)
	if name == "" || base == "" || parent == nil || !parent.dir {
		return ss.reply(ss.fl.noFile(arg))
	}
	if existing := parent.children[base]; existing != nil && !existing.upload {
		// The bait files are read-only.
		return ss.reply(ss.fl.denied(arg))
	}
	dc, ok := ss.openData()
	if !ok {
		return ss.ctx.Err() == nil
	}
	defer dc.Close()
	if !ss.reply(ss.fl.storStart(base)) {
		return false
	}
	limit := 4 * ss.s.rt.Limits.MaxArtifact
	sum, size, stored, err := ss.s.rt.SaveArtifact(io.LimitReader(idleReader{dc}, limit))
	f := map[string]string{
		"sha256": sum, "size": strconv.FormatInt(size, 10), "stored": strconv.FormatBool(stored),
		"via": "ftp", "method": verb,
	}
	service.SetPrintable(f, "filename", base)
	service.SetPrintable(f, "path", p)
	service.SetPrintable(f, "username", ss.user)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		f["complete"] = "false"
	}
	ss.c.Emit(event.FileUpload, f, "")
	if ss.uploads < maxUploads {
		ss.uploads++
		up := fileNode(base, nil, time.Now())
		up.size, up.upload = size, true
		parent.children[base] = up
	}
	dc.Close()
	return ss.reply(ss.fl.xferDone)
}

// splitPath splits an absolute clean path into its directory and last element.
func splitPath(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/", p[i+1:]
	}
	return p[:i], p[i+1:]
}

// cloneTree copies the directory structure (file contents are shared, read-only) so
// a session's uploads show up in its own listings only.
func cloneTree(n *node) *node {
	c := *n
	if n.dir {
		c.children = make(map[string]*node, len(n.children))
		for k, v := range n.children {
			c.children[k] = cloneTree(v)
		}
	}
	return &c
}
