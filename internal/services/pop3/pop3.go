package pop3

// POP3 is written by hand: it is a small line protocol (RFC 1939, 2449, 5034),
// and no maintained Go POP3 server library lets us answer with Dovecot's exact
// texts and capture every credential form. The parser is bounded and fuzzed
// (fuzz_test.go).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/mailbait"
)

const (
	maxLine       = 4096 // longer lines end the session, as Dovecot's input buffer does
	maxCredential = 1024
	maxField      = 1024
)

// authFailureDelay is Dovecot's auth_failure_delay: a failed login is answered
// after it. Tests shorten it.
var authFailureDelay = 2 * time.Second

type emitFunc func(typ string, fields map[string]string, msg string)

// dialect holds what differs between the POP3 servers we imitate.
type dialect struct {
	name                                    string
	greeting                                string
	capaPre, capaPost                       []string
	capaHead                                string
	userOK, authFailed, noUser, unknownPre  string
	loggedIn, quitPre, quitPost, tooMany    string
	noTLS, lineLong, noAPOP, badMech, abort string
	badB64, deleted, dele                   string
	maxBad                                  int
	unknownPost                             func(cmd string) string
	noMsg                                   func(n string) string
	hasAuth                                 bool
}

func dovecot(vendor string) *dialect {
	return &dialect{
		name:     "dovecot",
		greeting: "+OK Dovecot" + vendor + " ready.",
		capaHead: "+OK",
		capaPre:  []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "SASL PLAIN LOGIN"},
		capaPost: []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"},
		userOK:   "+OK", authFailed: "-ERR [AUTH] Authentication failed.", noUser: "-ERR No username given.",
		unknownPre: "-ERR Unknown command.", loggedIn: "+OK Logged in.", quitPre: "+OK Logging out",
		quitPost: "+OK Logging out.", tooMany: "-ERR Too many invalid commands.",
		noTLS: "-ERR TLS support isn't enabled.", lineLong: "-ERR Input line too long.",
		noAPOP: "-ERR APOP not enabled.", badMech: "-ERR Unsupported authentication mechanism.",
		abort: "-ERR Authentication aborted by client.", badB64: "-ERR Invalid base64 data in continued response",
		deleted: "-ERR Message is deleted.", dele: "+OK Marked to be deleted.",
		maxBad:      3, // CLIENT_MAX_BAD_COMMANDS of the login process
		unknownPost: func(cmd string) string { return "-ERR Unknown command: " + cmd },
		noMsg:       func(n string) string { return "-ERR There's no message " + n + "." },
		hasAuth:     true,
	}
}

func courier() *dialect {
	return &dialect{
		name:     "courier",
		greeting: "+OK Hello there.",
		capaHead: "+OK Here's what I can do:",
		capaPre:  []string{"TOP", "USER", "LOGIN-DELAY 10", "PIPELINING", "UIDL", "IMPLEMENTATION Courier Mail Server"},
		capaPost: []string{"TOP", "USER", "LOGIN-DELAY 10", "PIPELINING", "UIDL", "IMPLEMENTATION Courier Mail Server"},
		userOK:   "+OK Password required.", authFailed: "-ERR Login failed.", noUser: "-ERR Invalid command.",
		unknownPre: "-ERR Invalid command.", loggedIn: "+OK logged in.", quitPre: "+OK Better luck next time.",
		quitPost: "+OK Bye-bye.", tooMany: "-ERR Too many invalid commands.",
		noTLS: "-ERR Invalid command.", lineLong: "-ERR Invalid command.",
		noAPOP: "-ERR Invalid command.", badMech: "-ERR Invalid command.",
		abort: "-ERR Invalid command.", badB64: "-ERR Invalid command.",
		deleted: "-ERR Invalid message number.", dele: "+OK Deleted.",
		maxBad:      10,
		unknownPost: func(string) string { return "-ERR Invalid command." },
		noMsg:       func(string) string { return "-ERR Invalid message number." },
	}
}

type server struct {
	d     *dialect
	host  string
	apop  bool
	users map[string]string
	box   []mailbait.Message
}

type session struct {
	s       *server
	ctx     context.Context
	r       *bufio.Reader
	w       *bufio.Writer
	emit    emitFunc
	user    *string
	authed  string
	bad     int
	deleted map[int]bool
	chall   string
}

var errHangup = errors.New("session over")

// serveConn speaks POP3 on conn until QUIT, too many bad commands or the end of
// the connection.
func (s *server) serveConn(ctx context.Context, conn io.ReadWriter, emit emitFunc) {
	ss := &session{s: s, ctx: ctx, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriter(conn), emit: emit, deleted: map[int]bool{}}
	greet := s.d.greeting
	if s.apop {
		ss.chall = apopChallenge(s.host)
		greet += " " + ss.chall
	}
	ss.send(greet)
	defer ss.w.Flush()
	for ctx.Err() == nil {
		line, tooLong, err := ss.readLine()
		if err != nil {
			return
		}
		if tooLong {
			ss.emit(event.Command, map[string]string{"command": service.Printable(string(line), maxField), "truncated": "true"}, "")
			ss.send(s.d.lineLong)
			return
		}
		if err := ss.command(line); err != nil {
			return
		}
	}
}

// apopChallenge makes Dovecot's APOP timestamp: <pid.connection.time.random@host>.
func apopChallenge(host string) string {
	pid, _ := rand.Int(rand.Reader, big.NewInt(60000))
	nonce := make([]byte, 6)
	rand.Read(nonce)
	return fmt.Sprintf("<%x.%x.%x.%s@%s>", pid.Int64()+300, 1, time.Now().Unix(), base64.RawURLEncoding.EncodeToString(nonce), host)
}

// send queues reply lines; they leave together when the session next reads (or
// ends), so a multi-line answer is one write as Dovecot's is. Clients such as
// hydra parse CAPA from a single read and stall when it arrives in pieces.
func (ss *session) send(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
}

// readLine flushes the queued replies, then reads the client's next line.
func (ss *session) readLine() (line []byte, tooLong bool, err error) {
	if err := ss.w.Flush(); err != nil {
		return nil, false, err
	}
	return service.ReadLine(ss.r, maxLine)
}

// badCommand answers an invalid command; true means the session is over.
func (ss *session) badCommand(answer string) bool {
	ss.send(answer)
	ss.bad++
	if ss.authed == "" && ss.bad >= ss.s.d.maxBad {
		ss.send(ss.s.d.tooMany)
		return true
	}
	return false
}

func (ss *session) command(raw []byte) error {
	d := ss.s.d
	verb, arg, _ := strings.Cut(string(raw), " ")
	verb = strings.ToUpper(verb)
	fields := map[string]string{"command": service.Printable(string(raw), maxField)}
	if verb == "PASS" || verb == "APOP" || verb == "AUTH" {
		// Credentials go in the auth event, not in the command log.
		fields["command"] = verb + " ****"
		if verb == "AUTH" {
			mech, _, _ := strings.Cut(arg, " ")
			fields["command"] = "AUTH " + service.Printable(mech, 64)
		}
	}
	if len(raw) > maxField {
		fields["truncated"] = "true"
	}
	if ss.authed != "" {
		fields["username"] = service.Printable(ss.authed, maxField)
	}
	ss.emit(event.Command, fields, "")
	if ss.authed != "" {
		return ss.transaction(verb, arg)
	}
	switch verb {
	case "CAPA":
		ss.send(d.capaHead)
		ss.send(d.capaPre...)
		ss.send(".")
	case "USER":
		if arg == "" {
			if ss.badCommand(d.noUser) {
				return errHangup
			}
			return nil
		}
		u := arg
		ss.user = &u
		ss.send(d.userOK)
	case "PASS":
		if ss.user == nil {
			if ss.badCommand(d.noUser) {
				return errHangup
			}
			return nil
		}
		user := *ss.user
		ss.user = nil
		return ss.login("USER", []byte(user), []byte(arg), nil)
	case "APOP":
		if ss.chall == "" {
			if ss.badCommand(d.noAPOP) {
				return errHangup
			}
			return nil
		}
		user, digest, ok := strings.Cut(arg, " ")
		if !ok || user == "" {
			if ss.badCommand("-ERR Invalid parameters.") {
				return errHangup
			}
			return nil
		}
		return ss.apop(user, strings.TrimSpace(digest))
	case "AUTH":
		if !d.hasAuth {
			if ss.badCommand(d.unknownPre) {
				return errHangup
			}
			return nil
		}
		return ss.auth(arg)
	case "STLS":
		if ss.badCommand(d.noTLS) {
			return errHangup
		}
	case "QUIT":
		ss.send(d.quitPre)
		return errHangup
	case "NOOP":
		ss.send("+OK")
	default:
		if ss.badCommand(d.unknownPre) {
			return errHangup
		}
	}
	return nil
}

// login checks a credential, records it and answers. mech is USER, PLAIN or LOGIN.
func (ss *session) login(mech string, user, pass, authz []byte) error {
	want, known := ss.s.users[string(user)]
	ok := known && want == string(pass)
	f := credFields(mech, user)
	f["password"] = service.Printable(string(pass), maxCredential)
	f["secret_b64"] = base64.StdEncoding.EncodeToString(clip(pass, maxCredential))
	f["secret_kind"] = "plaintext"
	if len(authz) > 0 {
		f["authzid"] = service.Printable(string(authz), maxCredential)
	}
	if len(pass) > maxCredential {
		f["truncated"] = "true"
	}
	return ss.finishLogin(f, ok, string(user))
}

func credFields(mech string, user []byte) map[string]string {
	f := map[string]string{"mechanism": mech}
	service.SetPrintableLimit(f, "username", string(user), maxCredential)
	if len(user) > maxCredential {
		f["truncated"] = "true"
	}
	return f
}

func (ss *session) finishLogin(f map[string]string, ok bool, user string) error {
	if ok {
		f["outcome"] = "success"
		ss.emit(event.Auth, f, "")
		ss.authed = user
		ss.bad = 0
		ss.send(ss.s.d.loggedIn)
		return nil
	}
	f["outcome"] = "failure"
	ss.emit(event.Auth, f, "")
	select {
	case <-time.After(authFailureDelay):
	case <-ss.ctx.Done():
		return errHangup
	}
	ss.send(ss.s.d.authFailed)
	return nil
}

// apop records an APOP attempt: the digest is MD5(challenge + password), so the
// event carries it in hashcat's -m 20 (md5($salt.$pass)) form "digest:challenge".
func (ss *session) apop(user, digest string) error {
	f := credFields("APOP", []byte(user))
	d := strings.ToLower(digest)
	f["secret_kind"] = "apop"
	f["challenge"] = ss.chall
	f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(clip([]byte(digest), maxCredential)))
	if raw, err := hex.DecodeString(d); err == nil && len(raw) == 16 {
		f["hash"] = d + ":" + ss.chall
		f["hashcat_mode"] = "20"
	} else {
		f["error"] = "digest is not 32 hex digits"
	}
	ok := false
	if pw, known := ss.s.users[user]; known {
		ok = apopDigest(ss.chall, pw) == d
	}
	return ss.finishLogin(f, ok, user)
}

// auth runs AUTH [mechanism [initial-response]] (RFC 5034).
func (ss *session) auth(arg string) error {
	d := ss.s.d
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch mech {
	case "":
		ss.send("+OK", "PLAIN", "LOGIN", ".")
		return nil
	case "PLAIN":
		resp, ok, err := ss.saslStep(initial, "+ ")
		if err != nil || !ok {
			return err
		}
		parts := bytes.SplitN(resp, []byte{0}, 3)
		if len(parts) != 3 {
			f := map[string]string{"mechanism": "PLAIN", "secret_b64": base64.StdEncoding.EncodeToString(clip(resp, maxCredential)), "secret_kind": "plaintext", "error": "malformed PLAIN response"}
			return ss.finishLogin(f, false, "")
		}
		return ss.login("PLAIN", parts[1], parts[2], parts[0])
	case "LOGIN":
		user, ok, err := ss.saslStep(initial, "+ VXNlcm5hbWU6")
		if err != nil || !ok {
			return err
		}
		pass, ok, err := ss.saslStep("", "+ UGFzc3dvcmQ6")
		if err != nil || !ok {
			return err
		}
		return ss.login("LOGIN", user, pass, nil)
	}
	if ss.badCommand(d.badMech) {
		return errHangup
	}
	return nil
}

func (ss *session) saslStep(initial, prompt string) ([]byte, bool, error) {
	d := ss.s.d
	text := initial
	if text == "" {
		ss.send(prompt)
		line, tooLong, err := ss.readLine()
		if err != nil {
			return nil, false, err
		}
		if tooLong {
			ss.send(d.lineLong)
			return nil, false, errHangup
		}
		text = string(line)
	}
	switch text {
	case "*":
		ss.send(d.abort)
		return nil, false, nil
	case "=":
		return []byte{}, true, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		if ss.badCommand(d.badB64) {
			return nil, false, errHangup
		}
		return nil, false, nil
	}
	return b, true, nil
}

// transaction handles commands after login, on the bait mailbox.
func (ss *session) transaction(verb, arg string) error {
	d := ss.s.d
	box := ss.s.box
	switch verb {
	case "STAT":
		n, size := 0, 0
		for i, m := range box {
			if !ss.deleted[i] {
				n++
				size += len(m.Body)
			}
		}
		ss.send(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST", "UIDL":
		if arg != "" {
			i, ok := ss.msgIndex(arg)
			if !ok {
				return nil
			}
			if verb == "LIST" {
				ss.send(fmt.Sprintf("+OK %d %d", i+1, len(box[i].Body)))
			} else {
				ss.send(fmt.Sprintf("+OK %d %s", i+1, box[i].UID))
			}
			return nil
		}
		var lines []string
		n := 0
		for i, m := range box {
			if ss.deleted[i] {
				continue
			}
			n++
			if verb == "LIST" {
				lines = append(lines, fmt.Sprintf("%d %d", i+1, len(m.Body)))
			} else {
				lines = append(lines, fmt.Sprintf("%d %s", i+1, m.UID))
			}
		}
		head := "+OK"
		if verb == "LIST" && d.name == "dovecot" {
			head = fmt.Sprintf("+OK %d messages:", n)
		}
		ss.send(head)
		ss.send(lines...)
		ss.send(".")
	case "RETR", "TOP":
		num, rest, _ := strings.Cut(arg, " ")
		i, ok := ss.msgIndex(num)
		if !ok {
			return nil
		}
		body := box[i].Body
		if verb == "TOP" {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || n < 0 {
				ss.send("-ERR Invalid number of lines: " + service.Printable(rest, 64))
				return nil
			}
			body = topLines(body, n)
			ss.send("+OK")
		} else {
			ss.send(fmt.Sprintf("+OK %d octets", len(body)))
		}
		ss.w.Write(dotStuff(body))
		ss.send(".")
	case "DELE":
		i, ok := ss.msgIndex(arg)
		if !ok {
			return nil
		}
		ss.deleted[i] = true
		ss.send(d.dele)
	case "RSET":
		ss.deleted = map[int]bool{}
		ss.send("+OK")
	case "NOOP":
		ss.send("+OK")
	case "CAPA":
		ss.send(d.capaHead)
		ss.send(d.capaPost...)
		ss.send(".")
	case "QUIT":
		// Deletions are never carried out: the bait stays for the next visitor.
		ss.send(d.quitPost)
		return errHangup
	default:
		ss.send(d.unknownPost(service.Printable(verb, 64)))
	}
	return nil
}

// msgIndex parses a message number and answers the error itself when it is bad.
func (ss *session) msgIndex(arg string) (int, bool) {
	arg = strings.TrimSpace(arg)
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 {
		if ss.s.d.name == "dovecot" {
			ss.send("-ERR Invalid message number: " + service.Printable(arg, 64))
		} else {
			ss.send(ss.s.d.noMsg(arg))
		}
		return 0, false
	}
	if n > len(ss.s.box) {
		ss.send(ss.s.d.noMsg(strconv.Itoa(n)))
		return 0, false
	}
	if ss.deleted[n-1] {
		ss.send(ss.s.d.deleted)
		return 0, false
	}
	return n - 1, true
}

// topLines returns the header, the blank line and the first n body lines.
func topLines(msg []byte, n int) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return msg
	}
	end += 4
	rest := msg[end:]
	for i := 0; i < n && len(rest) > 0; i++ {
		j := bytes.Index(rest, []byte("\r\n"))
		if j < 0 {
			return msg
		}
		rest = rest[j+2:]
	}
	return msg[:len(msg)-len(rest)]
}

// dotStuff prepares a message for a multi-line response: a leading dot doubled and
// the text ending in CRLF.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.SplitAfter(msg, []byte("\r\n")) {
		if len(l) == 0 {
			continue
		}
		if l[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(l)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) && b.Len() > 0 {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// apopDigest is RFC 1939's APOP digest: hex MD5 of the challenge followed by
// the shared secret.
func apopDigest(challenge, password string) string {
	sum := md5.Sum([]byte(challenge + password))
	return hex.EncodeToString(sum[:])
}
