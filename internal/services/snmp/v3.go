package snmp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file parses SNMPv3 messages and writes SNMPv3 reports by hand (see the
// package comment for why not gosnmp): a minimal BER reader over the message,
// which keeps every value a sub-slice of the packet so the HMAC's position is known.

// BER tags used by SNMP.
const (
	tagInteger  = 0x02
	tagOctets   = 0x04
	tagNull     = 0x05
	tagOID      = 0x06
	tagSequence = 0x30
	tagCounter  = 0x41
	tagReport   = 0xa8
)

var errBER = errors.New("malformed BER")

// berReader reads TLVs from a byte slice.
type berReader struct{ b []byte }

// next reads one TLV with a one-byte tag and a definite length of at most four
// length octets.
func (r *berReader) next() (tag byte, val []byte, err error) {
	b := r.b
	if len(b) < 2 {
		return 0, nil, errBER
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, fmt.Errorf("%w: multi-byte tag", errBER)
	}
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, fmt.Errorf("%w: bad length", errBER)
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n < 0 || n > len(b)-hdr {
		return 0, nil, fmt.Errorf("%w: length %d past the end", errBER, n)
	}
	val = b[hdr : hdr+n] // no cap limit: parseV3 finds offsets by capacity
	r.b = b[hdr+n:]
	return tag, val, nil
}

func (r *berReader) expect(want byte) ([]byte, error) {
	tag, val, err := r.next()
	if err != nil {
		return nil, err
	}
	if tag != want {
		return nil, fmt.Errorf("%w: tag %#x where %#x was expected", errBER, tag, want)
	}
	return val, nil
}

func (r *berReader) integer() (int64, error) {
	v, err := r.expect(tagInteger)
	if err != nil {
		return 0, err
	}
	return berInt(v)
}

func berInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, fmt.Errorf("%w: integer of %d bytes", errBER, len(v))
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// decodeOID renders a BER OID as dotted text (with a leading dot, as gosnmp does).
func decodeOID(v []byte) (string, error) {
	if len(v) == 0 || len(v) > 256 {
		return "", fmt.Errorf("%w: OID of %d bytes", errBER, len(v))
	}
	var arcs []uint64
	var cur uint64
	for i, c := range v {
		if cur > 1<<56 {
			return "", fmt.Errorf("%w: OID arc too large", errBER)
		}
		cur = cur<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			if len(arcs) == 0 {
				first := min(cur/40, 2)
				arcs = append(arcs, first, cur-first*40)
			} else {
				arcs = append(arcs, cur)
			}
			cur = 0
		} else if i == len(v)-1 {
			return "", fmt.Errorf("%w: OID ends inside an arc", errBER)
		}
	}
	var b strings.Builder
	for _, a := range arcs {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(a, 10))
	}
	return b.String(), nil
}

// v3Message is what the agent reads of an SNMPv3 message.
type v3Message struct {
	MsgID       int64
	MaxSize     int64
	Flags       byte
	SecModel    int64
	EngineID    []byte
	Boots, Time int64
	User        []byte
	AuthParams  []byte
	AuthOffset  int // offset of AuthParams' value in the packet, -1 when empty
	PrivParams  []byte
	Encrypted   bool
	// From a plaintext scoped PDU only:
	ContextEngineID []byte
	ContextName     []byte
	PDUType         byte
	RequestID       int64
	OIDs            []string // at most maxLoggedOIDs
}

// Security level flags of msgFlags.
const (
	flagAuth       = 0x01
	flagPriv       = 0x02
	flagReportable = 0x04
)

const maxLoggedOIDs = 16

// parseV3 parses an SNMPv3 message with the USM security model's parameters. An
// encrypted scoped PDU is not decrypted (the agent knows no user's keys).
func parseV3(pkt []byte) (*v3Message, error) {
	outer := berReader{pkt}
	body, err := outer.expect(tagSequence)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	r := berReader{body}
	ver, err := r.integer()
	if err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	if ver != 3 {
		return nil, fmt.Errorf("version %d is not SNMPv3", ver)
	}
	m := &v3Message{AuthOffset: -1}
	hdr, err := r.expect(tagSequence)
	if err != nil {
		return nil, fmt.Errorf("msgGlobalData: %w", err)
	}
	hr := berReader{hdr}
	if m.MsgID, err = hr.integer(); err != nil {
		return nil, fmt.Errorf("msgID: %w", err)
	}
	if m.MaxSize, err = hr.integer(); err != nil {
		return nil, fmt.Errorf("msgMaxSize: %w", err)
	}
	flags, err := hr.expect(tagOctets)
	if err != nil || len(flags) != 1 {
		return nil, fmt.Errorf("msgFlags: malformed")
	}
	m.Flags = flags[0]
	if m.SecModel, err = hr.integer(); err != nil {
		return nil, fmt.Errorf("msgSecurityModel: %w", err)
	}
	sec, err := r.expect(tagOctets)
	if err != nil {
		return nil, fmt.Errorf("msgSecurityParameters: %w", err)
	}
	if m.SecModel == 3 {
		sr := berReader{sec}
		usm, err := sr.expect(tagSequence)
		if err != nil {
			return nil, fmt.Errorf("USM parameters: %w", err)
		}
		ur := berReader{usm}
		if m.EngineID, err = ur.expect(tagOctets); err != nil {
			return nil, fmt.Errorf("msgAuthoritativeEngineID: %w", err)
		}
		if m.Boots, err = ur.integer(); err != nil {
			return nil, fmt.Errorf("msgAuthoritativeEngineBoots: %w", err)
		}
		if m.Time, err = ur.integer(); err != nil {
			return nil, fmt.Errorf("msgAuthoritativeEngineTime: %w", err)
		}
		if m.User, err = ur.expect(tagOctets); err != nil {
			return nil, fmt.Errorf("msgUserName: %w", err)
		}
		if m.AuthParams, err = ur.expect(tagOctets); err != nil {
			return nil, fmt.Errorf("msgAuthenticationParameters: %w", err)
		}
		if len(m.AuthParams) > 0 {
			m.AuthOffset = cap(pkt) - cap(m.AuthParams)
		}
		if m.PrivParams, err = ur.expect(tagOctets); err != nil {
			return nil, fmt.Errorf("msgPrivacyParameters: %w", err)
		}
	}
	tag, scoped, err := r.next()
	if err != nil {
		return nil, fmt.Errorf("scopedPDU: %w", err)
	}
	switch tag {
	case tagOctets:
		m.Encrypted = true
		return m, nil
	case tagSequence:
	default:
		return nil, fmt.Errorf("scopedPDU: tag %#x", tag)
	}
	sp := berReader{scoped}
	if m.ContextEngineID, err = sp.expect(tagOctets); err != nil {
		return nil, fmt.Errorf("contextEngineID: %w", err)
	}
	if m.ContextName, err = sp.expect(tagOctets); err != nil {
		return nil, fmt.Errorf("contextName: %w", err)
	}
	ptag, pdu, err := sp.next()
	if err != nil {
		return nil, fmt.Errorf("PDU: %w", err)
	}
	if ptag < 0xa0 || ptag > 0xa8 {
		return nil, fmt.Errorf("PDU: tag %#x is not an SNMP PDU", ptag)
	}
	m.PDUType = ptag
	pr := berReader{pdu}
	if m.RequestID, err = pr.integer(); err != nil {
		return nil, fmt.Errorf("request-id: %w", err)
	}
	if _, err = pr.integer(); err != nil {
		return nil, fmt.Errorf("error-status: %w", err)
	}
	if _, err = pr.integer(); err != nil {
		return nil, fmt.Errorf("error-index: %w", err)
	}
	vbl, err := pr.expect(tagSequence)
	if err != nil {
		return nil, fmt.Errorf("varbind list: %w", err)
	}
	vr := berReader{vbl}
	for len(vr.b) > 0 && len(m.OIDs) < maxLoggedOIDs {
		vb, err := vr.expect(tagSequence)
		if err != nil {
			return nil, fmt.Errorf("varbind: %w", err)
		}
		br := berReader{vb}
		name, err := br.expect(tagOID)
		if err != nil {
			return nil, fmt.Errorf("varbind name: %w", err)
		}
		s, err := decodeOID(name)
		if err != nil {
			return nil, fmt.Errorf("varbind name: %w", err)
		}
		m.OIDs = append(m.OIDs, s)
	}
	return m, nil
}

// securityLevel names msgFlags' security level as snmpcmd's -l does.
func securityLevel(flags byte) string {
	switch {
	case flags&flagPriv != 0:
		return "authPriv"
	case flags&flagAuth != 0:
		return "authNoPriv"
	}
	return "noAuthNoPriv"
}

// hashcatLine renders an authenticated SNMPv3 message in hashcat's SNMPv3 format:
// $SNMPv3$<type>$<id>$<message with the MAC zeroed>$<engine ID>$<MAC>, and the
// hashcat mode that cracks it (25000 HMAC-MD5-96/HMAC-SHA1-96, 26700 SHA224, 26800
// SHA256, 26900 SHA384, 27300 SHA512). ok is false when the message carries no MAC
// of a known length, or its engine ID (13 to 17 bytes) or size (1500 bytes) is
// outside what hashcat's parser takes.
func hashcatLine(pkt []byte, m *v3Message) (line, mode string, ok bool) {
	if m.Flags&flagAuth == 0 || m.AuthOffset < 0 || m.AuthOffset+len(m.AuthParams) > len(pkt) {
		return "", "", false
	}
	var typ string
	switch len(m.AuthParams) {
	case 12:
		typ, mode = "0", "25000"
	case 16:
		typ, mode = "3", "26700"
	case 24:
		typ, mode = "4", "26800"
	case 32:
		typ, mode = "5", "26900"
	case 48:
		typ, mode = "6", "27300"
	default:
		return "", "", false
	}
	if len(m.EngineID) < 13 || len(m.EngineID) > 17 || len(pkt) > 1500 {
		return "", "", false // outside what hashcat's SNMPv3 parser takes
	}
	zeroed := bytes.Clone(pkt)
	clear(zeroed[m.AuthOffset : m.AuthOffset+len(m.AuthParams)])
	line = "$SNMPv3$" + typ + "$" + strconv.FormatInt((m.MsgID&0x7fffffff)%100000000, 10) + "$" + hex.EncodeToString(zeroed) +
		"$" + hex.EncodeToString(m.EngineID) + "$" + hex.EncodeToString(m.AuthParams)
	return line, mode, true
}

// BER writing for the report.

func tlv(tag byte, val []byte) []byte {
	out := []byte{tag}
	switch n := len(val); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, val...)
}

// berInteger encodes n in the fewest octets, as net-snmp does.
func berInteger(tag byte, n int64) []byte {
	var b []byte
	for {
		b = append([]byte{byte(n)}, b...)
		if (n >= -128 && n < 128) || len(b) == 8 {
			break
		}
		n >>= 8
	}
	return tlv(tag, b)
}

func encodeOID(o []uint32) []byte {
	b := []byte{byte(o[0]*40 + o[1])}
	for _, a := range o[2:] {
		var tmp []byte
		tmp = append(tmp, byte(a&0x7f))
		for a >>= 7; a > 0; a >>= 7 {
			tmp = append([]byte{byte(a&0x7f | 0x80)}, tmp...)
		}
		b = append(b, tmp...)
	}
	return tlv(tagOID, b)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// report builds the unauthenticated Report an agent sends for a USM error (RFC
// 3414 3.2): our engine ID, boots and time, the request's user name, one varbind
// with the error counter.
func report(m *v3Message, engineID []byte, boots, engineTime uint32, counter []uint32, count uint32) []byte {
	usm := tlv(tagSequence, cat(
		tlv(tagOctets, engineID),
		berInteger(tagInteger, int64(boots)),
		berInteger(tagInteger, int64(engineTime)),
		tlv(tagOctets, m.User),
		tlv(tagOctets, nil),
		tlv(tagOctets, nil),
	))
	vb := tlv(tagSequence, tlv(tagSequence, cat(encodeOID(counter), berInteger(tagCounter, int64(count)))))
	pdu := tlv(tagReport, cat(berInteger(tagInteger, m.RequestID), berInteger(tagInteger, 0), berInteger(tagInteger, 0), vb))
	scoped := tlv(tagSequence, cat(tlv(tagOctets, engineID), tlv(tagOctets, nil), pdu))
	global := tlv(tagSequence, cat(
		berInteger(tagInteger, m.MsgID),
		berInteger(tagInteger, 65507),
		tlv(tagOctets, []byte{0}),
		berInteger(tagInteger, 3),
	))
	return tlv(tagSequence, cat(berInteger(tagInteger, 3), global, tlv(tagOctets, usm), scoped))
}
