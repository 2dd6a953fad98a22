package ntlmssp

import (
	"encoding/asn1"
	"encoding/binary"
	"testing"
)

func FuzzNTLM(f *testing.F) {
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00\x97\x82\x08\xe2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x61\x4a\x00\x00\x00\x0f"))
	f.Add(authMsg(FlagUnicode|FlagVersion, make([]byte, 24), make([]byte, 48), "CORP", "alice", "KALI"))
	f.Add(authMsg(FlagOEM, nil, make([]byte, 24), "W", "bob", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseNegotiate(b); err == nil {
			tg := Persona{Hostname: "h"}.Target()
			ch := BuildChallenge(ChallengeFlags(m.Flags, tg), [8]byte{}, tg)
			if Check(ch, TypeChallenge, 56) != nil {
				t.Fatal("built an invalid challenge")
			}
		}
		if m, err := ParseAuthenticate(b); err == nil {
			if len(m.NT) > len(b) || len(m.LM) > len(b) {
				t.Fatal("a response longer than the message")
			}
			if line, kind := HashcatLine(m.User, m.Domain, make([]byte, 8), m.LM, m.NT); kind != "" {
				VerifyHash(line, "x")
			}
			m.Anonymous()
		}
		if len(b) >= 8 {
			Field(b, int(binary.LittleEndian.Uint16(b))%len(b))
		}
	})
}

func FuzzGSS(f *testing.F) {
	neg := []byte("NTLMSSP\x00\x01\x00\x00\x00\x15\x82\x08\x62")
	f.Add(DER(0x60, DEROID(OIDSPNEGO), DER(0xa0, DER(0x30, DER(0xa0, DER(0x30, DEROID(OIDNTLMSSP))), DER(0xa2, DER(0x04, neg))))))
	f.Add(NegTokenResp(NegAcceptIncomplete, OIDNTLMSSP, neg))
	f.Add(NegTokenInit2([]asn1.ObjectIdentifier{OIDNegoEx, OIDNTLMSSP}))
	f.Add(neg)
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseGSS(b)
		if err == nil && len(tok.MechToken) > len(b) {
			t.Fatal("a mechanism token longer than the blob")
		}
	})
}
