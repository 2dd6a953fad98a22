package sniffer

import (
	"net/netip"
	"time"
)

// The reassembler keeps, per TCP connection, only the first bytes of each
// direction (Limits.StreamBytes): enough for a TLS ClientHello/ServerHello, an SSH
// identification line and KEXINIT, or an HTTP request head. That is all the
// fingerprints need, so unlike a general reassembler (gopacket/reassembly keeps a
// connection's state and out-of-order pages for its whole life and has no cap on
// the number of connections) every bound here is a hard one: bytes per direction,
// out-of-order segments per direction, connections in the table, bytes buffered in
// all, and an idle timeout. A connection whose directions are both finished keeps a
// small tombstone until FIN/RST or the timeout so its later segments cost one map
// lookup.

// endpoint is one side of a TCP connection.
type endpoint struct {
	addr netip.Addr
	port uint16
}

func (e endpoint) less(o endpoint) bool {
	if c := e.addr.Compare(o.addr); c != 0 {
		return c < 0
	}
	return e.port < o.port
}

// flowKey names a connection regardless of direction: a is the smaller endpoint.
type flowKey struct{ a, b endpoint }

func keyOf(src, dst endpoint) (flowKey, int) {
	if src.less(dst) {
		return flowKey{src, dst}, 0
	}
	return flowKey{dst, src}, 1
}

// Protocols a direction can be recognised as.
const (
	protoUnknown uint8 = iota
	protoTLS
	protoSSH
	protoHTTP
	protoPreamble // a proxy preamble (SOCKS, HTTP CONNECT) that may be followed by TLS
	protoOther
)

// segment is an out-of-order piece of one direction, waiting for the gap before it.
type segment struct {
	seq  uint32
	data []byte
}

// maxOutOfOrder bounds the out-of-order segments held per direction.
const maxOutOfOrder = 16

// half is one direction of a connection (the bytes one endpoint sent).
type half struct {
	started bool   // next is meaningful
	done    bool   // nothing more is wanted from this direction
	proto   uint8  // what its first bytes are
	next    uint32 // sequence number of the next byte wanted
	buf     []byte // contiguous prefix of the stream
	ooo     []segment
	oooLen  int
	fin     bool
	data    bool // it sent payload

	// protocol progress
	tlsOff   int    // where the TLS records start in buf (after a proxy preamble)
	hellos   int    // TLS hellos already reported
	sshIdent string // SSH identification line, once read
	sshOff   int    // where the SSH binary packets start in buf
}

// flow is one TCP connection. ep[i] sent half[i].
type flow struct {
	ep     [2]endpoint
	client int8 // index of the client (SYN sender), -1 while unknown
	half   [2]half
	last   time.Time
}

func (f *flow) finished() bool { return f.half[0].done && f.half[1].done }

// add appends a segment's payload to h, trimming retransmitted bytes and keeping
// out-of-order segments (bounded) until the gap before them fills. It reports
// whether the contiguous prefix grew. limit is the prefix size wanted; budget is
// decremented by the bytes newly buffered and refuses buffering when exhausted.
func (h *half) add(seq uint32, payload []byte, limit int, budget *int) bool {
	if h.done || len(payload) == 0 {
		return false
	}
	h.data = true
	if !h.started {
		h.started, h.next = true, seq
	}
	grew := h.appendAt(seq, payload, limit, budget)
	if grew {
		for progress := true; progress && len(h.ooo) > 0; {
			progress = false
			for i := 0; i < len(h.ooo); i++ {
				s := h.ooo[i]
				if d := int32(s.seq - h.next); d > 0 {
					continue
				}
				h.ooo = append(h.ooo[:i], h.ooo[i+1:]...)
				h.oooLen -= len(s.data)
				*budget += len(s.data)
				h.appendAt(s.seq, s.data, limit, budget)
				progress = true
				i--
			}
		}
	}
	if len(h.buf) >= limit {
		h.dropOOO(budget)
	}
	return grew
}

// appendAt appends the part of payload (starting at seq) that extends the prefix,
// or stores it out of order when it starts after a gap.
func (h *half) appendAt(seq uint32, payload []byte, limit int, budget *int) bool {
	d := int32(seq - h.next)
	if d > 0 {
		// After a gap: keep it if there is room.
		if len(h.ooo) >= maxOutOfOrder || h.oooLen+len(payload) > limit || *budget < len(payload) || int(d) >= limit {
			return false
		}
		h.ooo = append(h.ooo, segment{seq, append([]byte(nil), payload...)})
		h.oooLen += len(payload)
		*budget -= len(payload)
		return false
	}
	skip := int(-d)
	if skip >= len(payload) {
		return false // all retransmitted
	}
	p := payload[skip:]
	if room := limit - len(h.buf); len(p) > room {
		p = p[:room]
	}
	if len(p) == 0 || *budget < len(p) {
		return false
	}
	if h.buf == nil {
		h.buf = make([]byte, 0, min(limit, max(len(p), 2048)))
	}
	h.buf = append(h.buf, p...)
	*budget -= len(p)
	h.next += uint32(len(payload) - skip) // the whole segment counts as seen
	return true
}

func (h *half) dropOOO(budget *int) {
	*budget += h.oooLen
	h.ooo, h.oooLen = nil, 0
}

// finish marks h done and releases its buffers.
func (h *half) finish(budget *int) {
	h.done = true
	*budget += len(h.buf)
	h.buf = nil
	h.dropOOO(budget)
}
