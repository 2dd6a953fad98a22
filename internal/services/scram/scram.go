// Package scram parses the client side of a SCRAM exchange (RFC 5802): the
// client-first and client-final messages that the postgres and mongodb services
// capture. Hand-written because the Go SCRAM libraries implement the client and a
// verifying server, not the capture of what a client sent; hashing stays with each
// service (the mechanism and the capture format are theirs).
package scram

import (
	"encoding/base64"
	"errors"
	"strings"
)

// ErrMalformed is returned for a message that is not a well-formed SCRAM message.
var ErrMalformed = errors.New("malformed SCRAM message")

// ClientFirst is a parsed client-first-message.
type ClientFirst struct {
	GS2Header string // "n,," or "y,," or "p=…," with any authzid
	Bare      string // client-first-message-bare (part of the AuthMessage)
	User      string // the n= value as sent (saslname-escaped; see Name)
	Nonce     string
}

// ParseClientFirst parses "gs2-header client-first-message-bare".
func ParseClientFirst(msg string) (ClientFirst, error) {
	var cf ClientFirst
	flag, rest, ok := strings.Cut(msg, ",") // gs2-cbind-flag "," [authzid] ","
	if !ok {
		return cf, ErrMalformed
	}
	switch {
	case flag == "n", flag == "y", strings.HasPrefix(flag, "p="):
	default:
		return cf, ErrMalformed
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok || (authz != "" && !strings.HasPrefix(authz, "a=")) {
		return cf, ErrMalformed
	}
	cf.GS2Header = flag + "," + authz + ","
	cf.Bare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return cf, ErrMalformed
	}
	cf.User = attrs[0][2:]
	cf.Nonce = attrs[1][2:]
	if cf.Nonce == "" || strings.ContainsFunc(cf.Nonce, func(r rune) bool { return r < 0x21 || r > 0x7e || r == ',' }) {
		return cf, ErrMalformed
	}
	return cf, nil
}

// Name is the user name with SCRAM's saslname escaping undone (=2C for ',' and
// =3D for '='); any other '=' is malformed.
func (cf ClientFirst) Name() (string, error) {
	s := cf.User
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", ErrMalformed
		}
		i += 2
	}
	return b.String(), nil
}

// ClientFinal is a parsed client-final-message.
type ClientFinal struct {
	WithoutProof string // client-final-message-without-proof (part of the AuthMessage)
	Binding      string // c= (base64 of the GS2 header)
	Nonce        string
	Proof        []byte
}

// ParseClientFinal parses a client-final-message whose proof is proofSize bytes
// (the mechanism's hash size).
func ParseClientFinal(msg string, proofSize int) (ClientFinal, error) {
	var cf ClientFinal
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return cf, ErrMalformed
	}
	cf.WithoutProof = msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) != proofSize {
		return cf, ErrMalformed
	}
	cf.Proof = proof
	attrs := strings.Split(cf.WithoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return cf, ErrMalformed
	}
	cf.Binding, cf.Nonce = attrs[0][2:], attrs[1][2:]
	return cf, nil
}
