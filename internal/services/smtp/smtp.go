package smtp

// The SMTP server is written by hand rather than on github.com/emersion/go-smtp:
// that library hard-codes its reply texts ("220 <domain> ESMTP Service Ready",
// "250 Hello <domain>", "Roger, accepting mail from …", "I have successfully done
// nothing"), which fingerprint it at once, and Postfix's and Exim's texts, reply
// codes and command ordering rules are exactly what scanners compare. The parser
// is small, bounded and fuzzed (fuzz_test.go).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds on what one connection can make us hold.
const (
	maxCommandLine = 2048 // Postfix line_length_limit
	maxHeaderKeep  = 64 << 10
	maxCredential  = 4 << 10
	maxField       = 1 << 10
)

type emitFunc func(typ string, fields map[string]string, msg string)

// server is one resolved persona; serveConn runs one connection.
type server struct {
	d         *dialect
	host      string // the FQDN in the greeting
	domain    string
	mailboxes map[string]bool
	acceptAny bool
	maxSize   int64
	tls       *tls.Config // nil: STARTTLS not offered
	// relay makes the server an open relay (the smtp_relay service): every
	// recipient domain is accepted and every AUTH succeeds.
	relay bool
	// save keeps a received message (rt.SaveArtifact).
	save func(io.Reader) (sum string, size int64, stored bool, err error)
	now  func() time.Time
}

// session is the state of one SMTP connection.
type session struct {
	s       *server
	ctx     context.Context
	conn    io.ReadWriter
	r       *bufio.Reader
	w       *bufio.Writer
	emit    emitFunc
	ip      string
	helo    string
	esmtp   bool
	tlsOn   bool
	from    *string
	rcpts   []string
	errors  int
	bdat    *bdatState
	authTry int
	authed  bool // an open relay's AUTH succeeded
}

var errHangup = errors.New("session over")

// serveConn speaks SMTP on conn until the client quits, errs too often or the
// connection ends. peerIP is the client's address (Exim echoes it in HELO replies).
func (s *server) serveConn(ctx context.Context, conn io.ReadWriter, peerIP string, emit emitFunc) {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	ss := &session{s: s, ctx: ctx, conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriter(conn), emit: emit, ip: peerIP}
	defer ss.closeBDAT()
	ss.reply(s.d.greeting(s.host, now()))
	for ctx.Err() == nil {
		line, tooLong, err := service.ReadLine(ss.r, maxCommandLine)
		if err != nil {
			if isTimeout(err) {
				ss.reply(s.d.timeout(s.host))
			}
			return
		}
		if tooLong {
			ss.emit(event.Command, map[string]string{"command": service.Printable(string(line), maxField), "truncated": "true", "reply": s.d.lineLong}, "")
			ss.reply(s.d.lineLong)
			if ss.countError() {
				return
			}
			continue
		}
		if err := ss.command(line); err != nil {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// reply writes one reply line and flushes it.
func (ss *session) reply(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
	ss.w.Flush()
}

// countError counts a client error; true means the limit is reached and the
// server has said goodbye.
func (ss *session) countError() bool {
	ss.errors++
	if ss.errors >= ss.s.d.maxErrors {
		ss.reply(ss.s.d.tooMany(ss.s.host))
		return true
	}
	return false
}

// command handles one command line. An error ends the session.
func (ss *session) command(raw []byte) error {
	d := ss.s.d
	line := string(raw)
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	arg = strings.TrimSpace(arg)
	fields := map[string]string{"command": service.Printable(string(raw), maxField)}
	if len(raw) > maxField {
		fields["truncated"] = "true"
	}
	if verb != "" {
		fields["verb"] = service.Printable(verb, 32)
	}
	var answer string
	fail := false
	hangup := false
	switch verb {
	case "HELO", "EHLO":
		if arg == "" {
			answer, fail = ss.pick(verb == "HELO", d.heloSyntax, d.ehloSyntax), true
			break
		}
		ss.helo, ss.esmtp = arg, verb == "EHLO"
		ss.resetTx()
		fields["helo"] = service.Printable(arg, maxField)
		if verb == "HELO" {
			answer = d.helo(ss.s.host, arg, ss.ip)
			break
		}
		lines := append([]string{d.ehloFirst(ss.s.host, arg, ss.ip)}, d.ehloCaps(ss.s.maxSize, ss.s.tls != nil && !ss.tlsOn)...)
		ss.emitCmd(fields, "250 "+lines[0])
		var b strings.Builder
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			b.WriteString("250" + sep + l + "\r\n")
		}
		ss.w.WriteString(b.String())
		ss.w.Flush()
		return nil
	case "MAIL":
		answer, fail = ss.mail(arg, fields)
	case "RCPT":
		answer, fail = ss.rcpt(arg, fields)
	case "DATA":
		if arg != "" {
			answer, fail = "501 5.5.4 Syntax: DATA", true
			if d.name == "exim" {
				answer = "501 DATA must have no arguments"
			}
			break
		}
		return ss.dataCmd(fields)
	case "BDAT":
		return ss.bdatCmd(arg, fields)
	case "RSET":
		ss.resetTx()
		answer = d.rset
	case "NOOP":
		answer = d.noop
	case "QUIT":
		answer, hangup = d.quit(ss.s.host), true
	case "VRFY":
		answer, fail = ss.vrfy(arg, fields)
	case "EXPN":
		answer, fail = d.expn, d.name == "postfix"
	case "ETRN":
		switch {
		case d.name == "exim":
			answer, fail = d.unknown, true
		case arg == "":
			answer, fail = "500 Syntax: ETRN domain", true
		case ss.helo == "":
			answer, fail = "503 Error: send HELO/EHLO first", true
		default:
			answer = "458 Unable to queue messages"
		}
	case "HELP":
		if d.name == "exim" {
			ss.emitCmd(fields, "214-Commands supported:")
			ss.reply("214-Commands supported:", "214 AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP")
			return nil
		}
		answer, fail = d.unknown, true
	case "AUTH":
		return ss.auth(arg, fields)
	case "STARTTLS":
		return ss.startTLS(arg, fields)
	default:
		answer, fail = d.unknown, true
		if !utf8.Valid(raw) {
			answer = d.unknown8
		}
	}
	ss.emitCmd(fields, answer)
	ss.reply(answer)
	if hangup {
		return errHangup
	}
	if fail && ss.countError() {
		return errHangup
	}
	return nil
}

func (ss *session) pick(first bool, a, b string) string {
	if first {
		return a
	}
	return b
}

func (ss *session) emitCmd(fields map[string]string, answer string) {
	fields["reply"] = answer
	ss.emit(event.Command, fields, "")
}

func (ss *session) resetTx() {
	ss.from = nil
	ss.rcpts = nil
	ss.closeBDAT()
}

// mail handles MAIL FROM.
func (ss *session) mail(arg string, fields map[string]string) (string, bool) {
	d := ss.s.d
	if ss.from != nil {
		return d.nestedMail, true
	}
	addr, params, ok := parsePath(arg, "FROM:")
	if !ok {
		return d.mailSyntax, true
	}
	if !validAddress(addr, true) {
		return d.badSender, true
	}
	if bad, msg := ss.checkParams(params, true); bad {
		return msg, true
	}
	fields["from"] = service.Printable(addr, maxField)
	a := addr
	ss.from = &a
	return d.mailOK, false
}

// checkParams validates ESMTP parameters of MAIL or RCPT.
func (ss *session) checkParams(params []string, mail bool) (bool, string) {
	d := ss.s.d
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		k = strings.ToUpper(k)
		switch {
		case mail && k == "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return true, "501 5.5.4 Bad message size syntax"
			}
			if n > ss.s.maxSize {
				return true, d.sizeExceeds
			}
		case mail && (k == "BODY" || k == "RET" || k == "ENVID" || k == "AUTH" || k == "SMTPUTF8"):
		case !mail && (k == "NOTIFY" || k == "ORCPT"):
		default:
			return true, fmt.Sprintf(d.badParam, service.Printable(p, 256))
		}
	}
	return false, ""
}

// rcpt handles RCPT TO: local recipients are accepted, others refused as relaying.
func (ss *session) rcpt(arg string, fields map[string]string) (string, bool) {
	d := ss.s.d
	if ss.from == nil {
		return d.needMail, true
	}
	addr, params, ok := parsePath(arg, "TO:")
	if !ok {
		return d.rcptSyntax, true
	}
	if !validAddress(addr, false) {
		return d.badRcpt, true
	}
	fields["to"] = service.Printable(addr, maxField)
	if bad, msg := ss.checkParams(params, false); bad {
		return msg, true
	}
	local, domain := splitAddress(addr)
	foreign := !ss.s.isLocalDomain(domain)
	if foreign && !ss.s.relay {
		fields["outcome"] = "relay_denied"
		return d.relay(addr), true
	}
	if !foreign && !ss.s.hasMailbox(local) {
		fields["outcome"] = "unknown_user"
		return d.unknownRcp(addr), true
	}
	if len(ss.rcpts) >= d.maxRcpt {
		return d.tooManyRcpt, true
	}
	ss.rcpts = append(ss.rcpts, addr)
	fields["outcome"] = "accepted"
	if foreign {
		fields["outcome"] = "relayed"
	}
	return d.rcptOK, false
}

func (ss *session) vrfy(arg string, fields map[string]string) (string, bool) {
	d := ss.s.d
	if arg == "" {
		return d.vrfySyn, d.name == "postfix"
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(arg, "<"), ">")
	local, domain := splitAddress(addr)
	fields["to"] = service.Printable(addr, maxField)
	if domain != "" && !ss.s.isLocalDomain(domain) {
		if d.name == "postfix" {
			return "252 2.0.0 " + addr, false
		}
		return d.vrfy(local, addr, false), false
	}
	known := ss.s.hasMailbox(local)
	return d.vrfy(local, addr, known), !known && d.name == "postfix"
}

func (s *server) isLocalDomain(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if domain == "" {
		return true // a bare local part ("postmaster") is local
	}
	host := strings.ToLower(s.host)
	return domain == s.domain || domain == host || domain == "localhost" || domain == "localhost."+s.domain
}

func (s *server) hasMailbox(local string) bool {
	if s.acceptAny {
		return true
	}
	local = strings.ToLower(local)
	if i := strings.IndexByte(local, '+'); i > 0 { // recipient_delimiter
		local = local[:i]
	}
	return s.mailboxes[local]
}

// dataCmd handles DATA and the message that follows.
func (ss *session) dataCmd(fields map[string]string) error {
	d := ss.s.d
	switch {
	case ss.bdat != nil:
		return ss.simple(fields, d.dataBdatMix, true)
	case ss.from == nil && d.name == "postfix":
		return ss.simple(fields, d.needRcpt, true)
	case len(ss.rcpts) == 0:
		return ss.simple(fields, d.noValidRcpt, true)
	}
	ss.emitCmd(fields, d.data)
	ss.reply(d.data)
	msg := newMessageSink(ss.s, ss.s.maxSize)
	// The message is streamed in buffer-sized fragments, so a line of any length
	// costs no more memory than the reader's buffer; dot-unstuffing and the end
	// marker only apply at the start of a line.
	atStart := true
	for {
		frag, err := ss.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			msg.abort()
			if isTimeout(err) {
				ss.reply(d.timeout(ss.s.host))
			}
			return err
		}
		if atStart && len(frag) > 0 && frag[0] == '.' {
			if string(frag) == ".\r\n" || string(frag) == ".\n" {
				break
			}
			frag = frag[1:]
		}
		msg.write(frag)
		atStart = err == nil
	}
	return ss.finishMessage(msg, "data")
}

// simple answers a command with one reply, counting it as an error when fail.
func (ss *session) simple(fields map[string]string, answer string, fail bool) error {
	ss.emitCmd(fields, answer)
	ss.reply(answer)
	if fail && ss.countError() {
		return errHangup
	}
	return nil
}

// finishMessage records a received message and answers its end.
func (ss *session) finishMessage(msg *messageSink, via string) error {
	d := ss.s.d
	sum, size, stored, err := msg.close()
	f := map[string]string{
		"from":    service.Printable(*ss.from, maxField),
		"to":      service.Printable(strings.Join(ss.rcpts, ","), 4*maxField),
		"subject": service.Printable(msg.subject(), maxField),
		"size":    strconv.FormatInt(size, 10),
		"sha256":  sum,
		"stored":  strconv.FormatBool(stored),
		"helo":    service.Printable(ss.helo, maxField),
		"via":     via,
		"kind":    "mail",
	}
	if len(ss.rcpts) > 0 {
		f["rcpt_count"] = strconv.Itoa(len(ss.rcpts))
	}
	if ss.s.relay {
		f["relay"] = strconv.FormatBool(ss.relayed())
		if ss.authed {
			f["authenticated"] = "true"
		}
	}
	var answer string
	if msg.over {
		answer = d.tooBig
		f["outcome"] = "too_big"
	} else {
		id := d.queueID()
		answer = d.queued(id)
		f["queue_id"] = id
		f["outcome"] = "queued"
	}
	if err != nil {
		f["error"] = err.Error()
	}
	ss.emit(event.FileUpload, f, "")
	ss.reply(answer)
	ss.from, ss.rcpts = nil, nil
	return nil
}

// messageSink streams a message into the artifact store while keeping its header
// for the Subject, never holding more than maxHeaderKeep bytes itself.
type messageSink struct {
	pw     *io.PipeWriter
	done   chan saveResult
	head   []byte
	inHead bool
	size   int64
	limit  int64
	over   bool
}

type saveResult struct {
	sum    string
	size   int64
	stored bool
	err    error
}

func newMessageSink(s *server, limit int64) *messageSink {
	pr, pw := io.Pipe()
	m := &messageSink{pw: pw, done: make(chan saveResult, 1), inHead: true, limit: limit}
	go func() {
		var r saveResult
		r.sum, r.size, r.stored, r.err = s.save(pr)
		pr.CloseWithError(io.ErrClosedPipe)
		m.done <- r
	}()
	return m
}

func (m *messageSink) write(b []byte) {
	m.size += int64(len(b))
	if m.size > m.limit {
		m.over = true
	}
	if m.over {
		return
	}
	if m.inHead {
		if room := maxHeaderKeep - len(m.head); room > 0 {
			m.head = append(m.head, b[:min(room, len(b))]...)
		}
		if bytes.HasSuffix(m.head, []byte("\r\n\r\n")) || len(m.head) >= maxHeaderKeep {
			m.inHead = false
		}
	}
	m.pw.Write(b)
}

func (m *messageSink) abort() {
	m.pw.CloseWithError(errors.New("client went away during the message"))
	<-m.done
}

func (m *messageSink) close() (string, int64, bool, error) {
	m.pw.Close()
	r := <-m.done
	if m.over {
		// The message was cut at the size limit: report what the client sent.
		return r.sum, m.size, false, nil
	}
	return r.sum, r.size, r.stored, r.err
}

// subject returns the message's Subject header, unfolded.
func (m *messageSink) subject() string {
	tr := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(m.head), strings.NewReader("\r\n\r\n"))))
	h, _ := tr.ReadMIMEHeader()
	return h.Get("Subject")
}

// bdatState is a CHUNKING (RFC 3030) transfer in progress.
type bdatState struct{ msg *messageSink }

func (ss *session) closeBDAT() {
	if ss.bdat != nil {
		ss.bdat.msg.abort()
		ss.bdat = nil
	}
}

// bdatCmd handles BDAT size [LAST]: exactly size bytes follow the command line.
func (ss *session) bdatCmd(arg string, fields map[string]string) error {
	d := ss.s.d
	parts := strings.Fields(arg)
	var n int64 = -1
	if len(parts) >= 1 {
		if v, err := strconv.ParseInt(parts[0], 10, 64); err == nil && v >= 0 {
			n = v
		}
	}
	last := len(parts) == 2 && strings.EqualFold(parts[1], "LAST")
	if n < 0 || len(parts) > 2 || (len(parts) == 2 && !last) {
		return ss.simple(fields, d.bdatSyntax, true)
	}
	fields["size"] = strconv.FormatInt(n, 10)
	// The chunk is read (and dropped when refused) so the stream stays in sync.
	var refuse string
	switch {
	case ss.from == nil && d.name == "postfix":
		refuse = d.needRcpt
	case len(ss.rcpts) == 0:
		refuse = d.noValidRcpt
	}
	if refuse != "" {
		if _, err := io.CopyN(io.Discard, ss.r, n); err != nil {
			return err
		}
		return ss.simple(fields, refuse, true)
	}
	if ss.bdat == nil {
		ss.bdat = &bdatState{msg: newMessageSink(ss.s, ss.s.maxSize)}
	}
	buf := make([]byte, 32<<10)
	for left := n; left > 0; {
		k, err := ss.r.Read(buf[:min(int64(len(buf)), left)])
		if k > 0 {
			ss.bdat.msg.write(buf[:k])
			left -= int64(k)
		}
		if err != nil {
			return err
		}
	}
	if !last {
		return ss.simple(fields, d.bdatChunk(n), false)
	}
	ss.emitCmd(fields, "")
	msg := ss.bdat.msg
	ss.bdat = nil
	return ss.finishMessage(msg, "bdat")
}

// auth handles AUTH PLAIN and AUTH LOGIN. No login ever succeeds: every attempt
// is a captured credential and answered with the MTA's failure text.
func (ss *session) auth(arg string, fields map[string]string) error {
	d := ss.s.d
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	fields["command"] = "AUTH " + service.Printable(mech, 64)
	if initial != "" {
		fields["command"] += " ****" // the credential goes in the auth event, not here
	}
	switch {
	case ss.helo == "" || !ss.esmtp && d.name == "exim":
		return ss.simple(fields, d.authNoHelo, true)
	case ss.from != nil:
		return ss.simple(fields, d.authInMail, true)
	case ss.authed:
		return ss.simple(fields, d.authAgain, true)
	case mech == "":
		return ss.simple(fields, d.authSyntax, true)
	case mech != "PLAIN" && mech != "LOGIN":
		return ss.simple(fields, d.authMech, true)
	}
	ss.emitCmd(fields, "")
	var user, pass, authz []byte
	switch mech {
	case "PLAIN":
		resp, ok, err := ss.saslStep(initial, "334 ")
		if err != nil || !ok {
			return err
		}
		parts := bytes.SplitN(resp, []byte{0}, 3)
		if len(parts) != 3 {
			ss.emitAuth(mech, resp, nil, nil, "malformed PLAIN response")
			ss.reply(d.authFail)
			return ss.afterAuthFail()
		}
		authz, user, pass = parts[0], parts[1], parts[2]
	case "LOGIN":
		var ok bool
		var err error
		if user, ok, err = ss.saslStep(initial, "334 VXNlcm5hbWU6"); err != nil || !ok {
			return err
		}
		if pass, ok, err = ss.saslStep("", "334 UGFzc3dvcmQ6"); err != nil || !ok {
			return err
		}
	}
	ss.emitAuth(mech, user, pass, authz, "")
	if ss.s.relay {
		ss.authed = true
		ss.reply(d.authOK)
		return nil
	}
	ss.reply(d.authFail)
	return ss.afterAuthFail()
}

// relayed reports whether a recipient of the current transaction is foreign.
func (ss *session) relayed() bool {
	for _, r := range ss.rcpts {
		if _, domain := splitAddress(r); !ss.s.isLocalDomain(domain) {
			return true
		}
	}
	return false
}

func (ss *session) afterAuthFail() error {
	ss.authTry++
	if ss.countError() {
		return errHangup
	}
	return nil
}

// saslStep returns the client's decoded response: the initial response when one
// was given ("=" is an empty one), else the answer to the challenge prompt. ok is
// false when the exchange was cancelled or malformed (already answered).
func (ss *session) saslStep(initial, prompt string) ([]byte, bool, error) {
	d := ss.s.d
	text := initial
	if text == "" {
		ss.reply(prompt)
		line, tooLong, err := service.ReadLine(ss.r, maxCommandLine*6)
		if err != nil {
			return nil, false, err
		}
		if tooLong {
			ss.reply(d.lineLong)
			return nil, false, ss.afterAuthFail()
		}
		text = string(line)
	}
	if text == "*" {
		ss.reply(d.authAbort)
		return nil, false, ss.afterAuthFail()
	}
	if text == "=" {
		return []byte{}, true, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		ss.reply(d.authDecode)
		return nil, false, ss.afterAuthFail()
	}
	return b, true, nil
}

func (ss *session) emitAuth(mech string, user, pass, authz []byte, problem string) {
	f := map[string]string{
		"mechanism":   mech,
		"secret_kind": "plaintext",
		"outcome":     "failure",
		"helo":        service.Printable(ss.helo, maxField),
	}
	service.SetPrintableLimit(f, "username", string(user), maxCredential)
	if pass != nil {
		f["password"] = service.Printable(string(pass), maxCredential)
		f["secret_b64"] = base64.StdEncoding.EncodeToString(clip(pass, maxCredential))
	} else {
		// A malformed PLAIN response is kept whole: it is the secret.
		f["secret_b64"] = base64.StdEncoding.EncodeToString(clip(user, maxCredential))
		delete(f, "username")
	}
	if len(authz) > 0 {
		f["authzid"] = service.Printable(string(authz), maxCredential)
	}
	if len(user) > maxCredential || len(pass) > maxCredential {
		f["truncated"] = "true"
	}
	if problem != "" {
		f["error"] = problem
	} else if ss.s.relay {
		f["outcome"] = "success" // an open relay takes any credential
	}
	if ss.tlsOn {
		f["tls"] = "true"
	}
	ss.emit(event.Auth, f, "")
}

// startTLS upgrades the connection when the persona offers STARTTLS.
func (ss *session) startTLS(arg string, fields map[string]string) error {
	d := ss.s.d
	nc, isConn := ss.conn.(net.Conn)
	switch {
	case ss.s.tls == nil || ss.tlsOn || !isConn:
		return ss.simple(fields, d.tlsNotAvail, true)
	case arg != "":
		return ss.simple(fields, d.tlsSyntax, true)
	}
	ss.emitCmd(fields, d.tlsReady)
	ss.reply(d.tlsReady)
	if ss.r.Buffered() > 0 {
		// Commands pipelined after STARTTLS would be a plaintext injection
		// (CVE-2011-0411); Postfix drops them, and so do we.
		ss.r.Discard(ss.r.Buffered())
	}
	tc := tls.Server(nc, ss.s.tls)
	hctx, cancel := context.WithTimeout(ss.ctx, 30*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		ss.emit(event.Error, map[string]string{"error": "TLS handshake failed: " + service.Printable(err.Error(), maxField)}, "")
		return err
	}
	st := tc.ConnectionState()
	ss.emit(event.Fingerprint, map[string]string{"tls_version": tls.VersionName(st.Version), "cipher": tls.CipherSuiteName(st.CipherSuite), "sni": service.Printable(st.ServerName, 256)}, "")
	ss.conn = tc
	ss.r = bufio.NewReaderSize(tc, 4096)
	ss.w = bufio.NewWriter(tc)
	ss.tlsOn = true
	ss.helo, ss.esmtp, ss.authed = "", false, false
	ss.resetTx()
	return nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
