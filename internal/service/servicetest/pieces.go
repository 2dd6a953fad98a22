package servicetest

import (
	"hash/fnv"
	"io"
)

// Pieces returns a reader of data that hands it over in pieces, as a TCP peer's
// bytes arrive: a piece ends after every '\n' (a line protocol's header boundary)
// and at positions drawn from a generator seeded by a hash of data, sometimes one
// byte at a time. The cuts are a function of data alone, so a fuzz target that
// reads its input through Pieces explores splits as the fuzzer mutates the input
// without a second argument (its seed corpus keeps its shape). A parser that takes
// one Read for one message — or loops on a header it has only half seen — fails on
// input a real client can send.
func Pieces(data []byte) io.Reader {
	h := fnv.New64a()
	h.Write(data)
	return &pieces{data: data, state: h.Sum64() | 1}
}

type pieces struct {
	data  []byte
	state uint64
}

// next is xorshift64: cheap, and deterministic for one input.
func (p *pieces) next() uint64 {
	p.state ^= p.state << 13
	p.state ^= p.state >> 7
	p.state ^= p.state << 17
	return p.state
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	n := len(p.data)
	switch r := p.next(); r % 4 {
	case 0:
		n = 1
	case 1:
		n = 1 + int(r>>8%16)
	case 2:
		n = 1 + int(r>>8%uint64(n))
	}
	n = min(n, len(p.data), len(b))
	for i, c := range p.data[:n] {
		if c == '\n' {
			n = i + 1
			break
		}
	}
	n = copy(b, p.data[:n])
	p.data = p.data[n:]
	return n, nil
}

// WritePieces writes data to w in the pieces Pieces cuts it into, one Write each: on
// a TCP connection (Go sets TCP_NODELAY) each piece leaves as its own segment.
func WritePieces(w io.Writer, data []byte) error {
	_, err := io.CopyBuffer(struct{ io.Writer }{w}, Pieces(data), make([]byte, 64<<10))
	return err
}
