package tftp

import (
	"bytes"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("\x00\x01startup-config\x00octet\x00"))
	f.Add([]byte("\x00\x02up.bin\x00netascii\x00blksize\x001468\x00tsize\x000\x00timeout\x006\x00"))
	f.Add([]byte("\x00\x01r7tftp.txt\x00netascii\x00"))
	f.Add([]byte("\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x00\x01a\x00octet\x00blksize\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err != nil {
			return
		}
		if r.op != opRRQ && r.op != opWRQ || r.filename == "" || len(r.filename) > maxFilename || len(r.options) > maxOptions {
			t.Fatalf("accepted a bad request: %+v", r)
		}
		blksize, timeout := defaultBlksize, rexmt
		for _, o := range negotiate(r, 1000, &blksize, &timeout) {
			if o[0] == "" {
				t.Fatalf("empty option in OACK")
			}
		}
		if blksize < 8 || blksize > maxBlksize {
			t.Fatalf("blksize %d", blksize)
		}
		if name, ok := clean(r.filename); ok && (bytes.Contains([]byte("/"+name+"/"), []byte("/../")) || len(name) > 0 && name[0] == '/') {
			t.Fatalf("clean(%q) = %q escapes the root", r.filename, name)
		}
	})
}

// FuzzNetascii checks that decoding undoes encoding whatever the block boundary.
func FuzzNetascii(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\rd\x00"), 3)
	f.Add([]byte("\r"), 0)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		enc := toNetascii(b)
		cut = int(uint(cut) % uint(len(enc)+1))
		d := &netasciiDecoder{}
		got := append(d.decode(enc[:cut]), d.decode(enc[cut:])...)
		got = append(got, d.flush()...)
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip of %q gave %q", b, got)
		}
	})
}
