package ntlmssp

// SPNEGO (RFC 4178, with Microsoft's negTokenInit2) around NTLMSSP. Parsing uses
// encoding/asn1; the few tokens the server sends are built by hand as DER so their
// bytes match what Windows and Samba put on the wire (encoding/asn1 cannot omit an
// empty OPTIONAL OID or emit negTokenInit2's negHints the way they do).

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Mechanism object identifiers.
var (
	OIDSPNEGO  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	OIDNTLMSSP = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	OIDNegoEx  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
	OIDMSKRB5  = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	OIDKRB5    = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	OIDKRB5U2U = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2, 3}
)

// negState values of a negTokenResp.
const (
	NegAcceptCompleted  = 0
	NegAcceptIncomplete = 1
	NegReject           = 2
)

type negTokenInit struct {
	MechTypes   []asn1.ObjectIdentifier `asn1:"explicit,tag:0"`
	ReqFlags    asn1.BitString          `asn1:"explicit,optional,tag:1"`
	MechToken   []byte                  `asn1:"explicit,optional,tag:2"`
	MechListMIC []byte                  `asn1:"explicit,optional,tag:3"`
}

type negTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// GSSToken is what a client's security blob holds.
type GSSToken struct {
	Raw       bool                    // bare NTLMSSP, no SPNEGO wrapping
	Mechs     []asn1.ObjectIdentifier // negTokenInit's mechTypes
	MechToken []byte                  // the NTLMSSP (or other mechanism) token, may be empty
}

// ParseGSS parses a client security blob: a GSS-API negTokenInit, a negTokenResp or
// a bare NTLMSSP message.
func ParseGSS(b []byte) (GSSToken, error) {
	var t GSSToken
	if bytes.HasPrefix(b, Signature) {
		t.Raw, t.MechToken = true, b
		return t, nil
	}
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(b, &outer)
	if err != nil {
		return t, fmt.Errorf("security blob is not ASN.1: %w", err)
	}
	if len(rest) > 0 {
		return t, errors.New("security blob has trailing bytes")
	}
	switch {
	case outer.Class == asn1.ClassApplication && outer.Tag == 0 && outer.IsCompound:
		var oid asn1.ObjectIdentifier
		inner, err := asn1.Unmarshal(outer.Bytes, &oid)
		if err != nil {
			return t, fmt.Errorf("gss token mechanism: %w", err)
		}
		if !oid.Equal(OIDSPNEGO) {
			return t, fmt.Errorf("gss token mechanism %v is not SPNEGO", oid)
		}
		var choice asn1.RawValue
		if _, err := asn1.Unmarshal(inner, &choice); err != nil {
			return t, fmt.Errorf("spnego token: %w", err)
		}
		if choice.Class != asn1.ClassContextSpecific || choice.Tag != 0 {
			return t, fmt.Errorf("spnego token is choice %d, not negTokenInit", choice.Tag)
		}
		var init negTokenInit
		if _, err := asn1.Unmarshal(choice.Bytes, &init); err != nil {
			return t, fmt.Errorf("negTokenInit: %w", err)
		}
		t.Mechs, t.MechToken = init.MechTypes, init.MechToken
		return t, nil
	case outer.Class == asn1.ClassContextSpecific && outer.Tag == 1:
		var resp negTokenResp
		if _, err := asn1.Unmarshal(outer.Bytes, &resp); err != nil {
			return t, fmt.Errorf("negTokenResp: %w", err)
		}
		t.MechToken = resp.ResponseToken
		return t, nil
	}
	return t, fmt.Errorf("security blob is ASN.1 class %d tag %d, not a GSS token", outer.Class, outer.Tag)
}

// DER encodes one DER TLV.
func DER(tag byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}

// DEROID encodes a constant object identifier.
func DEROID(o asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(o)
	if err != nil {
		panic(err) // only constant OIDs are encoded
	}
	return b
}

// NegTokenInit2 is the server's hint in the NEGOTIATE response: the mechanisms it
// accepts and Windows's fixed negHints name.
func NegTokenInit2(mechs []asn1.ObjectIdentifier) []byte {
	var list []byte
	for _, m := range mechs {
		list = append(list, DEROID(m)...)
	}
	hints := DER(0xa3, DER(0x30, DER(0xa0, DER(0x1b, []byte("not_defined_in_RFC4178@please_ignore")))))
	body := DER(0x30, DER(0xa0, DER(0x30, list)), hints)
	return DER(0x60, DEROID(OIDSPNEGO), DER(0xa0, body))
}

// NegTokenResp builds a negTokenResp with a state, optionally the chosen
// mechanism and a response token.
func NegTokenResp(state int, mech asn1.ObjectIdentifier, token []byte) []byte {
	parts := [][]byte{DER(0xa0, DER(0x0a, []byte{byte(state)}))}
	if mech != nil {
		parts = append(parts, DER(0xa1, DEROID(mech)))
	}
	if token != nil {
		parts = append(parts, DER(0xa2, DER(0x04, token)))
	}
	return DER(0xa1, DER(0x30, parts...))
}
