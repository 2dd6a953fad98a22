package telnet

import (
	"bytes"
	"reflect"
	"testing"
)

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		data string
		cmds []Command
	}{
		{"plain", "root\r\n", "root\r", nil},
		{"cr nul", "a\r\x00b", "a\rb", nil},
		{"escaped iac", "a\xff\xffb", "a\xffb", nil},
		{"will", "\xff\xfb\x18x", "x", []Command{{Verb: cmdWILL, Opt: optTTYPE}}},
		{"do dont wont", "\xff\xfd\x01\xff\xfe\x03\xff\xfc\x1f", "", []Command{{Verb: cmdDO, Opt: 1}, {Verb: cmdDONT, Opt: 3}, {Verb: cmdWONT, Opt: 31}}},
		{"ttype is", "\xff\xfa\x18\x00XTERM\xff\xf0", "", []Command{{Verb: cmdSB, Opt: optTTYPE, Data: []byte("\x00XTERM")}}},
		{"sb escaped iac", "\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0", "", []Command{{Verb: cmdSB, Opt: optNAWS, Data: []byte{0, 0xff, 0, 0x18}}}},
		{"sb not closed", "\xff\xfa\x18\x00vt\xff\xfb\x01", "", []Command{{Verb: cmdSB, Opt: optTTYPE, Data: []byte("\x00vt")}, {Verb: cmdWILL, Opt: optEcho}}},
		{"interrupt", "ab\xff\xf4", "ab\x03", []Command{{Verb: cmdIP}}},
		{"nop and ga", "\xff\xf1x\xff\xf9", "x", nil},
		{"ayt", "\xff\xf6", "", []Command{{Verb: cmdAYT}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			data, cmds := p.Feed([]byte(tc.in), nil)
			if string(data) != tc.data {
				t.Errorf("data %q, want %q", data, tc.data)
			}
			if !reflect.DeepEqual(cmds, tc.cmds) {
				t.Errorf("commands %+v, want %+v", cmds, tc.cmds)
			}
		})
	}
}

func TestParserBoundsSubnegotiation(t *testing.T) {
	var p Parser
	in := append([]byte{cmdIAC, cmdSB, optTTYPE}, bytes.Repeat([]byte("A"), 10*maxSB)...)
	in = append(in, cmdIAC, cmdSE)
	_, cmds := p.Feed(in, nil)
	if len(cmds) != 1 || len(cmds[0].Data) != maxSB || !cmds[0].Truncated {
		t.Fatalf("long sub-negotiation not bounded: %d commands", len(cmds))
	}
}

func TestParseEnviron(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][2]string
	}{
		{"\x00USER\x01root", [][2]string{{"USER", "root"}}},
		{"\x00USER\x01admin\x03DISPLAY\x01:0", [][2]string{{"USER", "admin"}, {"DISPLAY", ":0"}}},
		{"\x00US\x02\x01ER\x01a\x02\x00b", [][2]string{{"US\x01ER", "a\x00b"}}},
		{"\x00EMPTY", [][2]string{{"EMPTY", ""}}},
		{"junk\x01x", nil},
	} {
		if got := parseEnviron([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseEnviron(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEscapeIAC(t *testing.T) {
	if got := escapeIAC([]byte("a\xffb\xff")); string(got) != "a\xff\xffb\xff\xff" {
		t.Errorf("escapeIAC = %q", got)
	}
	var p Parser
	if data, _ := p.Feed(escapeIAC([]byte("x\xff\xffy")), nil); string(data) != "x\xff\xffy" {
		t.Errorf("escape round trip = %q", data)
	}
}

// FuzzParser: any input, in any chunking, parses to the same data and commands,
// bounded, without panicking.
func FuzzParser(f *testing.F) {
	for _, s := range []string{"root\r\n", "\xff\xfb\x18\xff\xfa\x18\x00XTERM\xff\xf0", "\xff\xfa\x27\x00\x00USER\x01x\xff\xf0", "a\xff\xff\r\x00", "\xff\xfa\xff\xff\xff", "\xff"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var whole Parser
		d1, c1 := whole.Feed(in, nil)
		var parts Parser
		var d2 []byte
		var c2 []Command
		step := int(chunk%16) + 1
		for i := 0; i < len(in); i += step {
			end := min(i+step, len(in))
			var more []Command
			d2, more = parts.Feed(in[i:end], d2)
			c2 = append(c2, more...)
		}
		if !bytes.Equal(d1, d2) || len(c1) != len(c2) {
			t.Fatalf("chunking changed the result: %q/%d vs %q/%d", d1, len(c1), d2, len(c2))
		}
		if len(d1) > len(in) {
			t.Fatalf("more data out (%d) than in (%d)", len(d1), len(in))
		}
		for i, c := range c1 {
			if len(c.Data) > maxSB {
				t.Fatalf("sub-negotiation of %d bytes", len(c.Data))
			}
			if !bytes.Equal(c.Data, c2[i].Data) || c.Verb != c2[i].Verb || c.Opt != c2[i].Opt {
				t.Fatalf("command %d differs by chunking", i)
			}
			if c.Opt == optNewEnviron && len(c.Data) > 0 {
				if vars := parseEnviron(c.Data[1:]); len(vars) > 32 {
					t.Fatalf("%d environment variables", len(vars))
				}
			}
		}
	})
}
