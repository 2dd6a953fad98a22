package config

// The INI reader is hand-written rather than taken from a library (gopkg.in/ini and
// friends) for two reasons: every error DECNET reports must name the file and line of
// the key it is about, which those libraries do not keep; and the comment rules must be
// exactly DECNET's documented ones, so that "services = ssh  # comment" never leaks
// "# comment" into a value (DECNET's own configparser setup let it leak).
//
// The dialect is Python configparser's, which DECNET used:
//   - [section] headers; section names are case-sensitive;
//   - "key = value" or "key: value" (the first '=' or ':' splits); keys are
//     case-insensitive (lower-cased), values are trimmed;
//   - full-line comments start with '#' or ';' (after optional indentation);
//   - inline comments start with '#' or ';' preceded by a space or tab and run to the
//     end of the line; a '#' or ';' inside a word (pass#1) is part of the value;
//   - a line indented deeper than its key continues that key's value (joined with a
//     newline); a blank line ends a value;
//   - a duplicate section or a duplicate key in one section is an error naming both lines;
//   - the [DEFAULT] section, whose keys configparser silently copies into every section,
//     is rejected rather than given that surprising meaning.
// The input is bounded (MaxFileSize) and must be UTF-8 without NUL bytes.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds a configuration file (1 MiB).
const MaxFileSize = 1 << 20

// File is a parsed and checked configuration file.
type File struct {
	// Path is the name used in error messages (as given to Load or Parse).
	Path string
	// Sections in file order.
	Sections []*Section

	spec     *fileSpec // the interpretation of Sections
	warnings []string
}

// Section is one [name] block.
type Section struct {
	Name    string
	Line    int
	Entries []Entry
}

// Entry is one key and its value. Line is the line of the key.
type Entry struct {
	Key   string
	Value string
	Line  int
}

// Get returns the entry with the given (lower-case) key.
func (s *Section) Get(key string) (Entry, bool) {
	for _, e := range s.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Section returns the section with the given name.
func (f *File) Section(name string) (*Section, bool) {
	for _, s := range f.Sections {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Warnings returns the non-fatal notes found while checking the file (DECNET keys this
// implementation accepts but does not use).
func (f *File) Warnings() []string { return append([]string(nil), f.warnings...) }

// Load reads, parses and checks a configuration file: syntax, section and key names,
// value types, services, archetypes, distros and persona keys. Checks that need the
// network (subnet, gateway, free addresses) or the flags happen in Build.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the configuration file: " + errText(err), Err: err}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the configuration file: " + errText(err), Err: err}
	}
	return Parse(path, data)
}

// errText is err's text without the path os errors repeat.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses and checks configuration text; path names it in error messages.
func Parse(path string, data []byte) (*File, error) {
	secs, err := parseINI(path, data)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Sections: secs}
	if err := f.interpret(); err != nil {
		return nil, err
	}
	return f, nil
}

// parseINI is the syntax layer: text → sections of entries with line numbers.
func parseINI(path string, data []byte) ([]*Section, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("the file is larger than %d bytes", MaxFileSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	var (
		secs       []*Section
		cur        *Section
		byName     = map[string]*Section{}
		keyLine    = map[string]int{} // key → line, in cur
		last       *Entry             // the entry a continuation line extends
		lastIndent int
	)
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		if !utf8.ValidString(raw) {
			return nil, lineErr(path, n, "the line is not valid UTF-8")
		}
		if strings.IndexByte(raw, 0) >= 0 {
			return nil, lineErr(path, n, "the line contains a NUL byte")
		}
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" {
			last = nil // a blank line ends a value
			continue
		}
		if trimmed[0] == '#' || trimmed[0] == ';' {
			continue // full-line comment; does not end a value
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if last != nil && indent > lastIndent {
			// Continuation of the previous key's value.
			if v := strings.TrimSpace(stripInlineComment(raw)); v != "" {
				if last.Value == "" {
					last.Value = v
				} else {
					last.Value += "\n" + v
				}
			}
			continue
		}
		last = nil
		line := strings.TrimSpace(stripInlineComment(raw))
		if line == "" {
			continue
		}
		if line[0] == '[' {
			if line[len(line)-1] != ']' {
				return nil, lineErr(path, n, "section header %q is missing its closing ]", line)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			switch {
			case name == "":
				return nil, lineErr(path, n, "empty section name []")
			case strings.EqualFold(name, "default"):
				return nil, lineErr(path, n, "[%s] sections are not supported: set each key in the section it belongs to", name)
			}
			if prev, dup := byName[name]; dup {
				return nil, lineErr(path, n, "duplicate section [%s] (first defined on line %d)", name, prev.Line)
			}
			cur = &Section{Name: name, Line: n}
			byName[name] = cur
			secs = append(secs, cur)
			keyLine = map[string]int{}
			continue
		}
		sep := strings.IndexAny(line, "=:")
		if sep < 0 {
			return nil, lineErr(path, n, "expected a [section] header or \"key = value\", got %q", clip(line))
		}
		key := strings.ToLower(strings.TrimSpace(line[:sep]))
		value := strings.TrimSpace(line[sep+1:])
		if key == "" {
			return nil, lineErr(path, n, "missing key name before %q", line[sep:sep+1])
		}
		if cur == nil {
			return nil, lineErr(path, n, "key %q comes before any [section] header", key)
		}
		if prev, dup := keyLine[key]; dup {
			return nil, lineErr(path, n, "duplicate key %q in [%s] (first set on line %d)", key, cur.Name, prev)
		}
		keyLine[key] = n
		cur.Entries = append(cur.Entries, Entry{Key: key, Value: value, Line: n})
		last = &cur.Entries[len(cur.Entries)-1]
		lastIndent = indent
	}
	return secs, nil
}

// stripInlineComment cuts s at the first '#' or ';' that follows a space or tab.
func stripInlineComment(s string) string {
	for i := 1; i < len(s); i++ {
		if (s[i] == '#' || s[i] == ';') && (s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Interface returns the interface named in [general] (interface =), or "".
func (f *File) Interface() string {
	if f == nil || f.spec == nil {
		return ""
	}
	return f.spec.general.iface.v
}
