package mongodb

// The MongoDB wire protocol framing: the 16-byte message header, OP_MSG (2013),
// the legacy OP_QUERY (2004) that nmap, old drivers and every driver's first
// handshake still send, and the replies (OP_MSG, OP_REPLY). The BSON inside is
// read and written with go.mongodb.org/mongo-driver/v2/bson; the driver's own
// wire code (x/mongo/driver/wiremessage) only builds client messages and reads
// replies, and has no bound on what it accepts, so the server side is written
// here, bounded by MaxMessage, and fuzzed (FuzzParseMessage).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Op codes.
const (
	opReply      = 1
	opUpdate     = 2001
	opInsert     = 2002
	opQuery      = 2004
	opGetMore    = 2005
	opDelete     = 2006
	opKillCursor = 2007
	opCompressed = 2012
	opMsg        = 2013
)

// MaxMessage bounds one incoming message. mongod accepts 48 000 000 bytes
// (maxMessageSizeBytes); a honeypot has no use for more than this.
const MaxMessage = 4 << 20

// maxSequenceDocs bounds the documents of one OP_MSG document sequence.
const maxSequenceDocs = 1000

// header is a message header.
type header struct {
	Length     int32
	RequestID  int32
	ResponseTo int32
	OpCode     int32
}

// errTooLarge is a message header announcing a length beyond MaxMessage (or
// below the header's own size): mongod logs it and closes the connection.
var errTooLarge = errors.New("message length out of bounds")

// readMessage reads one whole message: its header and the body after it.
func readMessage(r io.Reader) (header, []byte, error) {
	var hb [16]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return header{}, nil, err
	}
	h := parseHeader(hb[:])
	if h.Length < 16 || h.Length > MaxMessage {
		return h, nil, fmt.Errorf("%w: %d bytes", errTooLarge, h.Length)
	}
	body := make([]byte, h.Length-16)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, fmt.Errorf("read a %d-byte message body: %w", h.Length, err)
	}
	return h, body, nil
}

func parseHeader(b []byte) header {
	return header{
		Length:     int32(binary.LittleEndian.Uint32(b[0:])),
		RequestID:  int32(binary.LittleEndian.Uint32(b[4:])),
		ResponseTo: int32(binary.LittleEndian.Uint32(b[8:])),
		OpCode:     int32(binary.LittleEndian.Uint32(b[12:])),
	}
}

// request is a parsed command message.
type request struct {
	op         int32
	db         string   // $db (OP_MSG) or the database of "<db>.$cmd" (OP_QUERY)
	collection string   // OP_QUERY's full collection name
	cmd        bson.Raw // the command document ($query unwrapped)
	// sequences holds OP_MSG kind-1 sections by identifier (documents of an
	// insert, updates of an update, ...).
	sequences map[string][]bson.Raw
	// moreToCome: the client wants no reply (OP_MSG flag bit 1).
	moreToCome bool
}

var errMalformed = errors.New("malformed message")

// OP_MSG flag bits.
const (
	flagChecksumPresent = 1 << 0
	flagMoreToCome      = 1 << 1
	flagExhaustAllowed  = 1 << 16
)

// parseMsg parses an OP_MSG body.
func parseMsg(body []byte) (*request, error) {
	if len(body) < 5 {
		return nil, fmt.Errorf("%w: OP_MSG shorter than its flags", errMalformed)
	}
	flags := binary.LittleEndian.Uint32(body)
	// Bits 0-15 are required: an unknown one must fail the message.
	if flags&0xffff&^(flagChecksumPresent|flagMoreToCome) != 0 {
		return nil, fmt.Errorf("%w: unsupported OP_MSG flag bits 0x%x", errMalformed, flags)
	}
	rest := body[4:]
	if flags&flagChecksumPresent != 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: OP_MSG checksum missing", errMalformed)
		}
		rest = rest[:len(rest)-4]
	}
	rq := &request{op: opMsg, moreToCome: flags&flagMoreToCome != 0}
	for len(rest) > 0 {
		kind := rest[0]
		rest = rest[1:]
		switch kind {
		case 0:
			doc, n, err := readDoc(rest)
			if err != nil {
				return nil, fmt.Errorf("OP_MSG body section: %w", err)
			}
			if rq.cmd != nil {
				return nil, fmt.Errorf("%w: OP_MSG with two body sections", errMalformed)
			}
			rq.cmd = doc
			rest = rest[n:]
		case 1:
			if len(rest) < 4 {
				return nil, fmt.Errorf("%w: truncated document sequence", errMalformed)
			}
			size := int(binary.LittleEndian.Uint32(rest))
			if size < 5 || size > len(rest) {
				return nil, fmt.Errorf("%w: document sequence size %d", errMalformed, size)
			}
			seq := rest[4:size]
			rest = rest[size:]
			id, n, ok := cstring(seq)
			if !ok {
				return nil, fmt.Errorf("%w: document sequence identifier", errMalformed)
			}
			seq = seq[n:]
			if rq.sequences == nil {
				rq.sequences = map[string][]bson.Raw{}
			}
			for len(seq) > 0 {
				if len(rq.sequences[id]) >= maxSequenceDocs {
					return nil, fmt.Errorf("%w: more than %d documents in a sequence", errMalformed, maxSequenceDocs)
				}
				doc, n, err := readDoc(seq)
				if err != nil {
					return nil, fmt.Errorf("OP_MSG document sequence %q: %w", id, err)
				}
				rq.sequences[id] = append(rq.sequences[id], doc)
				seq = seq[n:]
			}
		default:
			return nil, fmt.Errorf("%w: unknown OP_MSG section kind %d", errMalformed, kind)
		}
	}
	if rq.cmd == nil {
		return nil, fmt.Errorf("%w: OP_MSG without a body section", errMalformed)
	}
	if v, ok := rq.cmd.Lookup("$db").StringValueOK(); ok {
		rq.db = v
	}
	return rq, nil
}

// parseQuery parses an OP_QUERY body: flags, fullCollectionName, numberToSkip,
// numberToReturn, query [, returnFieldsSelector].
func parseQuery(body []byte) (*request, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: OP_QUERY shorter than its flags", errMalformed)
	}
	name, n, ok := cstring(body[4:])
	if !ok {
		return nil, fmt.Errorf("%w: OP_QUERY collection name", errMalformed)
	}
	rest := body[4+n:]
	if len(rest) < 8 {
		return nil, fmt.Errorf("%w: OP_QUERY skip/return counts", errMalformed)
	}
	doc, _, err := readDoc(rest[8:])
	if err != nil {
		return nil, fmt.Errorf("OP_QUERY query document: %w", err)
	}
	rq := &request{op: opQuery, collection: name, cmd: doc}
	// Drivers wrap a command with read preferences as {$query: {...}, $readPreference: ...}.
	if inner, ok := doc.Lookup("$query").DocumentOK(); ok {
		rq.cmd = inner
	} else if inner, ok := doc.Lookup("query").DocumentOK(); ok && firstKey(doc) == "query" {
		rq.cmd = inner
	}
	rq.db = name
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			rq.db = name[:i]
			break
		}
	}
	return rq, nil
}

// parseMessage parses a command message of a supported op code.
func parseMessage(h header, body []byte) (*request, error) {
	switch h.OpCode {
	case opMsg:
		return parseMsg(body)
	case opQuery:
		return parseQuery(body)
	}
	return nil, fmt.Errorf("%w: op code %d", errMalformed, h.OpCode)
}

// readDoc reads one BSON document at the start of b and validates it.
func readDoc(b []byte) (bson.Raw, int, error) {
	if len(b) < 5 {
		return nil, 0, fmt.Errorf("%w: truncated BSON document", errMalformed)
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 5 || n > len(b) {
		return nil, 0, fmt.Errorf("%w: BSON document length %d", errMalformed, n)
	}
	doc := bson.Raw(b[:n])
	if err := doc.Validate(); err != nil {
		return nil, 0, fmt.Errorf("%w: invalid BSON: %v", errMalformed, err)
	}
	return doc, n, nil
}

// cstring reads a NUL-terminated string; n counts the NUL.
func cstring(b []byte) (string, int, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), i + 1, true
		}
	}
	return "", 0, false
}

// firstKey is the name of a document's first element ("" when empty).
func firstKey(doc bson.Raw) string {
	e, err := doc.IndexErr(0)
	if err != nil {
		return ""
	}
	return e.Key()
}

// appendHeader appends a message header.
func appendHeader(b []byte, length, requestID, responseTo, op int32) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(length))
	b = binary.LittleEndian.AppendUint32(b, uint32(requestID))
	b = binary.LittleEndian.AppendUint32(b, uint32(responseTo))
	return binary.LittleEndian.AppendUint32(b, uint32(op))
}

// opMsgReply is an OP_MSG holding doc as its body section.
func opMsgReply(requestID, responseTo int32, doc []byte) []byte {
	n := 16 + 4 + 1 + len(doc)
	b := appendHeader(make([]byte, 0, n), int32(n), requestID, responseTo, opMsg)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 0)
	return append(b, doc...)
}

// opReplyFlagAwaitCapable is set on every OP_REPLY mongod sends.
const opReplyFlagAwaitCapable = 8

// opReplyMsg is an OP_REPLY with one document, as mongod answers OP_QUERY.
func opReplyMsg(requestID, responseTo int32, doc []byte) []byte {
	n := 16 + 20 + len(doc)
	b := appendHeader(make([]byte, 0, n), int32(n), requestID, responseTo, opReply)
	b = binary.LittleEndian.AppendUint32(b, opReplyFlagAwaitCapable)
	b = binary.LittleEndian.AppendUint64(b, 0) // cursorID
	b = binary.LittleEndian.AppendUint32(b, 0) // startingFrom
	b = binary.LittleEndian.AppendUint32(b, 1) // numberReturned
	return append(b, doc...)
}

// E is one element of a reply document (bson.E, keyed locally so that reply
// tables read as {"key", value} pairs).
type E struct {
	Key   string
	Value any
}

// D is an ordered reply document; it encodes as the bson.D of its elements.
type D []E

// MarshalBSON encodes d in order.
func (d D) MarshalBSON() ([]byte, error) {
	bd := make(bson.D, len(d))
	for i, e := range d {
		bd[i] = bson.E{Key: e.Key, Value: e.Value}
	}
	return bson.Marshal(bd)
}
