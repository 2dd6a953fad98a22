package imap

// The IMAP command parser is written by hand: github.com/emersion/go-imap's
// servers (v1 is unmaintained, v2 is a beta) write their own texts ("IMAP server
// ready", their own BAD/NO wording and capability order) and do not expose the
// raw LOGIN/AUTHENTICATE exchange, while Dovecot's exact answers are what nmap
// and bots match. The parser is bounded (line, literal and nesting limits) and
// fuzzed (fuzz_test.go).

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/service"
)

// Limits on one command.
const (
	maxLine       = 8192    // one line of a command
	maxLiteralPre = 8 << 10 // one literal before login (Dovecot's login process is as strict)
	maxLiteral    = 1 << 20 // one literal after login (APPEND)
	maxCommand    = 2 << 20 // a whole command with its literals
	maxDepth      = 16      // nested parenthesised lists
	maxLiterals   = 64
)

var (
	errTooLong = errors.New("command too long")
	errSyntax  = errors.New("syntax error")
)

// readCommand reads one command: its lines and literals, as the wire carries
// them. For each synchronising literal {n} it calls cont (which sends "+ OK");
// non-synchronising {n+} (LITERAL+) literals follow directly.
// maxLit bounds each literal.
func readCommand(r *bufio.Reader, maxLit int64, cont func()) ([]byte, error) {
	var cmd []byte
	for lits := 0; ; lits++ {
		line, tooLong, err := service.ReadLine(r, maxLine)
		if err != nil {
			return nil, err
		}
		if tooLong {
			return line, errTooLong
		}
		cmd = append(cmd, line...)
		n, sync, ok := literalAtEnd(line)
		if !ok {
			return cmd, nil
		}
		if n > maxLit || len(cmd)+int(n) > maxCommand || lits >= maxLiterals {
			return cmd, errTooLong
		}
		if sync {
			cont()
		}
		cmd = append(cmd, '\r', '\n')
		start := len(cmd)
		cmd = append(cmd, make([]byte, n)...)
		if _, err := ioReadFull(r, cmd[start:]); err != nil {
			return nil, err
		}
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// literalAtEnd reports whether a line ends in a literal announcement {n} or {n+}.
func literalAtEnd(line []byte) (n int64, sync, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	i := strings.LastIndexByte(string(line), '{')
	if i < 0 {
		return 0, false, false
	}
	num := string(line[i+1 : len(line)-1])
	sync = true
	if strings.HasSuffix(num, "+") {
		num, sync = num[:len(num)-1], false
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || len(num) == 0 || num[0] == '+' {
		return 0, false, false
	}
	return v, sync, true
}

// kind of a parsed argument.
type kind int

const (
	atom kind = iota
	str       // quoted string or literal
	list
	nilVal
)

// arg is one parsed IMAP argument.
type arg struct {
	k    kind
	s    string
	list []arg
}

func (a arg) String() string {
	switch a.k {
	case list:
		parts := make([]string, len(a.list))
		for i, x := range a.list {
			parts[i] = x.String()
		}
		return "(" + strings.Join(parts, " ") + ")"
	case nilVal:
		return "NIL"
	}
	return a.s
}

// astring is an atom or string argument's text.
func (a arg) astring() (string, bool) {
	if a.k == atom || a.k == str {
		return a.s, true
	}
	return "", false
}

// parseCommand splits a command into tag, name (upper case) and arguments.
func parseCommand(cmd []byte) (tag, name string, args []arg, err error) {
	p := &parser{b: cmd}
	tag = p.word()
	if tag == "" || strings.ContainsAny(tag, "*+%(){\"\\") {
		return tag, "", nil, errSyntax
	}
	if !p.sp() {
		return tag, "", nil, errSyntax
	}
	name = strings.ToUpper(p.word())
	if name == "" {
		return tag, "", nil, errSyntax
	}
	if name == "UID" {
		if !p.sp() {
			return tag, name, nil, errSyntax
		}
		name += " " + strings.ToUpper(p.word())
	}
	for p.i < len(p.b) {
		if !p.sp() {
			return tag, name, args, errSyntax
		}
		a, err := p.arg(0)
		if err != nil {
			return tag, name, args, err
		}
		args = append(args, a)
	}
	return tag, name, args, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) sp() bool {
	if p.i < len(p.b) && p.b[p.i] == ' ' {
		p.i++
		return true
	}
	return false
}

// word reads up to the next space.
func (p *parser) word() string {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != ' ' {
		p.i++
	}
	return string(p.b[start:p.i])
}

func (p *parser) arg(depth int) (arg, error) {
	if p.i >= len(p.b) {
		return arg{}, errSyntax
	}
	switch c := p.b[p.i]; c {
	case '"':
		return p.quoted()
	case '{':
		return p.literal()
	case '(':
		if depth >= maxDepth {
			return arg{}, errSyntax
		}
		p.i++
		var items []arg
		for {
			if p.i >= len(p.b) {
				return arg{}, errSyntax
			}
			if p.b[p.i] == ')' {
				p.i++
				return arg{k: list, list: items}, nil
			}
			if len(items) > 0 && !p.sp() {
				return arg{}, errSyntax
			}
			a, err := p.arg(depth + 1)
			if err != nil {
				return arg{}, err
			}
			items = append(items, a)
		}
	default:
		return p.atom()
	}
}

// atom reads an atom; a '[' opens a section that may hold spaces and parentheses
// up to its ']' (BODY[HEADER.FIELDS (FROM TO)]<0.100>).
func (p *parser) atom() (arg, error) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '[' {
			end := strings.IndexByte(string(p.b[p.i:]), ']')
			if end < 0 {
				return arg{}, errSyntax
			}
			p.i += end + 1
			continue
		}
		if c == ' ' || c == '(' || c == ')' || c == '"' || c == '{' || c < 0x20 || c == 0x7f {
			break
		}
		p.i++
	}
	if p.i == start {
		return arg{}, errSyntax
	}
	s := string(p.b[start:p.i])
	if strings.EqualFold(s, "NIL") {
		return arg{k: nilVal, s: s}, nil
	}
	return arg{k: atom, s: s}, nil
}

func (p *parser) quoted() (arg, error) {
	p.i++ // opening quote
	var sb strings.Builder
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch c {
		case '"':
			p.i++
			return arg{k: str, s: sb.String()}, nil
		case '\\':
			if p.i+1 >= len(p.b) {
				return arg{}, errSyntax
			}
			p.i++
			c = p.b[p.i]
		case '\r', '\n':
			return arg{}, errSyntax
		}
		sb.WriteByte(c)
		p.i++
	}
	return arg{}, errSyntax
}

// literal reads "{n}\r\n" followed by n bytes (readCommand put them there).
func (p *parser) literal() (arg, error) {
	end := strings.IndexByte(string(p.b[p.i:]), '}')
	if end < 0 {
		return arg{}, errSyntax
	}
	num := strings.TrimSuffix(string(p.b[p.i+1:p.i+end]), "+")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return arg{}, errSyntax
	}
	p.i += end + 1
	if p.i+2 > len(p.b) || p.b[p.i] != '\r' || p.b[p.i+1] != '\n' || p.i+2+n > len(p.b) {
		return arg{}, errSyntax
	}
	p.i += 2
	s := string(p.b[p.i : p.i+n])
	p.i += n
	return arg{k: str, s: s}, nil
}

// seqSet is a parsed sequence set (RFC 3501 sequence-set); 0 stands for "*".
type seqSet [][2]uint32

func parseSeqSet(s string) (seqSet, error) {
	if s == "" {
		return nil, errSyntax
	}
	var out seqSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := seqNum(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = seqNum(hi); err != nil {
				return nil, err
			}
		}
		out = append(out, [2]uint32{a, b})
		if len(out) > 1000 {
			return nil, errSyntax
		}
	}
	return out, nil
}

func seqNum(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid sequence number %q", s)
	}
	return uint32(n), nil
}

// contains reports whether n is in the set, where max is the value of "*".
func (ss seqSet) contains(n, max uint32) bool {
	for _, r := range ss {
		a, b := r[0], r[1]
		if a == 0 {
			a = max
		}
		if b == 0 {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
}
