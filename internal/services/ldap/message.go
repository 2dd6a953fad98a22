package ldap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// MaxMessage bounds one LDAP message (the outer SEQUENCE). AD's own default
// (MaxReceiveBuffer) is 10 MiB; nothing an attacker sends needs more than this.
const MaxMessage = 256 << 10

// Protocol operation tags ([APPLICATION n]).
const (
	opBindRequest     = 0
	opBindResponse    = 1
	opUnbindRequest   = 2
	opSearchRequest   = 3
	opSearchResEntry  = 4
	opSearchResDone   = 5
	opModifyRequest   = 6
	opModifyResponse  = 7
	opAddRequest      = 8
	opAddResponse     = 9
	opDelRequest      = 10
	opDelResponse     = 11
	opModDNRequest    = 12
	opModDNResponse   = 13
	opCompareRequest  = 14
	opCompareResponse = 15
	opAbandonRequest  = 16
	opExtendedRequest = 23
	opExtendedResp    = 24
)

var opNames = map[int]string{
	opBindRequest: "bind", opUnbindRequest: "unbind", opSearchRequest: "search", opModifyRequest: "modify",
	opAddRequest: "add", opDelRequest: "delete", opModDNRequest: "modify_dn", opCompareRequest: "compare",
	opAbandonRequest: "abandon", opExtendedRequest: "extended",
}

// readMessage reads one whole LDAPMessage from r: a universal SEQUENCE with a
// definite length of at most max bytes. The header is parsed by hand so the size is
// known (and refused) before anything is buffered; the BER library then decodes the
// bounded bytes.
func readMessage(r *bufio.Reader, max int) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 {
		return nil, fmt.Errorf("an LDAP message starts with a SEQUENCE (0x30), not 0x%02x", tag)
	}
	hdr := []byte{tag}
	l, err := r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	hdr = append(hdr, l)
	var n uint64
	switch {
	case l < 0x80:
		n = uint64(l)
	case l == 0x80:
		return nil, errors.New("an LDAP message cannot use the indefinite length form")
	case l > 0x88:
		return nil, fmt.Errorf("the message length uses %d bytes", l&0x7f)
	default:
		for i := 0; i < int(l&0x7f); i++ {
			b, err := r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			hdr = append(hdr, b)
			n = n<<8 | uint64(b)
			if n > uint64(max) {
				break
			}
		}
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("the message is longer than %d bytes", max)
	}
	buf := make([]byte, len(hdr)+int(n))
	copy(buf, hdr)
	if _, err := io.ReadFull(r, buf[len(hdr):]); err != nil {
		return nil, unexpected(err)
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// request is one decoded LDAPMessage.
type request struct {
	ID       int64
	Op       int // application tag of protocolOp
	Controls []string

	// bind
	Version   int64
	Name      string
	Simple    bool   // simple authentication: Password holds it
	Password  string // simple password (raw bytes)
	Mechanism string // SASL mechanism
	SASLCreds []byte // SASL credentials or the Sicily NTLM message (may be nil)
	Sicily    int    // a Sicily authentication choice (9, 10, 11), or 0

	// search
	Base       string
	Scope      int64
	Deref      int64
	SizeLimit  int64
	TimeLimit  int64
	TypesOnly  bool
	Filter     string // rendered as in RFC 4515
	Attributes []string

	// modify, add, delete, modify_dn, compare: the entry's DN in Name
	// extended
	OID   string
	Value []byte

	AbandonID int64
}

// errDecode marks a message that is valid BER but not a well-formed LDAPMessage.
var errDecode = errors.New("malformed LDAP message")

func decodeErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errDecode, fmt.Sprintf(format, a...))
}

// parseRequest decodes one message read by readMessage.
func parseRequest(b []byte) (*request, error) {
	p, err := ber.DecodePacketErr(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDecode, err)
	}
	if p.ClassType != ber.ClassUniversal || p.Tag != ber.TagSequence || len(p.Children) < 2 {
		return nil, decodeErr("not a SEQUENCE of messageID and protocolOp")
	}
	id, ok := intValue(p.Children[0])
	if !ok || id < 0 || id > 1<<31-1 {
		return nil, decodeErr("bad messageID")
	}
	op := p.Children[1]
	if op.ClassType != ber.ClassApplication {
		return nil, decodeErr("protocolOp is not an APPLICATION tag")
	}
	rq := &request{ID: id, Op: int(op.Tag)}
	if len(p.Children) > 2 {
		rq.Controls = parseControls(p.Children[2])
	}
	switch rq.Op {
	case opBindRequest:
		err = rq.parseBind(op)
	case opUnbindRequest:
	case opSearchRequest:
		err = rq.parseSearch(op)
	case opModifyRequest, opAddRequest, opModDNRequest, opCompareRequest:
		if len(op.Children) == 0 {
			return nil, decodeErr("%s without an entry", opNames[rq.Op])
		}
		rq.Name, ok = octets(op.Children[0])
		if !ok {
			return nil, decodeErr("%s entry is not a string", opNames[rq.Op])
		}
	case opDelRequest:
		if op.TagType != ber.TypePrimitive {
			return nil, decodeErr("delete request is not a DN")
		}
		rq.Name = string(op.Data.Bytes())
	case opAbandonRequest:
		if op.TagType != ber.TypePrimitive || op.Data.Len() > 8 {
			return nil, decodeErr("abandon request is not an integer")
		}
		rq.AbandonID, _ = ber.ParseInt64(op.Data.Bytes())
	case opExtendedRequest:
		for _, c := range op.Children {
			if c.ClassType != ber.ClassContext {
				continue
			}
			switch c.Tag {
			case 0:
				rq.OID = string(c.Data.Bytes())
			case 1:
				rq.Value = c.Data.Bytes()
			}
		}
		if rq.OID == "" {
			return nil, decodeErr("extended request without requestName")
		}
	}
	if err != nil {
		return nil, err
	}
	return rq, nil
}

func (rq *request) parseBind(op *ber.Packet) error {
	if len(op.Children) < 3 {
		return decodeErr("bind request needs version, name and authentication")
	}
	v, ok := intValue(op.Children[0])
	if !ok {
		return decodeErr("bind version is not an integer")
	}
	rq.Version = v
	if rq.Name, ok = octets(op.Children[1]); !ok {
		return decodeErr("bind name is not a string")
	}
	auth := op.Children[2]
	if auth.ClassType != ber.ClassContext {
		return decodeErr("bind authentication is not a context tag")
	}
	switch auth.Tag {
	case 0: // simple
		if auth.TagType != ber.TypePrimitive {
			return decodeErr("simple password is constructed")
		}
		rq.Simple = true
		rq.Password = string(auth.Data.Bytes())
	case 3: // sasl
		if auth.TagType != ber.TypeConstructed || len(auth.Children) == 0 {
			return decodeErr("SASL credentials are not a sequence")
		}
		if rq.Mechanism, ok = octets(auth.Children[0]); !ok {
			return decodeErr("SASL mechanism is not a string")
		}
		if len(auth.Children) > 1 {
			c, ok := octets(auth.Children[1])
			if !ok {
				return decodeErr("SASL credentials are not a string")
			}
			rq.SASLCreds = []byte(c)
		}
	case sicilyDiscovery, sicilyNegotiate, sicilyResponse:
		// AD's "Sicily" NTLM bind (MS-ADTS 5.1.1.1.3), what impacket, ldap3 (NTLM),
		// NetExec and BloodHound.py use: the NTLM message is the octet string.
		if auth.TagType != ber.TypePrimitive {
			return decodeErr("sicily authentication is constructed")
		}
		rq.Sicily = int(auth.Tag)
		rq.SASLCreds = auth.Data.Bytes()
	default:
		rq.Mechanism = "auth-choice-" + strconv.Itoa(int(auth.Tag))
	}
	return nil
}

// Sicily authentication choices of a bind request.
const (
	sicilyDiscovery = 9
	sicilyNegotiate = 10
	sicilyResponse  = 11
)

func (rq *request) parseSearch(op *ber.Packet) error {
	c := op.Children
	if len(c) < 8 {
		return decodeErr("search request has %d of its 8 fields", len(c))
	}
	var ok bool
	if rq.Base, ok = octets(c[0]); !ok {
		return decodeErr("search base is not a string")
	}
	ints := []*int64{&rq.Scope, &rq.Deref, &rq.SizeLimit, &rq.TimeLimit}
	for i, dst := range ints {
		if *dst, ok = intValue(c[1+i]); !ok {
			return decodeErr("search field %d is not an integer", 2+i)
		}
	}
	if c[5].ClassType != ber.ClassUniversal || c[5].Tag != ber.TagBoolean {
		return decodeErr("typesOnly is not a boolean")
	}
	rq.TypesOnly = len(c[5].Data.Bytes()) > 0 && c[5].Data.Bytes()[0] != 0
	var b strings.Builder
	if err := renderFilter(&b, c[6], 0); err != nil {
		return err
	}
	rq.Filter = b.String()
	for _, a := range c[7].Children {
		s, ok := octets(a)
		if !ok {
			return decodeErr("attribute selector is not a string")
		}
		if len(rq.Attributes) < maxAttrs {
			rq.Attributes = append(rq.Attributes, s)
		}
	}
	return nil
}

// maxAttrs bounds the attribute list kept from a search; maxFilter the rendered filter.
const (
	maxAttrs  = 256
	maxFilter = 4096
	maxDepth  = 32
	maxValue  = 512
)

// renderFilter writes an LDAP Filter in its RFC 4515 string form (values escaped as
// \XX where the RFC requires, and for every non-printable byte). Deeper than maxDepth
// or longer than maxFilter it stops with an error.
func renderFilter(b *strings.Builder, f *ber.Packet, depth int) error {
	if depth > maxDepth {
		return decodeErr("filter nested deeper than %d", maxDepth)
	}
	if b.Len() > maxFilter {
		return decodeErr("filter longer than %d bytes", maxFilter)
	}
	if f.ClassType != ber.ClassContext {
		return decodeErr("filter choice is not a context tag")
	}
	switch f.Tag {
	case 0, 1, 2: // and, or, not
		if f.TagType != ber.TypeConstructed || (f.Tag == 2 && len(f.Children) != 1) {
			return decodeErr("bad and/or/not filter")
		}
		b.WriteByte('(')
		b.WriteByte("&|!"[f.Tag])
		for _, c := range f.Children {
			if err := renderFilter(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(')')
	case 3, 5, 6, 8: // equalityMatch, greaterOrEqual, lessOrEqual, approxMatch
		if len(f.Children) != 2 {
			return decodeErr("attribute value assertion needs 2 parts")
		}
		a, ok1 := octets(f.Children[0])
		v, ok2 := octets(f.Children[1])
		if !ok1 || !ok2 {
			return decodeErr("attribute value assertion is not two strings")
		}
		op := map[ber.Tag]string{3: "=", 5: ">=", 6: "<=", 8: "~="}[f.Tag]
		b.WriteString("(" + escapeFilter(a) + op + escapeFilter(v) + ")")
	case 4: // substrings
		if len(f.Children) != 2 {
			return decodeErr("substring filter needs a type and substrings")
		}
		a, ok := octets(f.Children[0])
		if !ok {
			return decodeErr("substring filter type is not a string")
		}
		var initial, final string
		var any []string
		for _, s := range f.Children[1].Children {
			if s.ClassType != ber.ClassContext || s.TagType != ber.TypePrimitive {
				return decodeErr("bad substring")
			}
			v := escapeFilter(string(s.Data.Bytes()))
			switch s.Tag {
			case 0:
				initial = v
			case 1:
				any = append(any, v)
			case 2:
				final = v
			default:
				return decodeErr("bad substring choice")
			}
		}
		b.WriteString("(" + escapeFilter(a) + "=" + initial + "*")
		for _, v := range any {
			b.WriteString(v + "*")
		}
		b.WriteString(final + ")")
	case 7: // present
		if f.TagType != ber.TypePrimitive {
			return decodeErr("present filter is constructed")
		}
		b.WriteString("(" + escapeFilter(string(f.Data.Bytes())) + "=*)")
	case 9: // extensibleMatch
		var rule, typ, val string
		var dn bool
		for _, c := range f.Children {
			switch c.Tag {
			case 1:
				rule = string(c.Data.Bytes())
			case 2:
				typ = string(c.Data.Bytes())
			case 3:
				val = string(c.Data.Bytes())
			case 4:
				dn = len(c.Data.Bytes()) > 0 && c.Data.Bytes()[0] != 0
			}
		}
		b.WriteString("(" + escapeFilter(typ))
		if dn {
			b.WriteString(":dn")
		}
		if rule != "" {
			b.WriteString(":" + escapeFilter(rule))
		}
		b.WriteString(":=" + escapeFilter(val) + ")")
	default:
		return decodeErr("unknown filter choice %d", f.Tag)
	}
	return nil
}

// escapeFilter escapes a value for the RFC 4515 string form: *, (, ), \, NUL and
// every byte outside printable ASCII as \XX. Values longer than maxValue bytes are
// cut there (the rendered filter is a record, not a query to run).
func escapeFilter(s string) string {
	if len(s) > maxValue {
		s = s[:maxValue]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '*' || c == '(' || c == ')' || c == '\\' {
			fmt.Fprintf(&b, `\%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func parseControls(p *ber.Packet) []string {
	if p.ClassType != ber.ClassContext || p.Tag != 0 {
		return nil
	}
	var out []string
	for _, c := range p.Children {
		if len(c.Children) > 0 && len(out) < 32 {
			if oid, ok := octets(c.Children[0]); ok {
				out = append(out, oid)
			}
		}
	}
	return out
}

// octets returns the content of a primitive string-like element.
func octets(p *ber.Packet) (string, bool) {
	if p.TagType != ber.TypePrimitive {
		return "", false
	}
	return string(p.Data.Bytes()), true
}

// intValue returns a primitive INTEGER or ENUMERATED of at most 8 bytes.
func intValue(p *ber.Packet) (int64, bool) {
	if p.ClassType != ber.ClassUniversal || p.TagType != ber.TypePrimitive ||
		(p.Tag != ber.TagInteger && p.Tag != ber.TagEnumerated) {
		return 0, false
	}
	b := p.Data.Bytes()
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	v, err := ber.ParseInt64(b)
	return v, err == nil
}

// encodeAD writes a packet in the form Active Directory uses on the wire: every
// constructed element's length in the 4-byte long form (0x84 + 4 bytes), primitive
// lengths minimal. nmap's AD fingerprints match these bytes.
func encodeAD(p *ber.Packet) []byte {
	return appendAD(nil, p)
}

func appendAD(dst []byte, p *ber.Packet) []byte {
	dst = appendIdentifier(dst, p.Identifier)
	if p.TagType == ber.TypeConstructed {
		start := len(dst)
		dst = append(dst, 0x84, 0, 0, 0, 0)
		for _, c := range p.Children {
			dst = appendAD(dst, c)
		}
		binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-5))
		return dst
	}
	content := p.Data.Bytes()
	dst = appendLength(dst, len(content))
	return append(dst, content...)
}

func appendIdentifier(dst []byte, id ber.Identifier) []byte {
	b := byte(id.ClassType) | byte(id.TagType)
	if id.Tag < 31 {
		return append(dst, b|byte(id.Tag))
	}
	dst = append(dst, b|0x1f)
	var tmp [10]byte
	i := len(tmp)
	t := uint64(id.Tag)
	for {
		i--
		tmp[i] = byte(t & 0x7f)
		if i < len(tmp)-1 {
			tmp[i] |= 0x80
		}
		t >>= 7
		if t == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
