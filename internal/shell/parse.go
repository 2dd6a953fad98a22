package shell

import (
	"errors"
	"strings"
)

// The command-line language understood here is a small, safe subset of the POSIX shell:
// words with quoting and escapes, $VAR/${VAR}/$(…)/`…` expansions, globs, the list
// operators ; && || & and newline, pipes, and redirections. Nothing is ever executed:
// every command name is looked up among the emulated commands.

type tokKind int

const (
	tWord tokKind = iota
	tOp
	tRedir
)

type token struct {
	kind tokKind
	text string // word (raw, unexpanded) or operator
	fd   int    // for redirections: the file descriptor (-1: default)
}

// errIncomplete means the line ends inside a quote, $( … ), or after a continuation; an
// interactive shell would ask for more with its PS2 prompt.
var errIncomplete = errors.New("unexpected end of input")

type syntaxError struct{ tok string }

func (e syntaxError) Error() string { return "syntax error near unexpected token `" + e.tok + "'" }

// lex splits a command line into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, token{kind: tWord, text: word.String()})
			word.Reset()
			inWord = false
		}
	}
	i := 0
	n := len(src)
	for i < n {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			flush()
			i++
		case c == '\n':
			flush()
			toks = append(toks, token{kind: tOp, text: "\n"})
			i++
		case c == '#' && !inWord:
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '\\':
			if i+1 >= n {
				return toks, errIncomplete
			}
			if src[i+1] == '\n' {
				i += 2
				continue
			}
			inWord = true
			word.WriteString(src[i : i+2])
			i += 2
		case c == '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			if j < 0 {
				return toks, errIncomplete
			}
			inWord = true
			word.WriteString(src[i : i+j+2])
			i += j + 2
		case c == '"':
			j, err := scanDouble(src, i+1)
			if err != nil {
				return toks, err
			}
			inWord = true
			word.WriteString(src[i : j+1])
			i = j + 1
		case c == '`':
			j, err := scanBacktick(src, i+1)
			if err != nil {
				return toks, err
			}
			inWord = true
			word.WriteString(src[i : j+1])
			i = j + 1
		case c == '$' && i+1 < n && (src[i+1] == '(' || src[i+1] == '{'):
			var j int
			var err error
			if src[i+1] == '(' {
				j, err = scanParen(src, i+2)
			} else {
				j, err = scanBrace(src, i+2)
			}
			if err != nil {
				return toks, err
			}
			inWord = true
			word.WriteString(src[i : j+1])
			i = j + 1
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			flush()
			op := string(c)
			if i+1 < n {
				two := src[i : i+2]
				switch two {
				case "&&", "||", ";;", "|&":
					op = two
				case "&>":
					if i+2 < n && src[i+2] == '>' {
						toks = append(toks, token{kind: tRedir, text: ">>", fd: -2})
						i += 3
					} else {
						toks = append(toks, token{kind: tRedir, text: ">", fd: -2})
						i += 2
					}
					continue
				}
			}
			i += len(op)
			switch op {
			case ";;":
				op = ";"
			case "|&":
				op = "|"
			}
			toks = append(toks, token{kind: tOp, text: op})
		case c == '>' || c == '<':
			fd := -1
			if inWord {
				w := word.String()
				if len(w) == 1 && w[0] >= '0' && w[0] <= '9' {
					fd = int(w[0] - '0')
					word.Reset()
					inWord = false
				}
			}
			flush()
			op := string(c)
			if i+1 < n {
				switch src[i : i+2] {
				case ">>", ">&", ">|", "<<", "<&", "<>":
					op = src[i : i+2]
				}
			}
			if op == "<<" && i+2 < n && src[i+2] == '<' {
				op = "<<<"
			}
			i += len(op)
			if op == ">|" {
				op = ">"
			}
			toks = append(toks, token{kind: tRedir, text: op, fd: fd})
		default:
			inWord = true
			word.WriteByte(c)
			i++
		}
	}
	flush()
	return toks, nil
}

func scanDouble(src string, i int) (int, error) {
	for i < len(src) {
		switch src[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i, nil
		case '`':
			j, err := scanBacktick(src, i+1)
			if err != nil {
				return 0, err
			}
			i = j + 1
			continue
		case '$':
			if i+1 < len(src) && src[i+1] == '(' {
				j, err := scanParen(src, i+2)
				if err != nil {
					return 0, err
				}
				i = j + 1
				continue
			}
		}
		i++
	}
	return 0, errIncomplete
}

func scanBacktick(src string, i int) (int, error) {
	for i < len(src) {
		switch src[i] {
		case '\\':
			i += 2
			continue
		case '`':
			return i, nil
		}
		i++
	}
	return 0, errIncomplete
}

// scanParen finds the ')' closing a "$(" or "$((" whose body starts at i.
func scanParen(src string, i int) (int, error) {
	depth := 1
	for i < len(src) {
		switch src[i] {
		case '\\':
			i += 2
			continue
		case '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			if j < 0 {
				return 0, errIncomplete
			}
			i += j + 2
			continue
		case '"':
			j, err := scanDouble(src, i+1)
			if err != nil {
				return 0, err
			}
			i = j + 1
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
		i++
	}
	return 0, errIncomplete
}

func scanBrace(src string, i int) (int, error) {
	j := strings.IndexByte(src[i:], '}')
	if j < 0 {
		return 0, errIncomplete
	}
	return i + j, nil
}

type redir struct {
	fd     int    // -1 default for op, -2 both stdout and stderr
	op     string // > >> < >& <& <<< <<
	target string // raw word
}

type simpleCmd struct {
	words  []string // raw words
	redirs []redir
}

type pipeline struct {
	cmds []simpleCmd
}

// listItem is a pipeline and the operator that follows it.
type listItem struct {
	pl pipeline
	op string // ";", "&&", "||", "&" or "" at the end
}

// parse builds the command list from tokens. Parentheses and braces group without a
// subshell: they are accepted and ignored, which is the closest safe emulation.
func parse(toks []token) ([]listItem, error) {
	var items []listItem
	var pl pipeline
	var cur simpleCmd
	empty := func(c simpleCmd) bool { return len(c.words) == 0 && len(c.redirs) == 0 }
	lastOp := ";"
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tWord:
			if len(cur.words) == 0 && (t.text == "{" || t.text == "}") {
				continue
			}
			cur.words = append(cur.words, t.text)
			lastOp = ""
		case tRedir:
			if i+1 >= len(toks) || toks[i+1].kind != tWord {
				if i+1 >= len(toks) {
					return nil, syntaxError{"newline"}
				}
				return nil, syntaxError{toks[i+1].text}
			}
			cur.redirs = append(cur.redirs, redir{fd: t.fd, op: t.text, target: toks[i+1].text})
			i++
			lastOp = ""
		case tOp:
			if t.text == "(" || t.text == ")" {
				if t.text == "(" && !empty(cur) {
					return nil, syntaxError{"("}
				}
				continue
			}
			if empty(cur) {
				if t.text == "\n" {
					continue // blank lines, and newlines after && || | are allowed
				}
				return nil, syntaxError{t.text}
			}
			if t.text == "\n" {
				t.text = ";"
			}
			pl.cmds = append(pl.cmds, cur)
			cur = simpleCmd{}
			if t.text == "|" {
				lastOp = "|"
				continue
			}
			items = append(items, listItem{pl: pl, op: t.text})
			pl = pipeline{}
			lastOp = t.text
		}
	}
	if empty(cur) {
		if lastOp == "|" || lastOp == "&&" || lastOp == "||" {
			return nil, errIncomplete
		}
		return items, nil
	}
	pl.cmds = append(pl.cmds, cur)
	items = append(items, listItem{pl: pl})
	return items, nil
}
