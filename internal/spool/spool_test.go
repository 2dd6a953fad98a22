package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"decnet/internal/event"
)

func rec(i int) *Record {
	e := event.Event{ID: fmt.Sprintf("id-%06d", i), Time: time.Unix(1700000000, int64(i)*1000).UTC(), Decky: "d1",
		Service: "ssh", Type: "auth", AttackerIP: "10.0.0.9", AttackerPort: 4000 + i,
		Fields: map[string]string{"password": "p]\"\n\x1b" + strings.Repeat("x", i%50)}}
	line, _ := event.Format(e)
	return &Record{Event: e, RawLine: string(line)}
}

func readAll(t *testing.T, r *Reader) []*Record {
	t.Helper()
	var out []*Record
	for {
		rc, _, err := r.Next()
		if errors.Is(err, ErrNoData) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rc)
	}
}

func TestAppendReadRotateResume(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, 4096) // small segments: many rotations
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWriter(dir, 0); err == nil {
		t.Fatal("a second writer got the spool")
	}
	for i := 0; i < 200; i++ {
		if _, err := w.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	seqs, _ := Segments(dir)
	if len(seqs) < 10 {
		t.Fatalf("only %d segments after 200 records of ~300 bytes with 4 KiB segments", len(seqs))
	}
	r, _ := OpenReader(dir, Cursor{})
	got := readAll(t, r)
	if len(got) != 200 {
		t.Fatalf("read %d records, want 200", len(got))
	}
	for i, g := range got {
		if g.ID != rec(i).ID || g.Fields["password"] != rec(i).Fields["password"] || g.RawLine != rec(i).RawLine {
			t.Fatalf("record %d differs: %+v", i, g)
		}
	}
	// Resume from a cursor in the middle: exactly the rest, nothing twice.
	r2, _ := OpenReader(dir, Cursor{})
	for i := 0; i < 77; i++ {
		r2.Next()
	}
	mid := r2.Cursor()
	r3, _ := OpenReader(dir, mid)
	rest := readAll(t, r3)
	if len(rest) != 123 || rest[0].ID != rec(77).ID {
		t.Fatalf("resume from %s gave %d records starting %q", mid, len(rest), rest[0].ID)
	}
	// More appends after the reader caught up are seen by the same reader.
	w.Append(rec(200))
	w.Sync()
	more := readAll(t, r3)
	if len(more) != 1 || more[0].ID != rec(200).ID {
		t.Fatalf("follow: got %d records", len(more))
	}
	// Prune keeps the cursor's segment and everything after.
	n, err := Prune(dir, mid)
	if err != nil || n == 0 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	r4, _ := OpenReader(dir, mid)
	if got := readAll(t, r4); len(got) != 124 {
		t.Fatalf("after prune, reading from the cursor gave %d records", len(got))
	}
	w.Close()
}

func TestPartialAndTornLines(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, 0)
	w.Append(rec(1))
	w.Sync()
	// A writer crash mid-line leaves a torn tail: readers never see it...
	f, _ := os.OpenFile(filepath.Join(dir, SegmentName(1)), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event_id":"torn`)
	f.Close()
	r, _ := OpenReader(dir, Cursor{})
	if got := readAll(t, r); len(got) != 1 {
		t.Fatalf("reader returned %d records with a torn tail", len(got))
	}
	w.Close()
	// ...and the next writer cuts it off before appending.
	w2, err := OpenWriter(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	w2.Append(rec(2))
	w2.Sync()
	got := readAll(t, r)
	if len(got) != 1 || got[0].ID != rec(2).ID {
		t.Fatalf("after the torn tail was cut, got %d records", len(got))
	}
	w2.Close()
}

func TestCorruptLineIsReportedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SegmentName(1)), []byte("not json\n"), 0o600)
	w, _ := OpenWriter(dir, 0)
	w.Append(rec(3))
	w.Close()
	r, _ := OpenReader(dir, Cursor{})
	_, at, err := r.Next()
	var ce *CorruptError
	if !errors.As(err, &ce) || at.Offset != 9 {
		t.Fatalf("corrupt line: err %v at %s", err, at)
	}
	rc, _, err := r.Next()
	if err != nil || rc.ID != rec(3).ID {
		t.Fatalf("after the corrupt line: %v %v", rc, err)
	}
}

func TestCursorString(t *testing.T) {
	c := Cursor{12, 3456}
	back, err := ParseCursor(c.String())
	if err != nil || back != c {
		t.Fatalf("round trip %v: %v %v", c, back, err)
	}
	for _, bad := range []string{"x", "1:", ":2", "1:-4", "1:2:3"} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

// What encoding/json writes (Append), decodeRecord reads back as encoding/json
// does, through its fast path; other bytes give a record or an error, never a
// panic, and a record from the fast path is the general decoder's.
// checkFieldsJSON fails unless rec.FieldsJSON is "" or what Record says: part of
// line, a JSON object of rec.Fields without an escape or a null, its names strictly
// increasing.
func checkFieldsJSON(t *testing.T, line []byte, rec *Record) {
	t.Helper()
	fj := rec.FieldsJSON
	if fj == "" {
		return
	}
	if !bytes.Contains(line, []byte(fj)) || strings.Contains(fj, `\`) {
		t.Fatalf("%q: FieldsJSON %q is not an escape-free part of the line", line, fj)
	}
	dec := jsontext.NewDecoder(strings.NewReader(fj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		t.Fatalf("%q: FieldsJSON %q is not an object", line, fj)
	}
	n, prev := 0, ""
	for dec.PeekKind() == '"' {
		kt, _ := dec.ReadToken()
		k := kt.String()
		v, err := dec.ReadToken()
		if err != nil || v.Kind() != '"' || (n > 0 && k <= prev) || rec.Fields[k] != v.String() {
			t.Fatalf("%q: FieldsJSON %q: %q then %q (%v) is not the next of %v", line, fj, prev, k, err, rec.Fields)
		}
		n, prev = n+1, k
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' || n != len(rec.Fields) {
		t.Fatalf("%q: FieldsJSON %q does not hold the %d fields", line, fj, len(rec.Fields))
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add("0190f000-7000-8000-000000000001", "ssh", "p]\"\n\x1b[31m\xff<script>&", "password", "\u2028\u2029 é", int64(1700000000123456), []byte(`{"event_id":"x","fields":{"a":"b"}}`))
	f.Add("", "", "", "", "", int64(0), []byte(`{"EVENT_ID":"x","event_id":"y"}`))
	f.Add("a", "b", "\x00\x01", "k", "\xed\xa0\x80", int64(-1), []byte("{\"msg\":\"\xff\"}"))
	f.Add("", "", "", "", "", int64(0), []byte(`{"fields":{"a":null,"b":"\u00e9"},"attacker_port":1.5} x`))
	f.Add("", "", "", "", "", int64(0), []byte(`{"fields":null,"timestamp":null,"attacker_port":-0,"raw_line":"\ud800"}`))
	f.Add("", "", "", "", "", int64(0), []byte(`{"msg":"\ud83d\ude00\u003c\/\t","timestamp":"2024-02-29T23:59:59.5Z","attacker_port":0,"fields":{}}`))
	f.Add("", "", "", "", "", int64(0), []byte(`{"msg":"\ude00","timestamp":"2023-02-29T00:00:00Z","fields":{"a":"1","a":"2"}}`))
	f.Fuzz(func(t *testing.T, id, svc, val, key, msg string, us int64, line []byte) {
		decodeRecord(line) // arbitrary bytes: no panic
		var d recordDecoder
		if fast, ok := d.fast(line); ok {
			general, err := d.general(line)
			if err != nil {
				t.Fatalf("%q: the fast path decoded what the general decoder refuses: %v", line, err)
			}
			checkFieldsJSON(t, line, fast)
			fast.FieldsJSON = "" // the general decoder leaves it empty
			if !reflect.DeepEqual(fast, general) {
				t.Fatalf("%q:\n fast    %#v\n general %#v", line, fast, general)
			}
		}
		us %= 253402300800000000 // 1970 to 9999: encoding/json refuses years past 9999
		if us < 0 {
			us = -us
		}
		r := &Record{Event: event.Event{ID: id, Time: time.UnixMicro(us).UTC(), Decky: val, Service: svc, Type: key,
			AttackerIP: val, AttackerPort: int(us % 65536), Fields: map[string]string{key: val, "b": msg}, Msg: msg}, RawLine: val + msg}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var want Record
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := d.fast(b)
		if !ok {
			t.Fatalf("%s: the fast path gave up", b)
		}
		if !got.Time.Equal(want.Time) {
			t.Fatalf("%s: time %v, encoding/json reads %v", b, got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		checkFieldsJSON(t, b, got)
		if fj, _ := json.Marshal(r.Fields); !bytes.Contains(fj, []byte{'\\'}) && got.FieldsJSON != string(fj) {
			t.Fatalf("%s: FieldsJSON %q, want the line's fields %s", b, got.FieldsJSON, fj)
		}
		got.FieldsJSON = ""
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", b, *got, want)
		}
	})
}

// BenchmarkDecodeRecord decodes typical records with recordDecoder (reused, as a
// Reader does) and, as baselines in the same run, with its general path alone,
// with encoding/json and with github.com/go-json-experiment/json's Unmarshal (what
// the spool used before).
func BenchmarkDecodeRecord(b *testing.B) {
	var lines [][]byte
	for i := range 64 {
		line, err := json.Marshal(rec(i))
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
	}
	b.Run("encoding/json", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var r Record
			if err := json.Unmarshal(lines[i%len(lines)], &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonv2.Unmarshal", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var r Record
			if err := jsonv2.Unmarshal(lines[i%len(lines)], &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recordDecoder.general", func(b *testing.B) {
		var d recordDecoder
		for i := 0; b.Loop(); i++ {
			if _, err := d.general(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recordDecoder", func(b *testing.B) {
		var d recordDecoder
		for i := 0; b.Loop(); i++ {
			if _, err := d.decode(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
