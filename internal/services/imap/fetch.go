package imap

import (
	"bytes"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	"decnet/internal/service"
	"decnet/internal/services/mailbait"
)

// folder is a mailbox LIST shows (Ubuntu's dovecot with the special-use names).
type folder struct{ name, attrs string }

var folders = []folder{
	{"INBOX", `\HasNoChildren`},
	{"Drafts", `\HasNoChildren \Drafts`},
	{"Sent", `\HasNoChildren \Sent`},
	{"Trash", `\HasNoChildren \Trash`},
	{"Junk", `\HasNoChildren \Junk`},
}

func isFolder(name string) bool {
	for _, f := range folders {
		if strings.EqualFold(name, f.name) {
			return true
		}
	}
	return false
}

// matchMailbox matches a LIST pattern (* and % wildcards; no hierarchy here).
func matchMailbox(pat, name string) bool {
	if strings.EqualFold(pat, "INBOX") {
		return name == "INBOX"
	}
	var match func(p, n string) bool
	match = func(p, n string) bool {
		for p != "" {
			if p[0] == '*' || p[0] == '%' {
				for i := 0; i <= len(n); i++ {
					if match(p[1:], n[i:]) {
						return true
					}
				}
				return false
			}
			if n == "" || p[0] != n[0] {
				return false
			}
			p, n = p[1:], n[1:]
		}
		return n == ""
	}
	return len(pat) <= 256 && strings.Count(pat, "*")+strings.Count(pat, "%") <= 8 && match(pat, name)
}

// mailbox is the bait INBOX with what FETCH needs precomputed.
type mailbox struct {
	msgs        []imapMessage
	uidValidity uint32
}

type imapMessage struct {
	raw       []byte
	header    []byte // including the blank line
	text      []byte
	date      time.Time
	envelope  string
	structure string // BODYSTRUCTURE
	body      string // BODY
	seen      bool
}

func newMailbox(msgs []mailbait.Message) *mailbox {
	mb := &mailbox{}
	for i, m := range msgs {
		if i == 0 {
			mb.uidValidity = uint32(m.Date.Unix() - 3600)
		}
		im := imapMessage{raw: m.Body, date: m.Date, seen: i > 0}
		if end := bytes.Index(m.Body, []byte("\r\n\r\n")); end >= 0 {
			im.header, im.text = m.Body[:end+4], m.Body[end+4:]
		} else {
			im.header = m.Body
		}
		im.envelope = envelope(m.Body)
		lines := bytes.Count(im.text, []byte("\n"))
		im.body = fmt.Sprintf(`("text" "plain" ("charset" "UTF-8") NIL NIL "8bit" %d %d)`, len(im.text), lines)
		im.structure = fmt.Sprintf(`("text" "plain" ("charset" "UTF-8") NIL NIL "8bit" %d %d NIL NIL NIL NIL)`, len(im.text), lines)
		mb.msgs = append(mb.msgs, im)
	}
	return mb
}

// initialFlags is the flags a new session sees: the first message unread.
func (mb *mailbox) initialFlags() []map[string]bool {
	out := make([]map[string]bool, len(mb.msgs))
	for i, m := range mb.msgs {
		out[i] = map[string]bool{}
		if m.seen {
			out[i][`\Seen`] = true
		}
	}
	return out
}

// nstring renders an IMAP nstring: NIL, a quoted string, or a literal.
func nstring(s string) string {
	if s == "" {
		return "NIL"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return fmt.Sprintf("{%d}\r\n%s", len(s), s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func envelope(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
	}
	h := m.Header
	addrs := func(name string) string {
		list, err := h.AddressList(name)
		if err != nil || len(list) == 0 {
			return "NIL"
		}
		var b strings.Builder
		b.WriteString("(")
		for _, a := range list {
			local, host, _ := strings.Cut(a.Address, "@")
			fmt.Fprintf(&b, "(%s NIL %s %s)", nstring(a.Name), nstring(local), nstring(host))
		}
		b.WriteString(")")
		return b.String()
	}
	from := addrs("From")
	sender, replyTo := addrs("Sender"), addrs("Reply-To")
	if sender == "NIL" {
		sender = from
	}
	if replyTo == "NIL" {
		replyTo = from
	}
	return fmt.Sprintf("(%s %s %s %s %s %s %s %s %s %s)", nstring(h.Get("Date")), nstring(h.Get("Subject")),
		from, sender, replyTo, addrs("To"), addrs("Cc"), addrs("Bcc"), nstring(h.Get("In-Reply-To")), nstring(h.Get("Message-ID")))
}

// view is the session's selected mailbox: message i of the view is ss.s.box.msgs[ss.view[i]].
func (ss *session) viewMsg(i int) *imapMessage { return &ss.s.box.msgs[ss.view[i]] }

func (ss *session) uidOf(i int) uint32 { return uint32(ss.view[i] + 1) }

// matching returns the view positions a sequence set (or UID set) names.
func (ss *session) matching(set seqSet, uid bool) []int {
	var out []int
	n := len(ss.view)
	for i := 0; i < n; i++ {
		if uid {
			max := uint32(0)
			if n > 0 {
				max = ss.uidOf(n - 1)
			}
			if set.contains(ss.uidOf(i), max) {
				out = append(out, i)
			}
		} else if set.contains(uint32(i+1), uint32(n)) {
			out = append(out, i)
		}
	}
	return out
}

func flagList(f map[string]bool) string {
	order := []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}
	var out []string
	for _, k := range order {
		if f[k] {
			out = append(out, k)
		}
	}
	var extra []string
	for k := range f {
		if f[k] && !strings.HasPrefix(k, `\`) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return "(" + strings.Join(append(out, extra...), " ") + ")"
}

// selectedCmd handles commands that need a selected mailbox.
func (ss *session) selectedCmd(tag, name string, args []arg) error {
	uid := strings.HasPrefix(name, "UID ")
	base := strings.TrimPrefix(name, "UID ")
	bad := func(why string) error {
		ss.send(tag + " BAD Error in IMAP command " + base + ": " + why)
		return nil
	}
	switch base {
	case "CHECK":
		ss.send(tag + " OK Check completed" + timing())
		return nil
	case "CLOSE", "UNSELECT":
		ss.selected, ss.view, ss.flags = false, nil, nil
		ss.send(tag + " OK " + titleCase(base) + " completed.")
		return nil
	case "EXPUNGE":
		ss.expunge(nil)
		ss.send(tag + " OK Expunge completed" + timing())
		return nil
	case "SEARCH":
		hits, err := ss.search(args, uid)
		if err != nil {
			return bad(err.Error())
		}
		ss.send("* SEARCH"+prefixSpace(strings.Join(hits, " ")), tag+" OK Search completed"+timing())
		return nil
	}
	if len(args) < 1 || args[0].k != atom {
		return bad("Invalid arguments.")
	}
	set, err := parseSeqSet(args[0].s)
	if err != nil {
		return bad("Invalid messageset")
	}
	sel := ss.matching(set, uid)
	switch base {
	case "FETCH":
		if len(args) < 2 {
			return bad("Invalid arguments.")
		}
		items, err := fetchItems(args[1], uid)
		if err != nil {
			return bad(err.Error())
		}
		for _, i := range sel {
			ss.w.WriteString(ss.fetchOne(i, items))
		}
		ss.send(tag + " OK Fetch completed" + timing())
	case "STORE":
		if len(args) < 3 {
			return bad("Invalid arguments.")
		}
		if ss.readOnly {
			ss.send(tag + " NO Mailbox is read-only.")
			return nil
		}
		op := strings.ToUpper(args[1].s)
		silent := strings.HasSuffix(op, ".SILENT")
		op = strings.TrimSuffix(op, ".SILENT")
		if op != "FLAGS" && op != "+FLAGS" && op != "-FLAGS" {
			return bad("Invalid arguments.")
		}
		var flags []string
		for _, a := range args[2:] {
			if a.k == list {
				for _, x := range a.list {
					flags = append(flags, x.s)
				}
			} else {
				flags = append(flags, a.s)
			}
		}
		for _, i := range sel {
			f := ss.flags[i]
			if op == "FLAGS" {
				f = map[string]bool{}
				ss.flags[i] = f
			}
			for _, fl := range flags {
				if len(f) < 32 {
					f[canonFlag(fl)] = op != "-FLAGS"
				}
			}
			if !silent {
				u := ""
				if uid {
					u = fmt.Sprintf("UID %d ", ss.uidOf(i))
				}
				ss.w.WriteString(fmt.Sprintf("* %d FETCH (%sFLAGS %s)\r\n", i+1, u, flagList(f)))
			}
		}
		ss.send(tag + " OK Store completed" + timing())
	case "COPY", "MOVE":
		if len(args) < 2 {
			return bad("Invalid arguments.")
		}
		mb, _ := args[1].astring()
		if !isFolder(mb) {
			ss.send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + service.Printable(mb, 256) + timing())
			return nil
		}
		if base == "MOVE" {
			ss.expunge(sel)
		}
		ss.send(tag + " OK " + titleCase(base) + " completed" + timing())
	}
	return nil
}

func canonFlag(f string) string {
	for _, k := range []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`} {
		if strings.EqualFold(f, k) {
			return k
		}
	}
	if len(f) > 64 {
		f = f[:64]
	}
	return f
}

// expunge removes the given view positions (nil: those flagged \Deleted) from the
// session's view, announcing each as Dovecot does, highest first.
func (ss *session) expunge(which []int) {
	del := map[int]bool{}
	if which == nil {
		for i, f := range ss.flags {
			if f[`\Deleted`] {
				del[i] = true
			}
		}
	} else {
		for _, i := range which {
			del[i] = true
		}
	}
	for i := len(ss.view) - 1; i >= 0; i-- {
		if del[i] {
			ss.w.WriteString(fmt.Sprintf("* %d EXPUNGE\r\n", i+1))
			ss.view = append(ss.view[:i], ss.view[i+1:]...)
			ss.flags = append(ss.flags[:i], ss.flags[i+1:]...)
		}
	}
}

// fetchItem is one FETCH data item.
type fetchItem struct {
	name    string // FLAGS, UID, BODY[...], ...
	section string // for BODY[...]
	peek    bool
	partial [2]int // offset, length; length < 0: none
}

func fetchItems(a arg, uid bool) ([]fetchItem, error) {
	var names []string
	if a.k == list {
		for _, x := range a.list {
			if x.k != atom {
				return nil, fmt.Errorf("Invalid fetch items.")
			}
			names = append(names, x.s)
		}
	} else {
		switch strings.ToUpper(a.s) {
		case "ALL":
			names = []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}
		case "FAST":
			names = []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE"}
		case "FULL":
			names = []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}
		default:
			names = []string{a.s}
		}
	}
	var items []fetchItem
	if uid {
		items = append(items, fetchItem{name: "UID"})
	}
	for _, n := range names {
		up := strings.ToUpper(n)
		switch up {
		case "FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			if up == "UID" && uid {
				continue
			}
			if up == "BODY" {
				up = "BODY-STRUCTURE" // BODY without a section: the non-extensible structure
			}
			items = append(items, fetchItem{name: up})
			continue
		}
		it := fetchItem{partial: [2]int{0, -1}}
		rest := ""
		switch {
		case strings.HasPrefix(up, "BODY.PEEK["):
			it.peek, rest = true, n[len("BODY.PEEK["):]
		case strings.HasPrefix(up, "BODY["):
			rest = n[len("BODY["):]
		case strings.HasPrefix(up, "BINARY.PEEK[") || strings.HasPrefix(up, "BINARY["):
			i := strings.IndexByte(n, '[')
			it.peek, rest = strings.HasPrefix(up, "BINARY.PEEK"), n[i+1:]
		default:
			return nil, fmt.Errorf("Unknown parameter %s", service.Printable(n, 64))
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("Invalid fetch items.")
		}
		it.section = strings.ToUpper(rest[:end])
		it.name = "BODY"
		if strings.HasPrefix(up, "BINARY") {
			it.name = "BINARY"
		}
		if p := rest[end+1:]; p != "" {
			off, ln, ok := strings.Cut(strings.Trim(p, "<>"), ".")
			o, err1 := strconv.Atoi(off)
			l, err2 := strconv.Atoi(ln)
			if !ok || err1 != nil || err2 != nil || o < 0 || l < 0 || !strings.HasPrefix(p, "<") || !strings.HasSuffix(p, ">") {
				return nil, fmt.Errorf("Invalid partial")
			}
			it.partial = [2]int{o, l}
		}
		items = append(items, it)
	}
	if len(items) > 64 {
		return nil, fmt.Errorf("Too many fetch items.")
	}
	return items, nil
}

// fetchOne renders one FETCH response.
func (ss *session) fetchOne(i int, items []fetchItem) string {
	m := ss.viewMsg(i)
	var parts []string
	setSeen := false
	literal := func(b []byte) string { return fmt.Sprintf("{%d}\r\n%s", len(b), b) }
	for _, it := range items {
		switch it.name {
		case "FLAGS":
			parts = append(parts, "FLAGS "+flagList(ss.flags[i]))
		case "UID":
			parts = append(parts, fmt.Sprintf("UID %d", ss.uidOf(i)))
		case "RFC822.SIZE":
			parts = append(parts, fmt.Sprintf("RFC822.SIZE %d", len(m.raw)))
		case "INTERNALDATE":
			parts = append(parts, `INTERNALDATE "`+m.date.Format("02-Jan-2006 15:04:05 -0700")+`"`)
		case "ENVELOPE":
			parts = append(parts, "ENVELOPE "+m.envelope)
		case "BODYSTRUCTURE":
			parts = append(parts, "BODYSTRUCTURE "+m.structure)
		case "RFC822":
			parts = append(parts, "RFC822 "+literal(m.raw))
			setSeen = true
		case "RFC822.HEADER":
			parts = append(parts, "RFC822.HEADER "+literal(m.header))
		case "RFC822.TEXT":
			parts = append(parts, "RFC822.TEXT "+literal(m.text))
			setSeen = true
		case "BODY-STRUCTURE":
			parts = append(parts, "BODY "+m.body)
		case "BODY", "BINARY":
			data, ok := section(m, it.section)
			label := it.name + "[" + it.section + "]"
			if it.partial[1] >= 0 {
				label += fmt.Sprintf("<%d>", it.partial[0])
				if it.partial[0] >= len(data) {
					data = nil
				} else {
					data = data[it.partial[0]:]
				}
				if len(data) > it.partial[1] {
					data = data[:it.partial[1]]
				}
			}
			if !ok {
				parts = append(parts, label+" NIL")
			} else {
				parts = append(parts, label+" "+literal(data))
			}
			if !it.peek {
				setSeen = true
			}
		}
	}
	if setSeen && !ss.readOnly && !ss.flags[i][`\Seen`] {
		ss.flags[i][`\Seen`] = true
		hasFlags := false
		for _, it := range items {
			hasFlags = hasFlags || it.name == "FLAGS"
		}
		if !hasFlags {
			parts = append(parts, "FLAGS "+flagList(ss.flags[i]))
		} else {
			for k, p := range parts {
				if strings.HasPrefix(p, "FLAGS ") {
					parts[k] = "FLAGS " + flagList(ss.flags[i])
				}
			}
		}
	}
	return fmt.Sprintf("* %d FETCH (%s)\r\n", i+1, strings.Join(parts, " "))
}

// section returns a body section of a single-part message.
func section(m *imapMessage, sec string) ([]byte, bool) {
	switch {
	case sec == "":
		return m.raw, true
	case sec == "HEADER" || sec == "0":
		return m.header, true
	case sec == "TEXT" || sec == "1":
		return m.text, true
	case sec == "MIME" || sec == "1.MIME":
		return []byte("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"), true
	case strings.HasPrefix(sec, "HEADER.FIELDS"):
		not := strings.HasPrefix(sec, "HEADER.FIELDS.NOT")
		open, closeP := strings.IndexByte(sec, '('), strings.IndexByte(sec, ')')
		if open < 0 || closeP < open {
			return nil, false
		}
		want := map[string]bool{}
		for _, f := range strings.Fields(sec[open+1 : closeP]) {
			want[strings.Trim(f, `"`)] = true
		}
		var out []byte
		lines := bytes.SplitAfter(m.header, []byte("\r\n"))
		keep := false
		for _, l := range lines {
			if len(l) == 0 || bytes.Equal(l, []byte("\r\n")) {
				continue
			}
			if l[0] != ' ' && l[0] != '\t' {
				name, _, _ := bytes.Cut(l, []byte(":"))
				keep = want[strings.ToUpper(string(name))] != not
			}
			if keep {
				out = append(out, l...)
			}
		}
		return append(out, '\r', '\n'), true
	}
	return nil, false
}

// search evaluates a SEARCH: a conjunction of simple keys.
func (ss *session) search(args []arg, uid bool) ([]string, error) {
	match := make([]bool, len(ss.view))
	for i := range match {
		match[i] = true
	}
	for k := 0; k < len(args); k++ {
		a := args[k]
		key := strings.ToUpper(a.s)
		text := func() (string, error) {
			if k+1 >= len(args) {
				return "", fmt.Errorf("Missing search parameter")
			}
			k++
			return strings.ToLower(args[k].s), nil
		}
		var pred func(i int) bool
		switch key {
		case "ALL":
			continue
		case "CHARSET":
			if _, err := text(); err != nil {
				return nil, err
			}
			continue
		case "SEEN", "UNSEEN", "DELETED", "UNDELETED", "FLAGGED", "UNFLAGGED", "ANSWERED", "UNANSWERED", "DRAFT", "UNDRAFT":
			flag := `\` + titleCase(strings.TrimPrefix(key, "UN"))
			want := !strings.HasPrefix(key, "UN")
			pred = func(i int) bool { return ss.flags[i][flag] == want }
		case "NEW", "RECENT":
			pred = func(int) bool { return false }
		case "OLD":
			continue
		case "SUBJECT", "FROM", "TO", "BODY", "TEXT":
			t, err := text()
			if err != nil {
				return nil, err
			}
			pred = func(i int) bool {
				m := ss.viewMsg(i)
				var hay []byte
				switch key {
				case "BODY":
					hay = m.text
				case "TEXT":
					hay = m.raw
				default:
					hdr, _ := section(m, "HEADER.FIELDS ("+key+")")
					hay = hdr
				}
				return bytes.Contains(bytes.ToLower(hay), []byte(t))
			}
		case "UID":
			t, err := text()
			if err != nil {
				return nil, err
			}
			set, err := parseSeqSet(t)
			if err != nil {
				return nil, fmt.Errorf("Invalid uidset")
			}
			in := map[int]bool{}
			for _, i := range ss.matching(set, true) {
				in[i] = true
			}
			pred = func(i int) bool { return in[i] }
		default:
			set, err := parseSeqSet(a.s)
			if err != nil || a.k != atom {
				return nil, fmt.Errorf("Unknown argument %s", service.Printable(a.s, 64))
			}
			in := map[int]bool{}
			for _, i := range ss.matching(set, false) {
				in[i] = true
			}
			pred = func(i int) bool { return in[i] }
		}
		for i := range match {
			match[i] = match[i] && pred(i)
		}
	}
	var out []string
	for i, ok := range match {
		if ok {
			if uid {
				out = append(out, strconv.Itoa(int(ss.uidOf(i))))
			} else {
				out = append(out, strconv.Itoa(i+1))
			}
		}
	}
	return out, nil
}
