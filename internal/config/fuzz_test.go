package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// serialize writes sections back as INI text: "key =value" (no blank before the value,
// so a value starting with '#' or ';' is not read as a comment) and continuation lines
// indented by a tab.
func serialize(secs []*Section) string {
	var b strings.Builder
	for _, s := range secs {
		b.WriteString("[" + s.Name + "]\n")
		for _, e := range s.Entries {
			b.WriteString(e.Key + " =" + strings.ReplaceAll(e.Value, "\n", "\n\t") + "\n")
		}
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ini")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"[a]\nservices = ssh  # comment\n",
		"[a]\nservices =\n  ssh,\n  http\n",
		"[a]\namount = 3\nservices = ssh\n[a.ssh]\nusers = a:b\n",
		"[custom-x]\nbinary = alpine:3\nexec = sh -c 'echo \"hi\"' \\\n x\nports = 1/udp, 2\n",
		"[a]\nk = #v\nk2 =#v\n;c\n#c\n\t;c\n",
		"[a]\r\nk: v ; c\r\n",
		"\xef\xbb\xbf[general]\nnet = 10.0.0.0/8\n",
		"[a]\n= x\n[[b]]\n[c\n",
		"[DEFAULT]\nx=1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		secs, err := parseINI("f.ini", data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, s := range secs {
			if s.Name == "" || s.Name != strings.TrimSpace(s.Name) || s.Line < 1 || s.Line > lines {
				t.Fatalf("bad section %+v", s)
			}
			for _, e := range s.Entries {
				if e.Key == "" || e.Key != strings.ToLower(e.Key) || e.Line < s.Line || e.Line > lines {
					t.Fatalf("bad entry %+v in [%s]", e, s.Name)
				}
				if e.Value != strings.TrimSpace(e.Value) {
					t.Fatalf("value %q is not trimmed", e.Value)
				}
				for _, c := range []string{" #", "\t#", " ;", "\t;", "\n#", "\n;"} {
					if strings.Contains(e.Value, c) {
						t.Fatalf("comment leaked into value %q", e.Value)
					}
				}
			}
		}
		// Round trip: writing the sections out and reading them again changes nothing
		// but line numbers.
		again, err := parseINI("f.ini", []byte(serialize(secs)))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", serialize(secs), err)
		}
		strip := func(ss []*Section) []*Section {
			out := make([]*Section, len(ss))
			for i, s := range ss {
				c := &Section{Name: s.Name}
				for _, e := range s.Entries {
					c.Entries = append(c.Entries, Entry{Key: e.Key, Value: e.Value})
				}
				out[i] = c
			}
			return out
		}
		if !reflect.DeepEqual(strip(secs), strip(again)) {
			t.Fatalf("round trip changed the sections:\n%+v\n%+v", strip(secs), strip(again))
		}
		// The whole interpretation must not panic either; its errors are *Error.
		if _, err := Parse("f.ini", data); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse error %T is not a *Error: %v", err, err)
			}
		}
	})
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`/bin/x -a "b c" 'd e' f\ g`, `"\"\\\$"`, `''`, `a\`, `"a`, "a \\\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitCommand(s)
		if err != nil {
			return
		}
		if len(words) > maxArgs {
			t.Fatalf("%d words", len(words))
		}
		// Quoting every word in single quotes and splitting again gives the same words.
		var b strings.Builder
		for _, w := range words {
			b.WriteString("'" + strings.ReplaceAll(w, "'", `'\''`) + "' ")
		}
		again, err := splitCommand(b.String())
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Fatalf("requoted %q gave %q, %v; want %q", b.String(), again, err, words)
		}
	})
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "/usr/bin/myservice -p 8080", want: []string{"/usr/bin/myservice", "-p", "8080"}},
		{in: `sh -c 'echo "$HOME"; rm -rf /'`, want: []string{"sh", "-c", `echo "$HOME"; rm -rf /`}},
		{in: `a "b \"c\" \$d \x" e\ f`, want: []string{"a", `b "c" $d \x`, "e f"}},
		{in: `'' ""`, want: []string{"", ""}},
		{in: "  spaced\tout  ", want: []string{"spaced", "out"}},
		{in: "a \\\nb", want: []string{"a", "b"}},
		{in: `$(reboot) *.txt ~`, want: []string{"$(reboot)", "*.txt", "~"}},
		{in: `'open`, err: "unterminated single quote"},
		{in: `"open`, err: "unterminated double quote"},
		{in: `end\`, err: "the command ends with a lone backslash"},
		{in: strings.Repeat("a ", 257), err: "the command has more than 256 words"},
	}
	for _, tc := range tests {
		got, err := splitCommand(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err = %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
