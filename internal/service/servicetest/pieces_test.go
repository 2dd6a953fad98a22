package servicetest

import (
	"bytes"
	"io"
	"testing"
)

func TestPieces(t *testing.T) {
	data := []byte("EHLO x\r\nMAIL FROM:<a@b>\r\n" + string(bytes.Repeat([]byte("0123456789"), 50)) + "\r\n.\r\nQUIT\r\n")
	var got []byte
	sizes := map[int]int{}
	r := Pieces(data)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if bytes.IndexByte(buf[:n], '\n') >= 0 && buf[n-1] != '\n' {
				t.Fatalf("a piece runs past a line end: %q", buf[:n])
			}
			sizes[n]++
			got = append(got, buf[:n]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("pieces reassemble to %q", got)
	}
	if len(sizes) < 3 || sizes[1] == 0 {
		t.Errorf("piece sizes %v: want single bytes and several other sizes", sizes)
	}
	// The same input is cut the same way; a small buffer bounds every piece.
	a, _ := io.ReadAll(Pieces(data))
	b, _ := io.ReadAll(io.LimitReader(Pieces(data), int64(len(data))))
	if !bytes.Equal(a, data) || !bytes.Equal(b, data) {
		t.Error("ReadAll differs from the input")
	}
	small := make([]byte, 3)
	if n, _ := Pieces(bytes.Repeat([]byte("x"), 100)).Read(small); n > 3 || n == 0 {
		t.Errorf("Read into 3 bytes returned %d", n)
	}
}

func FuzzPieces(f *testing.F) {
	f.Add([]byte("USER a\r\nPASS b\r\n"), uint8(7))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		r := Pieces(data)
		buf := make([]byte, int(size)%64+1)
		var got []byte
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil || n == 0 {
				t.Fatalf("Read = %d, %v", n, err)
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("pieces reassemble to %q, want %q", got, data)
		}
	})
}
