package imap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	maxCredential = 1024
	maxField      = 1024
	maxBad        = 3 // Dovecot's CLIENT_MAX_BAD_COMMANDS before login
)

// authFailureDelay is Dovecot's auth_failure_delay. Tests shorten it.
var authFailureDelay = 2 * time.Second

const (
	capPre  = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN"
	capPost = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)

type emitFunc func(typ string, fields map[string]string, msg string)

type server struct {
	vendor string
	users  map[string]string
	box    *mailbox
	save   func(io.Reader) (sum string, size int64, stored bool, err error)
}

type session struct {
	s        *server
	ctx      context.Context
	r        *bufio.Reader
	w        *bufio.Writer
	emit     emitFunc
	user     string // logged-in user
	selected bool
	readOnly bool
	view     []int             // the selected mailbox: indexes into s.box.msgs
	flags    []map[string]bool // per-message flags of this session, as view
	bad      int
}

var errHangup = errors.New("session over")

// serveConn speaks IMAP on conn until LOGOUT, too many bad commands or the end of
// the connection.
func (s *server) serveConn(ctx context.Context, conn io.ReadWriter, emit emitFunc) {
	ss := &session{s: s, ctx: ctx, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriter(conn), emit: emit}
	ss.send("* OK [CAPABILITY " + capPre + "] Dovecot" + s.vendor + " ready.")
	for ctx.Err() == nil {
		maxLit := int64(maxLiteralPre)
		if ss.user != "" {
			maxLit = maxLiteral
		}
		cmd, err := readCommand(ss.r, maxLit, func() { ss.send("+ OK") })
		if errors.Is(err, errTooLong) {
			ss.emit(event.Command, map[string]string{"command": service.Printable(string(cmd), maxField), "truncated": "true"}, "")
			ss.send("* BYE Too long argument.")
			return
		}
		if err != nil {
			return
		}
		if err := ss.command(cmd); err != nil {
			return
		}
	}
}

func (ss *session) send(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
	ss.w.Flush()
}

// timing is the "(0.001 + 0.000 secs)" Dovecot 2.3 appends to tagged replies of
// mailbox commands.
func timing() string {
	return fmt.Sprintf(" (0.%03d + 0.000 secs).", rand.IntN(3))
}

// badPre answers a bad command before login; true means the session is over.
func (ss *session) badPre(tag string) bool {
	if tag == "" {
		tag = "*"
	}
	ss.send(tag + " BAD Error in IMAP command received by server.")
	ss.bad++
	if ss.bad >= maxBad {
		ss.send("* BYE Too many invalid IMAP commands.")
		return true
	}
	return false
}

func (ss *session) command(raw []byte) error {
	tag, name, args, perr := parseCommand(raw)
	fields := map[string]string{"command": service.Printable(string(raw), maxField)}
	if name == "LOGIN" || name == "AUTHENTICATE" {
		fields["command"] = service.Printable(tag+" "+name, 128) + " ****" // credentials go in the auth event
		if name == "AUTHENTICATE" && len(args) > 0 {
			fields["mechanism"] = service.Printable(strings.ToUpper(args[0].s), 64)
		}
	}
	if len(raw) > maxField {
		fields["truncated"] = "true"
	}
	if ss.user != "" {
		fields["username"] = service.Printable(ss.user, maxField)
	}
	ss.emit(event.Command, fields, "")
	if perr != nil || tag == "" {
		if ss.user != "" {
			ss.send(orStar(tag) + " BAD Error in IMAP command " + service.Printable(name, 64) + ": Invalid arguments.")
			return nil
		}
		if ss.badPre(tag) {
			return errHangup
		}
		return nil
	}
	switch name {
	case "CAPABILITY":
		if ss.user == "" {
			ss.send("* CAPABILITY "+capPre, tag+" OK Pre-login capabilities listed, post-login capabilities have more.")
		} else {
			ss.send("* CAPABILITY "+capPost, tag+" OK Capability completed.")
		}
		return nil
	case "NOOP":
		ss.send(tag + " OK NOOP completed.")
		return nil
	case "LOGOUT":
		ss.send("* BYE Logging out", tag+" OK Logout completed.")
		return errHangup
	case "ID":
		ss.send(`* ID ("name" "Dovecot")`, tag+" OK ID completed.")
		return nil
	}
	if ss.user == "" {
		switch name {
		case "LOGIN":
			if len(args) != 2 {
				ss.send(tag + " BAD Invalid arguments.")
				return nil
			}
			u, ok1 := args[0].astring()
			p, ok2 := args[1].astring()
			if !ok1 || !ok2 {
				ss.send(tag + " BAD Invalid arguments.")
				return nil
			}
			return ss.login(tag, "LOGIN", []byte(u), []byte(p), nil)
		case "AUTHENTICATE":
			return ss.authenticate(tag, args)
		case "STARTTLS":
			ss.send(tag + " BAD TLS support isn't enabled.")
			return nil
		}
		if ss.badPre(tag) {
			return errHangup
		}
		return nil
	}
	return ss.authenticated(tag, name, args)
}

func orStar(tag string) string {
	if tag == "" {
		return "*"
	}
	return tag
}

// login checks and records a credential.
func (ss *session) login(tag, mech string, user, pass, authz []byte) error {
	f := map[string]string{
		"mechanism":   mech,
		"password":    service.Printable(string(pass), maxCredential),
		"secret_b64":  base64.StdEncoding.EncodeToString(clip(pass, maxCredential)),
		"secret_kind": "plaintext",
	}
	service.SetPrintableLimit(f, "username", string(user), maxCredential)
	if len(authz) > 0 {
		f["authzid"] = service.Printable(string(authz), maxCredential)
	}
	if len(user) > maxCredential || len(pass) > maxCredential {
		f["truncated"] = "true"
	}
	want, known := ss.s.users[string(user)]
	if known && want == string(pass) {
		f["outcome"] = "success"
		ss.emit(event.Auth, f, "")
		ss.user = string(user)
		ss.send(tag + " OK [CAPABILITY " + capPost + "] Logged in")
		return nil
	}
	f["outcome"] = "failure"
	ss.emit(event.Auth, f, "")
	select {
	case <-time.After(authFailureDelay):
	case <-ss.ctx.Done():
		return errHangup
	}
	ss.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
	return nil
}

// authenticate runs AUTHENTICATE PLAIN|LOGIN [initial-response] (SASL-IR).
func (ss *session) authenticate(tag string, args []arg) error {
	if len(args) < 1 || len(args) > 2 || args[0].k != atom {
		ss.send(tag + " BAD Invalid arguments.")
		return nil
	}
	mech := strings.ToUpper(args[0].s)
	initial := ""
	if len(args) == 2 {
		initial, _ = args[1].astring()
	}
	switch mech {
	case "PLAIN":
		resp, ok, err := ss.saslStep(tag, initial, "+ ")
		if err != nil || !ok {
			return err
		}
		parts := bytes.SplitN(resp, []byte{0}, 3)
		if len(parts) != 3 {
			ss.emit(event.Auth, map[string]string{"mechanism": "PLAIN", "secret_b64": base64.StdEncoding.EncodeToString(clip(resp, maxCredential)), "secret_kind": "plaintext", "outcome": "failure", "error": "malformed PLAIN response"}, "")
			ss.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
			return nil
		}
		return ss.login(tag, "PLAIN", parts[1], parts[2], parts[0])
	case "LOGIN":
		user, ok, err := ss.saslStep(tag, initial, "+ VXNlcm5hbWU6")
		if err != nil || !ok {
			return err
		}
		pass, ok, err := ss.saslStep(tag, "", "+ UGFzc3dvcmQ6")
		if err != nil || !ok {
			return err
		}
		return ss.login(tag, "LOGIN", user, pass, nil)
	}
	ss.send(tag + " NO Unsupported authentication mechanism.")
	return nil
}

func (ss *session) saslStep(tag, initial, prompt string) ([]byte, bool, error) {
	text := initial
	if text == "" {
		ss.send(prompt)
		line, tooLong, err := service.ReadLine(ss.r, maxLine)
		if err != nil {
			return nil, false, err
		}
		if tooLong {
			ss.send("* BYE Too long argument.")
			return nil, false, errHangup
		}
		text = string(line)
	}
	switch text {
	case "*":
		ss.send(tag + " BAD Authentication aborted by client.")
		return nil, false, nil
	case "=":
		return []byte{}, true, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		ss.send(tag + " BAD Invalid base64 data in continued response")
		return nil, false, nil
	}
	return b, true, nil
}

// authenticated handles commands after login.
func (ss *session) authenticated(tag, name string, args []arg) error {
	box := ss.s.box
	switch name {
	case "SELECT", "EXAMINE":
		if len(args) < 1 {
			ss.send(tag + " BAD Error in IMAP command " + name + ": Missing arguments.")
			return nil
		}
		mb, _ := args[0].astring()
		if !strings.EqualFold(mb, "INBOX") {
			ss.selected = false
			if isFolder(mb) {
				ss.selected, ss.readOnly = true, name == "EXAMINE"
				ss.send(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
					`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.`,
					"* 0 EXISTS", "* 0 RECENT", fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", box.uidValidity+1),
					"* OK [UIDNEXT 1] Predicted next UID")
				ss.send(tag + " OK [" + rw(name) + "] " + doneWord(name) + " completed" + timing())
				ss.flags, ss.view = nil, nil
				return nil
			}
			ss.send(tag + " NO Mailbox doesn't exist: " + service.Printable(mb, 256) + timing())
			return nil
		}
		ss.flags = box.initialFlags()
		ss.view = make([]int, len(box.msgs))
		for i := range ss.view {
			ss.view[i] = i
		}
		ss.selected, ss.readOnly = true, name == "EXAMINE"
		lines := []string{`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
			`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.`,
			fmt.Sprintf("* %d EXISTS", len(box.msgs)), "* 0 RECENT"}
		if u := ss.firstUnseen(); u > 0 {
			lines = append(lines, fmt.Sprintf("* OK [UNSEEN %d] First unseen.", u))
		}
		lines = append(lines, fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", box.uidValidity),
			fmt.Sprintf("* OK [UIDNEXT %d] Predicted next UID", len(box.msgs)+1))
		ss.send(lines...)
		ss.send(tag + " OK [" + rw(name) + "] " + doneWord(name) + " completed" + timing())
	case "LIST", "LSUB":
		if len(args) < 2 {
			ss.send(tag + " BAD Error in IMAP command " + name + ": Missing arguments.")
			return nil
		}
		ref, _ := args[0].astring()
		pat, _ := args[len(args)-1].astring()
		if pat == "" && name == "LIST" {
			ss.send(`* LIST (\Noselect) "/" ""`)
		} else {
			for _, f := range folders {
				if matchMailbox(ref+pat, f.name) {
					attrs := f.attrs
					if name == "LSUB" {
						attrs = ""
					}
					ss.send(fmt.Sprintf(`* %s (%s) "/" %s`, name, attrs, f.name))
				}
			}
		}
		ss.send(tag + " OK " + titleCase(name) + " completed" + timing())
	case "STATUS":
		if len(args) != 2 || args[1].k != list {
			ss.send(tag + " BAD Error in IMAP command STATUS: Invalid arguments.")
			return nil
		}
		mb, _ := args[0].astring()
		if !isFolder(mb) {
			ss.send(tag + " NO Mailbox doesn't exist: " + service.Printable(mb, 256) + timing())
			return nil
		}
		n := 0
		if strings.EqualFold(mb, "INBOX") {
			n = len(box.msgs)
		}
		var items []string
		for _, it := range args[1].list {
			switch strings.ToUpper(it.s) {
			case "MESSAGES":
				items = append(items, fmt.Sprintf("MESSAGES %d", n))
			case "RECENT":
				items = append(items, "RECENT 0")
			case "UIDNEXT":
				items = append(items, fmt.Sprintf("UIDNEXT %d", n+1))
			case "UIDVALIDITY":
				items = append(items, fmt.Sprintf("UIDVALIDITY %d", box.uidValidity))
			case "UNSEEN":
				u := 0
				if n > 0 {
					for _, f := range box.initialFlags() {
						if !f[`\Seen`] {
							u++
						}
					}
				}
				items = append(items, fmt.Sprintf("UNSEEN %d", u))
			default:
				ss.send(tag + " BAD Error in IMAP command STATUS: Invalid status item " + service.Printable(it.s, 64))
				return nil
			}
		}
		ss.send(fmt.Sprintf("* STATUS %s (%s)", quoteIfNeeded(mb), strings.Join(items, " ")), tag+" OK Status completed"+timing())
	case "NAMESPACE":
		ss.send(`* NAMESPACE (("" "/")) NIL NIL`, tag+" OK Namespace completed.")
	case "ENABLE":
		var on []string
		for _, a := range args {
			if c := strings.ToUpper(a.s); c == "CONDSTORE" || c == "QRESYNC" {
				on = append(on, c)
			}
		}
		ss.send("* ENABLED"+prefixSpace(strings.Join(on, " ")), tag+" OK Enabled.")
	case "IDLE":
		ss.send("+ idling")
		start := time.Now()
		line, _, err := service.ReadLine(ss.r, maxLine)
		if err != nil {
			return err
		}
		if !strings.EqualFold(string(line), "DONE") {
			ss.send(tag + " BAD Expected DONE.")
			return nil
		}
		ss.send(fmt.Sprintf("%s OK Idle completed (0.001 + %.3f + 0.001 secs).", tag, time.Since(start).Seconds()))
	case "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE":
		ss.send(tag + " NO [NOPERM] Permission denied")
	case "APPEND":
		return ss.appendCmd(tag, args)
	case "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "FETCH", "UID FETCH", "STORE", "UID STORE", "SEARCH", "UID SEARCH", "UID EXPUNGE", "COPY", "UID COPY", "MOVE", "UID MOVE":
		if !ss.selected {
			ss.send(tag + " BAD No mailbox selected.")
			return nil
		}
		return ss.selectedCmd(tag, name, args)
	default:
		ss.send(tag + " BAD Error in IMAP command " + service.Printable(name, 64) + ": Unknown command" + timing())
	}
	return nil
}

func rw(name string) string {
	if name == "EXAMINE" {
		return "READ-ONLY"
	}
	return "READ-WRITE"
}

func doneWord(name string) string { return titleCase(name) }

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return s[:1] + strings.ToLower(s[1:])
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func quoteIfNeeded(s string) string {
	if s != "" && !strings.ContainsAny(s, " \"\\(){%*") {
		return s
	}
	return strconv.Quote(s)
}

func (ss *session) firstUnseen() int {
	for i, f := range ss.flags {
		if !f[`\Seen`] {
			return i + 1
		}
	}
	return 0
}

// appendCmd takes a message an attacker uploads (APPEND mailbox [flags] [date]
// literal): it is kept as an artifact and answered as Dovecot does, but never
// shown in the bait mailbox.
func (ss *session) appendCmd(tag string, args []arg) error {
	if len(args) < 2 || args[len(args)-1].k != str {
		ss.send(tag + " BAD Error in IMAP command APPEND: Invalid arguments.")
		return nil
	}
	mb, _ := args[0].astring()
	if !isFolder(mb) {
		ss.send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + service.Printable(mb, 256) + timing())
		return nil
	}
	msg := args[len(args)-1].s
	sum, size, stored, err := ss.s.save(strings.NewReader(msg))
	f := map[string]string{"kind": "mail", "mailbox": service.Printable(mb, 256), "sha256": sum, "size": strconv.FormatInt(size, 10), "stored": strconv.FormatBool(stored), "username": service.Printable(ss.user, maxField)}
	if err != nil {
		f["error"] = err.Error()
	}
	ss.emit(event.FileUpload, f, "")
	ss.send(fmt.Sprintf("%s OK [APPENDUID %d %d] Append completed%s", tag, ss.s.box.uidValidity, len(ss.s.box.msgs)+1, timing()))
	return nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
