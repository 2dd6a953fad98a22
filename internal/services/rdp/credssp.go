package rdp

// CredSSP (MS-CSSP) TSRequest messages. The DER element reader is hand-written (it
// frames one message off the TLS stream with a bounded length); the TSRequest body
// is encoded and decoded with encoding/asn1.

import (
	"bufio"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// maxTSRequest bounds one TSRequest: NTLM messages are a few hundred bytes, a
// Kerberos AP-REQ a few kilobytes.
const maxTSRequest = 64 << 10

// credsspVersion is the CredSSP version Windows 10 1803 and later speak.
const credsspVersion = 6

// statusLogonFailure is the NTSTATUS a wrong user name or password gives.
const statusLogonFailure = 0xC000006D

type negoData struct {
	Token []byte `asn1:"explicit,tag:0"`
}

// tsRequest is MS-CSSP 2.2.1 TSRequest.
type tsRequest struct {
	Version     int        `asn1:"explicit,tag:0"`
	NegoTokens  []negoData `asn1:"explicit,optional,tag:1"`
	AuthInfo    []byte     `asn1:"explicit,optional,tag:2"`
	PubKeyAuth  []byte     `asn1:"explicit,optional,tag:3"`
	ErrorCode   int64      `asn1:"explicit,optional,tag:4"`
	ClientNonce []byte     `asn1:"explicit,optional,tag:5"`
}

// readDER reads one DER-encoded SEQUENCE (tag 0x30, definite length) of at most
// max bytes and returns it whole.
func readDER(r *bufio.Reader, max int) ([]byte, error) {
	hdr := make([]byte, 2, 6)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	if hdr[0] != 0x30 {
		return nil, fmt.Errorf("credssp message starts with tag 0x%02x, not a SEQUENCE", hdr[0])
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 {
			return nil, fmt.Errorf("credssp message has a %d-byte length field", k)
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, fmt.Errorf("credssp length: %w", err)
		}
		hdr = append(hdr, lb...)
		n = 0
		for _, c := range lb {
			n = n<<8 | int(c)
		}
	}
	if n > max-len(hdr) {
		return nil, fmt.Errorf("credssp message of %d bytes is over the %d-byte limit", n, max)
	}
	b := make([]byte, len(hdr)+n)
	copy(b, hdr)
	if _, err := io.ReadFull(r, b[len(hdr):]); err != nil {
		return nil, fmt.Errorf("credssp body: %w", err)
	}
	return b, nil
}

// parseTSRequest decodes a TSRequest.
func parseTSRequest(b []byte) (tsRequest, error) {
	var t tsRequest
	rest, err := asn1.Unmarshal(b, &t)
	if err != nil {
		return t, fmt.Errorf("tsrequest: %w", err)
	}
	if len(rest) > 0 {
		return t, errors.New("tsrequest has trailing bytes")
	}
	return t, nil
}

// marshalTSRequest encodes a server TSRequest.
func marshalTSRequest(t tsRequest) []byte {
	b, err := asn1.Marshal(t)
	if err != nil {
		panic("rdp: tsrequest does not encode: " + err.Error()) // only server-built values are encoded
	}
	return b
}

// tokenReply is the server's TSRequest carrying one negotiation token.
func tokenReply(tok []byte) []byte {
	return marshalTSRequest(tsRequest{Version: credsspVersion, NegoTokens: []negoData{{Token: tok}}})
}

// failureReply is the server's TSRequest ending the exchange with an NTSTATUS, as
// Windows does after a failed logon (errorCode exists from CredSSP version 3).
func failureReply(status uint32) []byte {
	return marshalTSRequest(tsRequest{Version: credsspVersion, ErrorCode: int64(int32(status))})
}
