package shell

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// expandWord performs tilde, parameter, command substitution, field splitting (of
// unquoted expansions) and pathname expansion on one raw word.
func (s *Shell) expandWord(raw string, depth int, errw io.Writer) []string {
	var fields []string
	var cur strings.Builder
	have := false   // cur holds a field (possibly empty, if quoted)
	globby := false // cur has an unquoted glob character
	push := func() {
		if have {
			w := cur.String()
			if globby {
				if m := s.fs.glob(s.cwd, w, maxGlobMatch); len(m) > 0 {
					fields = append(fields, m...)
					cur.Reset()
					have, globby = false, false
					return
				}
			}
			fields = append(fields, w)
		}
		cur.Reset()
		have, globby = false, false
	}
	// unquoted expansion results are split on blanks
	addSplit := func(v string) {
		if v == "" {
			return
		}
		parts := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
		if len(parts) == 0 {
			push()
			return
		}
		if v[0] == ' ' || v[0] == '\t' || v[0] == '\n' {
			push()
		}
		for i, p := range parts {
			if i > 0 {
				push()
			}
			cur.WriteString(p)
			have = true
			if strings.ContainsAny(p, "*?[") {
				globby = true
			}
		}
		if c := v[len(v)-1]; c == ' ' || c == '\t' || c == '\n' {
			push()
		}
	}

	i := 0
	n := len(raw)
	if n > 0 && raw[0] == '~' {
		end := strings.IndexByte(raw, '/')
		if end < 0 {
			end = n
		}
		user := raw[1:end]
		home := ""
		if user == "" {
			home = s.vars["HOME"]
		} else if a, ok := s.p.lookupUser(user); ok {
			home = a.home
		}
		if home != "" {
			cur.WriteString(home)
			have = true
			i = end
		}
	}
	for i < n {
		c := raw[i]
		switch c {
		case '\\':
			if i+1 < n {
				cur.WriteByte(raw[i+1])
				i += 2
			} else {
				i++
			}
			have = true
		case '\'':
			j := strings.IndexByte(raw[i+1:], '\'')
			if j < 0 {
				j = n - i - 1
			}
			cur.WriteString(raw[i+1 : i+1+j])
			have = true
			i += j + 2
		case '"':
			have = true
			i++
			for i < n && raw[i] != '"' {
				switch raw[i] {
				case '\\':
					if i+1 < n && strings.IndexByte("$`\"\\\n", raw[i+1]) >= 0 {
						if raw[i+1] != '\n' {
							cur.WriteByte(raw[i+1])
						}
						i += 2
					} else {
						cur.WriteByte('\\')
						i++
					}
				case '$', '`':
					v, adv := s.expandDollar(raw[i:], depth, errw, true)
					cur.WriteString(v)
					i += adv
				default:
					cur.WriteByte(raw[i])
					i++
				}
			}
			i++
		case '$', '`':
			v, adv := s.expandDollar(raw[i:], depth, errw, false)
			if adv == 1 && c == '$' {
				cur.WriteByte('$')
				have = true
			} else {
				addSplit(v)
			}
			i += adv
		default:
			if c == '*' || c == '?' || c == '[' {
				globby = true
			}
			cur.WriteByte(c)
			have = true
			i++
		}
	}
	push()
	return fields
}

// expandDollar expands the $-construct or backtick substitution at the start of src and
// returns its value and how many bytes it used.
func (s *Shell) expandDollar(src string, depth int, errw io.Writer, quoted bool) (string, int) {
	if src[0] == '`' {
		j, err := scanBacktick(src, 1)
		if err != nil {
			return "", len(src)
		}
		inner := strings.ReplaceAll(src[1:j], "\\`", "`")
		return s.substitute(inner, depth, errw), j + 1
	}
	if len(src) < 2 {
		return "$", 1
	}
	switch c := src[1]; {
	case c == '(':
		if strings.HasPrefix(src, "$((") {
			j, err := scanParen(src, 2)
			if err != nil {
				return "", len(src)
			}
			expr := ""
			if j >= 4 && src[j-1] == ')' {
				expr = src[3 : j-1]
			}
			return s.arith(expr), j + 1
		}
		j, err := scanParen(src, 2)
		if err != nil {
			return "", len(src)
		}
		return s.substitute(src[2:j], depth, errw), j + 1
	case c == '{':
		j := strings.IndexByte(src, '}')
		if j < 0 {
			return "", len(src)
		}
		return s.braceParam(src[2:j], depth, errw), j + 1
	case c == '?':
		return strconv.Itoa(s.status), 2
	case c == '$':
		return strconv.Itoa(s.bashPid), 2
	case c == '#':
		return "0", 2
	case c == '0':
		return s.shName(), 2
	case c == '!':
		return "", 2
	case c == '@' || c == '*' || c == '-' || (c >= '1' && c <= '9'):
		if c == '-' {
			return "himBHs", 2
		}
		return "", 2
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		j := 2
		for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
			j++
		}
		return s.getVar(src[1:j]), j
	}
	return "$", 1
}

func (s *Shell) getVar(k string) string {
	switch k {
	case "RANDOM":
		return strconv.Itoa(s.p.rng.IntN(32768))
	case "PWD":
		return s.cwd
	case "UID", "EUID":
		return strconv.Itoa(s.p.uid)
	case "BASH_VERSION":
		if s.p.shellKind == "bash" {
			return "5.1.16(1)-release"
		}
	case "SECONDS":
		return strconv.Itoa(int(s.now().Sub(s.start).Seconds()))
	case "PPID":
		return strconv.Itoa(s.bashPid - 1)
	}
	return s.vars[k]
}

func (s *Shell) braceParam(expr string, depth int, errw io.Writer) string {
	if strings.HasPrefix(expr, "#") && validName(expr[1:]) {
		return strconv.Itoa(len(s.getVar(expr[1:])))
	}
	for _, op := range []string{":-", ":=", ":+", "-", "="} {
		if k, def, ok := strings.Cut(expr, op); ok && validName(k) {
			v, set := s.vars[k]
			if k == "PWD" || k == "RANDOM" || k == "UID" {
				v, set = s.getVar(k), true
			}
			empty := !set || (strings.HasPrefix(op, ":") && v == "")
			dv := strings.Join(s.expandWord(def, depth, errw), " ")
			switch op {
			case ":+":
				if !empty {
					return dv
				}
				return ""
			case ":=", "=":
				if empty {
					s.setVar(k, dv)
					return dv
				}
			default:
				if empty {
					return dv
				}
			}
			return v
		}
	}
	if validName(expr) || expr == "?" {
		if expr == "?" {
			return strconv.Itoa(s.status)
		}
		return s.getVar(expr)
	}
	fmt.Fprintf(errw, "%s: ${%s}: bad substitution\n", s.shName(), expr)
	return ""
}

// substitute runs a command substitution and returns its output without trailing newlines.
func (s *Shell) substitute(inner string, depth int, errw io.Writer) string {
	if depth >= maxDepth {
		return ""
	}
	buf := &limitedBuf{max: maxOutput}
	saved := s.exited
	s.runScript(inner, "", buf, errw, depth+1)
	s.exited = saved
	return strings.TrimRight(buf.String(), "\n")
}

// arith evaluates a small integer expression: numbers, variables, + - * / % and parentheses.
func (s *Shell) arith(expr string) string {
	ap := arithParser{src: expr, s: s}
	v, ok := ap.expr(0)
	ap.skip()
	if !ok || ap.i != len(ap.src) {
		return "0"
	}
	return strconv.FormatInt(v, 10)
}

type arithParser struct {
	src string
	i   int
	s   *Shell
}

func (a *arithParser) skip() {
	for a.i < len(a.src) && (a.src[a.i] == ' ' || a.src[a.i] == '\t') {
		a.i++
	}
}

func (a *arithParser) expr(depth int) (int64, bool) {
	v, ok := a.term(depth)
	for ok {
		a.skip()
		if a.i >= len(a.src) || (a.src[a.i] != '+' && a.src[a.i] != '-') {
			break
		}
		op := a.src[a.i]
		a.i++
		var r int64
		r, ok = a.term(depth)
		if op == '+' {
			v += r
		} else {
			v -= r
		}
	}
	return v, ok
}

func (a *arithParser) term(depth int) (int64, bool) {
	v, ok := a.factor(depth)
	for ok {
		a.skip()
		if a.i >= len(a.src) || strings.IndexByte("*/%", a.src[a.i]) < 0 {
			break
		}
		op := a.src[a.i]
		a.i++
		var r int64
		r, ok = a.factor(depth)
		switch {
		case op == '*':
			v *= r
		case r == 0:
			return 0, false
		case op == '/':
			v /= r
		default:
			v %= r
		}
	}
	return v, ok
}

func (a *arithParser) factor(depth int) (int64, bool) {
	if depth > 32 {
		return 0, false
	}
	a.skip()
	if a.i >= len(a.src) {
		return 0, false
	}
	c := a.src[a.i]
	switch {
	case c == '(':
		a.i++
		v, ok := a.expr(depth + 1)
		a.skip()
		if !ok || a.i >= len(a.src) || a.src[a.i] != ')' {
			return 0, false
		}
		a.i++
		return v, true
	case c == '-':
		a.i++
		v, ok := a.factor(depth + 1)
		return -v, ok
	case c >= '0' && c <= '9':
		j := a.i
		for j < len(a.src) && a.src[j] >= '0' && a.src[j] <= '9' {
			j++
		}
		v, err := strconv.ParseInt(a.src[a.i:j], 10, 64)
		a.i = j
		return v, err == nil
	case c == '$' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		if c == '$' {
			a.i++
		}
		j := a.i
		for j < len(a.src) && (a.src[j] == '_' || a.src[j] >= 'a' && a.src[j] <= 'z' || a.src[j] >= 'A' && a.src[j] <= 'Z' || a.src[j] >= '0' && a.src[j] <= '9') {
			j++
		}
		name := a.src[a.i:j]
		a.i = j
		v, _ := strconv.ParseInt(strings.TrimSpace(a.s.getVar(name)), 10, 64)
		return v, true
	}
	return 0, false
}
