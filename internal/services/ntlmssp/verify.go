package ntlmssp

import (
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/md4"
)

// VerifyHash reports whether a captured hashcat line is the response password
// produces: mode 5600 (NetNTLMv2, user::domain:challenge:NTProofStr:blob) or mode
// 5500 (NetNTLMv1, user::domain:lm:nt:challenge). It is what a cracker does for one
// guess; tests use it to prove every attempted pair was captured, and an operator
// can use it to confirm a cracked password.
func VerifyHash(line, password string) bool {
	parts := strings.Split(line, ":")
	if len(parts) != 6 || parts[1] != "" {
		return false
	}
	h := md4.New()
	h.Write(UTF16LE(password))
	ntHash := h.Sum(nil)
	dec := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	if chal, proof, blob := dec(parts[3]), dec(parts[4]), dec(parts[5]); len(chal) == 8 && len(proof) == 16 && len(blob) > 0 {
		m := hmac.New(md5.New, ntHash)
		m.Write(UTF16LE(strings.ToUpper(parts[0]) + parts[2]))
		m = hmac.New(md5.New, m.Sum(nil))
		m.Write(chal)
		m.Write(blob)
		return hmac.Equal(m.Sum(nil), proof)
	}
	nt, chal := dec(parts[4]), dec(parts[5])
	if len(nt) != 24 || len(chal) != 8 {
		return false
	}
	key := append(ntHash, 0, 0, 0, 0, 0)
	var resp []byte
	for i := 0; i < 3; i++ {
		c, err := des.NewCipher(desKey(key[7*i : 7*i+7]))
		if err != nil {
			return false
		}
		out := make([]byte, 8)
		c.Encrypt(out, chal)
		resp = append(resp, out...)
	}
	return hmac.Equal(resp, nt)
}

// desKey spreads 7 key bytes over the 8 bytes of a DES key (parity bits unset).
func desKey(k7 []byte) []byte {
	return []byte{k7[0], k7[0]<<7 | k7[1]>>1, k7[1]<<6 | k7[2]>>2, k7[2]<<5 | k7[3]>>3,
		k7[3]<<4 | k7[4]>>4, k7[4]<<3 | k7[5]>>5, k7[5]<<2 | k7[6]>>6, k7[6] << 1}
}
