package servicetest

import (
	"bytes"
	"io"
	"testing"
)

// readPieces reads r to the end through buf, returning each Read's bytes.
func readPieces(t *testing.T, r io.Reader, buf []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			out = append(out, append([]byte(nil), buf[:n]...))
		}
		if err == io.EOF {
			return out
		}
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
}

func TestPieces(t *testing.T) {
	data := []byte("EHLO x\r\nMAIL FROM:<a@b>\r\n" + string(bytes.Repeat([]byte("0123456789"), 50)) + "\r\n.\r\nQUIT\r\n")
	ps := readPieces(t, Pieces(data), make([]byte, 4096))
	sizes := map[int]int{}
	for _, p := range ps {
		if i := bytes.IndexByte(p, '\n'); i >= 0 && i != len(p)-1 {
			t.Fatalf("a piece runs past a line end: %q", p)
		}
		sizes[len(p)]++
	}
	if got := bytes.Join(ps, nil); !bytes.Equal(got, data) {
		t.Fatalf("pieces reassemble to %q", got)
	}
	if len(sizes) < 3 || sizes[1] == 0 {
		t.Errorf("piece sizes %v: want single bytes and several other sizes", sizes)
	}
	// The same input is cut the same way.
	if again := readPieces(t, Pieces(data), make([]byte, 4096)); len(again) != len(ps) {
		t.Errorf("the same input was cut into %d pieces, then %d", len(ps), len(again))
	}
	var w bytes.Buffer
	if err := WritePieces(&w, data); err != nil || !bytes.Equal(w.Bytes(), data) {
		t.Errorf("WritePieces wrote %q, %v", w.Bytes(), err)
	}
}

func FuzzPieces(f *testing.F) {
	f.Add([]byte("USER a\r\nPASS b\r\n"), uint8(7))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		buf := make([]byte, int(size)%64+1)
		ps := readPieces(t, Pieces(data), buf)
		for _, p := range ps {
			if len(p) > len(buf) {
				t.Fatalf("a piece of %d bytes from a %d-byte buffer", len(p), len(buf))
			}
		}
		if got := bytes.Join(ps, nil); !bytes.Equal(got, data) {
			t.Fatalf("pieces reassemble to %q, want %q", got, data)
		}
	})
}
