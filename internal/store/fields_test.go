package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"ünïcode 💀", "ünïcode 💀"},
		{"\x00\n\x1b", "\x00\n\x1b"}, // valid UTF-8 stays itself (JSON escapes it)
		{"\xff", BinaryMarker + "/w=="},
		{BinaryMarker, BinaryMarker + "77+9YjY0Og=="},
		{BinaryMarker + "x", BinaryMarker + "77+9YjY0Ong="},
		{"\uFFFD", "\uFFFD"},
	}
	for _, c := range cases {
		if got := encodeString(c.in); got != c.want {
			t.Errorf("encodeString(%q) = %q, want %q", c.in, got, c.want)
		}
		back, err := decodeString(encodeString(c.in))
		if err != nil || back != c.in {
			t.Errorf("decodeString(encodeString(%q)) = %q, %v", c.in, back, err)
		}
	}
	if _, err := decodeString(BinaryMarker + "!!"); err == nil {
		t.Error("decodeString accepted invalid base64 after the marker")
	}
}

func TestEncodeFieldsJSON(t *testing.T) {
	in := map[string]string{"b": "<&>\u2028", "a": "q\"\\", "\xff": "\x01"}
	got := string(encodeFields(nil, in))
	want := `{"a":"q\"\\","b":"<&>\u2028","` + BinaryMarker + `/w==":"\u0001"}`
	if got != want {
		t.Errorf("encodeFields = %s\nwant          %s", got, want)
	}
	if string(encodeFields(nil, nil)) != "{}" {
		t.Error("empty fields are not {}")
	}
	if jsonEscapeFragment(`a"b`+"\n") != `a\"b\n` {
		t.Errorf("jsonEscapeFragment = %q", jsonEscapeFragment(`a"b`+"\n"))
	}
	if _, err := decodeFields([]byte(`{"a":1}`)); err == nil {
		t.Error("decodeFields accepted a non-string value")
	}
}

// FuzzFieldsRoundTrip: any map of any bytes encodes to valid JSON that the standard
// decoder reads as the encoded strings, and decodes back exactly.
func FuzzFieldsRoundTrip(f *testing.F) {
	f.Add("k", "v", "k2", "v2")
	f.Add("\xff", "\x00", BinaryMarker, "\u2028]\"\\")
	f.Add("", "", "\x1b[31m", "\xc3(")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		in := map[string]string{k1: v1, k2: v2}
		enc := encodeFields(nil, in)
		if !utf8.Valid(enc) || !json.Valid(enc) {
			t.Fatalf("encodeFields gave invalid JSON: %q", enc)
		}
		var std map[string]string
		if err := json.Unmarshal(enc, &std); err != nil {
			t.Fatal(err)
		}
		for k, v := range in {
			if std[encodeString(k)] != encodeString(v) {
				t.Fatalf("standard decoder disagrees for %q", k)
			}
		}
		out, err := decodeFields(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip: %q → %q", in, out)
		}
		frag := jsonEscapeFragment(in[k1])
		if !strings.Contains(string(enc), frag) {
			t.Fatalf("fragment %q of %q not found in %s", frag, in[k1], enc)
		}
	})
}

// FuzzDecodeCompactFields: whatever the bytes, the hand-written reader either
// declines or agrees with encoding/json followed by decodeString — and it never
// declines what encodeFields writes.
func FuzzDecodeCompactFields(f *testing.F) {
	f.Add([]byte(`{"a":"b"}`))
	f.Add(encodeFields(nil, map[string]string{"b": "<&>\u2028", "a": "q\"\\", "\xff": "\x01\t\r\n"}))
	f.Add([]byte(`{"a":"\ud83d\ude00","b":"\/"}`))
	f.Add([]byte(`{"a":"x","a":"y"}`))
	f.Add([]byte(`{ "a" : "b" }`))
	f.Add([]byte(`{"` + BinaryMarker + `!!":"x"}`))
	f.Add([]byte(`{"a":"\u00e9\u00E9"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeCompactFields(b)
		var raw map[string]string
		if err := json.Unmarshal(b, &raw); err != nil {
			if ok {
				t.Fatalf("%q: decodeCompactFields = %q, encoding/json refuses it: %v", b, fast, err)
			}
			return
		}
		if !ok {
			if bytes.Equal(encodeFields(nil, raw), b) {
				t.Fatalf("%q: declined what encodeFields writes", b)
			}
			return
		}
		want := make(map[string]string, len(raw))
		for k, v := range raw {
			dk, err1 := decodeString(k)
			dv, err2 := decodeString(v)
			if err1 != nil || err2 != nil {
				t.Fatalf("%q: decodeCompactFields = %q, the stored strings do not decode", b, fast)
			}
			want[dk] = dv
		}
		if (len(fast) > 0 || len(want) > 0) && !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: decodeCompactFields = %q, encoding/json path = %q", b, fast, want)
		}
	})
}

// FuzzValidCompactObject: the fast check never accepts what encoding/json (with
// UTF-8 validation) refuses, and accepts every object encodeFields writes.
func FuzzValidCompactObject(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"kind":"ja3","value":"771,4865-4866","service":"https"}`))
	f.Add([]byte(`{"a":"\u003c\u2028\"\\\n","b":"\ud83d\ude00"}`))
	f.Add([]byte(`{"a":"x","a":"y"}`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Add([]byte(`{"a":"b"}x}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast := validCompactObject(b)
		full := utf8.Valid(b) && json.Valid(b)
		if fast && !full {
			t.Fatalf("%q: validCompactObject accepts it, encoding/json or UTF-8 validation does not", b)
		}
		var m map[string]string
		if full && json.Unmarshal(b, &m) == nil {
			if e := encodeFields(nil, m); !validCompactObject(e) {
				t.Fatalf("%q: validCompactObject refuses what encodeFields writes, %q", b, e)
			}
		}
	})
}

// FuzzIsStoredFields holds isStoredFields(js, m) equal to js being exactly
// encodeFields(m) with every name and value written as it is (the only texts it
// recognizes), for arbitrary text and maps, for encodeFields' own output, and for
// encoding/json's (which spooled records hold).
func FuzzIsStoredFields(f *testing.F) {
	f.Add(`{"a":"b","c":"d"}`, "a", "b", "c", "d")
	f.Add(`{"c":"d","a":"b"}`, "a", "b", "c", "d")
	f.Add(`{"a":"b"}`, "a", "b", "a", "b")
	f.Add(`{}`, "", "", "", "")
	f.Add(`{"a":"<&>"}`, "a", "<&>", "a", "\u2028")
	f.Add(`{"a":"\"x"}`, "a", "\"x", "\xff", BinaryMarker+"x")
	f.Add(`{"a":"b",}`, "a", "\x00", "é", "\u2029")
	f.Add(`{"a":"`+BinaryMarker+`x"}`, "a", BinaryMarker+"x", "a", BinaryMarker+"x")
	f.Fuzz(func(t *testing.T, js, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		asItIs := true
		for k, v := range m {
			for _, s := range []string{k, v} {
				asItIs = asItIs && encodeString(s) == s && string(appendJSONString(nil, s)) == `"`+s+`"`
			}
		}
		check := func(js string) {
			t.Helper()
			if got, want := isStoredFields(js, m), asItIs && js == string(encodeFields(nil, m)); got != want {
				t.Fatalf("isStoredFields(%q, %q) = %v, encodeFields writes %q", js, m, got, encodeFields(nil, m))
			}
		}
		check(js)
		check(string(encodeFields(nil, m)))
		if b, err := json.Marshal(m); err == nil {
			check(string(b))
		}
	})
}

// BenchmarkStoredFields encodes a login event's fields (encodeFields) and, for
// comparison, checks that a spooled record's text of them is their encoding
// (isStoredFields), as Encoder.EncodeJSON does.
func BenchmarkStoredFields(b *testing.B) {
	m := map[string]string{"username": "root", "password": "pass12345", "method": "password", "outcome": "failure",
		"client_version": "SSH-2.0-libssh2_1.10.0", "hassh": "ec7378c1a92f5a8dde7e8b7a1ddf33d1"}
	js := string(encodeFields(nil, m))
	b.Run("encodeFields", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = encodeFields(buf[:0], m)
		}
	})
	b.Run("isStoredFields", func(b *testing.B) {
		for b.Loop() {
			if !isStoredFields(js, m) {
				b.Fatal("refused")
			}
		}
	})
}

func BenchmarkValidatePayload(b *testing.B) {
	p := []byte(`{"method":"password","outcome":"failure","password":"pass12345","secret_b64":"cGFzczEyMzQ1","secret_kind":"plaintext","service":"ssh","username":"root"}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if !validCompactObject(p) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if !utf8.Valid(p) || !json.Valid(p) {
				b.Fatal("refused")
			}
		}
	})
}
