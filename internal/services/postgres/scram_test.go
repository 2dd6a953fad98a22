package postgres

import (
	"crypto/sha256"
	"decnet/internal/services/scram"
	"encoding/base64"
	"testing"
)

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseClientFirst(t *testing.T) {
	tests := []struct {
		in, bare, nonce string
		ok              bool
	}{
		{"n,,n=,r=rOprNGfwEbeRWgbNEkqO", "n=,r=rOprNGfwEbeRWgbNEkqO", "rOprNGfwEbeRWgbNEkqO", true},
		{"y,,n=user,r=abc,ext=1", "n=user,r=abc,ext=1", "abc", true},
		{"n,a=admin,n=x,r=abc", "n=x,r=abc", "abc", true},
		{"p=tls-server-end-point,,n=,r=abc", "n=,r=abc", "abc", true},
		{"garbage", "", "", false},
		{"x,,n=,r=abc", "", "", false},
		{"n,b=z,n=,r=abc", "", "", false},
		{"n,,r=abc", "", "", false},
		{"n,,n=,r=", "", "", false},
		{"n,,n=,r=a b", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		cf, err := scram.ParseClientFirst(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (cf.Bare != tc.bare || cf.Nonce != tc.nonce)) {
			t.Errorf("scram.ParseClientFirst(%q) = %+v, %v", tc.in, cf, err)
		}
	}
}

func TestParseClientFinal(t *testing.T) {
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		in, without, nonce string
		ok                 bool
	}{
		{"c=biws,r=abc,p=" + proof, "c=biws,r=abc", "abc", true},
		{"c=biws,r=abc,x=1,p=" + proof, "c=biws,r=abc,x=1", "abc", true},
		{"c=biws,r=abc", "", "", false},
		{"c=biws,r=abc,p=AAAA", "", "", false},
		{"c=biws,r=abc,p=!!!", "", "", false},
		{"r=abc,c=biws,p=" + proof, "", "", false},
		{",p=" + proof, "", "", false},
	}
	for _, tc := range tests {
		cf, err := scram.ParseClientFinal(tc.in, sha256.Size)
		if (err == nil) != tc.ok || (tc.ok && (cf.WithoutProof != tc.without || cf.Nonce != tc.nonce)) {
			t.Errorf("scram.ParseClientFinal(%q, sha256.Size) = %+v, %v", tc.in, cf, err)
		}
	}
}
