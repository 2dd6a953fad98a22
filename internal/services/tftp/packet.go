package tftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// Error codes and tftpd-hpa's texts for them.
const (
	errUndef     = 0
	errNotFound  = 1
	errAccess    = 2
	errDiskFull  = 3
	errBadOp     = 4
	errBadID     = 5
	errOptionNeg = 8
)

var errText = map[uint16]string{
	errUndef:     "Undefined error code",
	errNotFound:  "File not found",
	errAccess:    "Access violation",
	errDiskFull:  "Disk full or allocation exceeded",
	errBadOp:     "Illegal TFTP operation",
	errBadID:     "Unknown transfer ID",
	errOptionNeg: "Failure to negotiate RFC2347 options",
}

const (
	maxOptions  = 16
	maxFilename = 512
)

// request is a parsed RRQ or WRQ.
type request struct {
	op       uint16
	filename string
	mode     string // lower-cased
	options  [][2]string
}

var errPacket = errors.New("malformed TFTP packet")

// parseRequest parses an RRQ/WRQ: opcode, filename NUL, mode NUL, then option NUL
// value NUL pairs. A trailing option without its value is ignored, as tftpd-hpa does.
func parseRequest(b []byte) (*request, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", errPacket, len(b))
	}
	r := &request{op: binary.BigEndian.Uint16(b)}
	if r.op != opRRQ && r.op != opWRQ {
		return nil, fmt.Errorf("%w: opcode %d on the server port", errPacket, r.op)
	}
	fields := bytes.Split(b[2:], []byte{0})
	// A well-formed request ends in NUL, so the last field is empty.
	if len(fields) < 3 || len(fields[len(fields)-1]) != 0 {
		return nil, fmt.Errorf("%w: filename and mode must end in NUL", errPacket)
	}
	fields = fields[:len(fields)-1]
	r.filename = string(fields[0])
	if r.filename == "" || len(r.filename) > maxFilename {
		return nil, fmt.Errorf("%w: filename of %d bytes", errPacket, len(r.filename))
	}
	r.mode = strings.ToLower(string(fields[1]))
	for i := 2; i+1 < len(fields) && len(r.options) < maxOptions; i += 2 {
		r.options = append(r.options, [2]string{strings.ToLower(string(fields[i])), string(fields[i+1])})
	}
	return r, nil
}

func errorPacket(code uint16, msg string) []byte {
	if msg == "" {
		msg = errText[code]
	}
	b := binary.BigEndian.AppendUint16(nil, opERROR)
	b = binary.BigEndian.AppendUint16(b, code)
	b = append(b, msg...)
	return append(b, 0)
}

func ackPacket(block uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opACK), block)
}

func dataPacket(block uint16, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 4+len(data)), opDATA)
	b = binary.BigEndian.AppendUint16(b, block)
	return append(b, data...)
}

func oackPacket(opts [][2]string) []byte {
	b := binary.BigEndian.AppendUint16(nil, opOACK)
	for _, o := range opts {
		b = append(append(append(append(b, o[0]...), 0), o[1]...), 0)
	}
	return b
}

// toNetascii converts a file to netascii: LF becomes CR LF, a lone CR becomes CR NUL.
func toNetascii(b []byte) []byte {
	var out bytes.Buffer
	for _, c := range b {
		switch c {
		case '\n':
			out.WriteString("\r\n")
		case '\r':
			out.WriteString("\r\x00")
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

// netasciiDecoder converts netascii back to the native form, across block
// boundaries: CR LF → LF, CR NUL → CR.
type netasciiDecoder struct{ pendingCR bool }

func (d *netasciiDecoder) decode(b []byte) []byte {
	out := make([]byte, 0, len(b)+1)
	for _, c := range b {
		if d.pendingCR {
			d.pendingCR = false
			switch c {
			case '\n':
				out = append(out, '\n')
				continue
			case 0:
				out = append(out, '\r')
				continue
			default:
				out = append(out, '\r')
			}
		}
		if c == '\r' {
			d.pendingCR = true
			continue
		}
		out = append(out, c)
	}
	return out
}

// flush returns a CR left pending at the end of the file.
func (d *netasciiDecoder) flush() []byte {
	if d.pendingCR {
		d.pendingCR = false
		return []byte{'\r'}
	}
	return nil
}
