package config

import (
	"errors"
	"strings"
)

// maxArgs bounds the words of one exec= command line.
const maxArgs = 256

// splitCommand splits a BYOS exec= command line into words the way a POSIX shell
// tokenises it, without executing or expanding anything: words are separated by
// blanks; 'single quotes' keep everything literally; "double quotes" keep everything
// except that a backslash escapes ", \, $ and `; outside quotes a backslash keeps the
// next character. $VAR, globs, ~ and `...` are left as they are: the container runtime
// receives the words as given, with no shell in between.
func splitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // a word has started (possibly empty, e.g. '')
	)
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			in = true
			i++
			for ; ; i++ {
				if i >= len(s) {
					return nil, errors.New("unterminated double quote")
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\':
			in = true
			if i+1 >= len(s) {
				return nil, errors.New("the command ends with a lone backslash")
			}
			i++
			if s[i] == '\n' { // line continuation
				continue
			}
			cur.WriteByte(s[i])
		default:
			in = true
			cur.WriteByte(c)
		}
		if len(words) > maxArgs {
			return nil, errors.New("the command has more than 256 words")
		}
	}
	flush()
	if len(words) > maxArgs {
		return nil, errors.New("the command has more than 256 words")
	}
	return words, nil
}
