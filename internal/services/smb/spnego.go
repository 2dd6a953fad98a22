package smb

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

var (
	oidSPNEGO  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	oidNTLMSSP = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	oidNegoEx  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
	oidMSKRB5  = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	oidKRB5    = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	oidKRB5U2U = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2, 3}
)

type asnOID = asn1.ObjectIdentifier

// negState values.
const (
	negAcceptCompleted  = 0
	negAcceptIncomplete = 1
	negReject           = 2
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

// gssToken is what a client's security blob holds.
type gssToken struct {
	Raw       bool                    // bare NTLMSSP, no SPNEGO wrapping
	Mechs     []asn1.ObjectIdentifier // negTokenInit's mechTypes
	MechToken []byte                  // the NTLMSSP (or other mechanism) token, may be empty
}

// parseGSS parses a client security blob: a GSS-API negTokenInit, a negTokenResp or
// a bare NTLMSSP message.
func parseGSS(b []byte) (gssToken, error) {
	var t gssToken
	if bytes.HasPrefix(b, ntlmSignature) {
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
		if !oid.Equal(oidSPNEGO) {
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

// der encodes one DER TLV.
func der(tag byte, content ...[]byte) []byte {
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

func derOID(o asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(o)
	if err != nil {
		panic(err) // only constant OIDs are encoded
	}
	return b
}

// negTokenInit2 is the server's hint in the NEGOTIATE response: the mechanisms it
// accepts and Windows's fixed negHints name.
func negTokenInit2(mechs []asn1.ObjectIdentifier) []byte {
	var list []byte
	for _, m := range mechs {
		list = append(list, derOID(m)...)
	}
	hints := der(0xa3, der(0x30, der(0xa0, der(0x1b, []byte("not_defined_in_RFC4178@please_ignore")))))
	body := der(0x30, der(0xa0, der(0x30, list)), hints)
	return der(0x60, derOID(oidSPNEGO), der(0xa0, body))
}

// negTokenRespBytes builds a negTokenResp with a state, optionally the chosen
// mechanism and a response token.
func negTokenRespBytes(state int, mech asn1.ObjectIdentifier, token []byte) []byte {
	parts := [][]byte{der(0xa0, der(0x0a, []byte{byte(state)}))}
	if mech != nil {
		parts = append(parts, der(0xa1, derOID(mech)))
	}
	if token != nil {
		parts = append(parts, der(0xa2, der(0x04, token)))
	}
	return der(0xa1, der(0x30, parts...))
}
