package collector

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const ts1 = "2024-05-06T07:08:09.123456789Z"
const ts2 = "2024-05-06T07:08:10.000000001Z"

type gotLine struct {
	ts      string
	data    string
	dropped int64
	badTS   bool
}

func collect(max int, feed func(a *assembler)) []gotLine {
	var out []gotLine
	a := newAssembler(max, func(l *line) error {
		out = append(out, gotLine{l.rawTS, string(l.data), l.dropped, l.badTS})
		return nil
	})
	feed(a)
	return out
}

func TestAssembler(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		frames []string
		flush  bool
		want   []gotLine
	}{
		{"one line", 100, []string{ts1 + " hello\n"}, false, []gotLine{{ts1, "hello", 0, false}}},
		{"crlf", 100, []string{ts1 + " hello\r\n"}, false, []gotLine{{ts1, "hello", 0, false}}},
		{"empty line", 100, []string{ts1 + " \n"}, false, []gotLine{{ts1, "", 0, false}}},
		{"partials share the first timestamp", 100, []string{ts1 + " ab", ts2 + " cd", ts2 + " ef\n"}, false,
			[]gotLine{{ts1, "abcdef", 0, false}}},
		{"two lines", 100, []string{ts1 + " a\n", ts2 + " b\n"}, false,
			[]gotLine{{ts1, "a", 0, false}, {ts2, "b", 0, false}}},
		{"incomplete line waits", 100, []string{ts1 + " a\n", ts2 + " b"}, false, []gotLine{{ts1, "a", 0, false}}},
		{"incomplete line flushed", 100, []string{ts1 + " a\n", ts2 + " b"}, true,
			[]gotLine{{ts1, "a", 0, false}, {ts2, "b", 0, false}}},
		{"overlong is cut and counted", 5, []string{ts1 + " abc", ts1 + " defgh", ts1 + " ij\n", ts2 + " ok\n"}, false,
			[]gotLine{{ts1, "abcde", 5, false}, {ts2, "ok", 0, false}}},
		{"cut line keeps its CR", 3, []string{ts1 + " abc\r\n"}, false, []gotLine{{ts1, "abc", 1, false}}},
		{"no timestamp", 100, []string{ts1 + " a\n", "garbage\n"}, false,
			[]gotLine{{ts1, "a", 0, false}, {ts1, "garbage", 0, true}}},
		{"bad timestamp", 100, []string{"2024-13-01T00:00:00Z x\n"}, false,
			[]gotLine{{"", "2024-13-01T00:00:00Z x", 0, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(tc.max, func(a *assembler) {
				for _, f := range tc.frames {
					if n, err := a.Write([]byte(f)); err != nil || n != len(f) {
						t.Fatalf("Write = %d, %v", n, err)
					}
				}
				if tc.flush {
					a.flush()
				}
			})
			if len(got) != len(tc.want) {
				t.Fatalf("got %d lines %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestReadRaw(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	in := ts1 + " a\r\n" + ts2 + " " + long + "\r\n" + ts2 + " tail"
	got := collect(1<<20, func(a *assembler) {
		if err := readRaw(strings.NewReader(in), a); err != nil {
			t.Fatal(err)
		}
	})
	if len(got) != 2 || got[0].data != "a" || got[1].data != long || got[1].ts != ts2 {
		t.Fatalf("raw stream gave %d lines", len(got))
	}
}

func TestSkipper(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ns int) time.Time { return t0.Add(time.Duration(ns)) }
	tests := []struct {
		name  string
		pos   Position
		lines []int // timestamps (ns after t0)
		want  []bool
		end   Position
	}{
		{"zero position admits all", Position{}, []int{5, 5, 3}, []bool{true, true, true}, Position{at(5), 2}},
		{"skips up to the cursor", Position{at(10), 1}, []int{8, 9, 10, 11, 12}, []bool{false, false, false, true, true}, Position{at(12), 1}},
		{"equal timestamps counted", Position{at(10), 2}, []int{9, 10, 10, 10, 10}, []bool{false, false, false, true, true}, Position{at(10), 4}},
		{"live after the first new line even backwards", Position{at(10), 1}, []int{10, 11, 7, 11}, []bool{false, true, true, true}, Position{at(11), 2}},
		{"nothing new", Position{at(10), 3}, []int{10, 10, 10}, []bool{false, false, false}, Position{at(10), 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSkipper(tc.pos)
			for i, ns := range tc.lines {
				if got := s.admit(at(ns)); got != tc.want[i] {
					t.Fatalf("line %d (ts %d): admit = %v, want %v", i, ns, got, tc.want[i])
				}
			}
			if !s.pos.TS.Equal(tc.end.TS) || s.pos.N != tc.end.N {
				t.Fatalf("end position %+v, want %+v", s.pos, tc.end)
			}
		})
	}
}

func TestPositionJSONAndSince(t *testing.T) {
	p := Position{TS: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), N: 3}
	b, err := json.Marshal(p)
	if err != nil || !bytes.Contains(b, []byte(`"2024-05-06T07:08:09.123456789Z"`)) {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var q Position
	if err := json.Unmarshal(b, &q); err != nil || !q.TS.Equal(p.TS) || q.N != 3 {
		t.Fatalf("round trip: %+v %v", q, err)
	}
	for _, bad := range []string{`{"ts":"x","n":1}`, `{"ts":"2024-05-06T07:08:09Z","n":-1}`} {
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if s := p.since(); s != "2024-05-06T07:08:08.123456789Z" {
		t.Fatalf("since = %s", s)
	}
	if (Position{}).since() != "" {
		t.Fatal("zero position has a since")
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/state.json"
	if st, ok, err := LoadState(path); err != nil || ok || st.Containers == nil {
		t.Fatalf("missing state: %+v %v %v", st, ok, err)
	}
	want := State{Version: stateVersion, Spool: "3:1200", QuarantineSize: 77,
		Containers: map[string]Position{"abc": {TS: time.Unix(1700000000, 5).UTC(), N: 2}}}
	b, _ := json.Marshal(want)
	if err := writeFileAtomic(path, b); err != nil {
		t.Fatal(err)
	}
	st, ok, err := LoadState(path)
	if err != nil || !ok || st.Spool != "3:1200" || st.QuarantineSize != 77 || st.Containers["abc"].N != 2 {
		t.Fatalf("load: %+v %v %v", st, ok, err)
	}
	for _, bad := range []string{`{`, `{"version":9}`, `{"version":1,"spool":"x"}`} {
		writeFileAtomic(path, []byte(bad))
		if _, _, err := LoadState(path); err == nil {
			t.Errorf("state %s accepted", bad)
		}
	}
}

// FuzzAssembler feeds arbitrary frames: no panic, no line over the limit, and every
// byte of content is either in a line or counted as dropped.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte(ts1+" hello\n"), []byte(ts2+" wor"), []byte("ld\n"), 8)
	f.Add([]byte("x"), []byte(ts1+" \r\n"), []byte(""), 1)
	f.Add([]byte(ts1), []byte(" "), []byte("\n\n"), 0)
	f.Fuzz(func(t *testing.T, a, b, c []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		asm := newAssembler(max, func(l *line) error {
			if len(l.data) > max {
				t.Fatalf("line of %d bytes over the limit %d", len(l.data), max)
			}
			return nil
		})
		for _, fr := range [][]byte{a, b, c} {
			if len(fr) == 0 {
				continue
			}
			if _, err := asm.Write(fr); err != nil {
				t.Fatal(err)
			}
		}
		asm.flush()
		if err := readRaw(bytes.NewReader(append(append(a, b...), c...)), asm); err != nil {
			t.Fatal(err)
		}
	})
}
