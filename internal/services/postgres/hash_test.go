package postgres

import (
	"crypto/md5"
	"encoding/hex"
	"testing"
)

// md5Response is what libpq sends for the md5 method (without the "md5" prefix).
func md5Response(password, user string, salt []byte) string {
	inner := md5.Sum([]byte(password + user))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt...))
	return hex.EncodeToString(outer[:])
}

func TestMD5HashKnownAnswer(t *testing.T) {
	// hashcat's own example for mode 11100 (password "hashcat").
	const ex = "$postgres$postgres*74402844*4e7fabaaf34d780c4a5822d28ee1c83e"
	salt, _ := hex.DecodeString("74402844")
	if got := MD5Hash("postgres", salt, md5Response("hashcat", "postgres", salt)); got != ex {
		t.Fatalf("got %s, want hashcat's example %s", got, ex)
	}
}

// TestSCRAMKnownAnswer checks the proof against RFC 7677's SCRAM-SHA-256 example.
func TestSCRAMKnownAnswer(t *testing.T) {
	c, err := ParseSCRAM(SCRAMCapture{
		Iterations:  4096,
		Salt:        mustB64("W22ZaJ0SNY7soEsUEjb6gQ=="),
		AuthMessage: "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		Proof:       mustB64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
	}.String())
	if err != nil {
		t.Fatal(err)
	}
	if !VerifySCRAM(c, "pencil") || VerifySCRAM(c, "pencil2") {
		t.Fatal("RFC 7677 example does not verify with pencil (only)")
	}
}

func TestParseSCRAMRejects(t *testing.T) {
	for _, s := range []string{"", "$scram-sha-256$", "$scram-sha-256$x$a$b$c", "$scram-sha-256$4096$!!$YQ==$YQ==", "$scram-sha-256$4096$YQ==$YQ==$YQ==", "$postgres$a*b*c"} {
		if _, err := ParseSCRAM(s); err == nil {
			t.Errorf("ParseSCRAM(%q) accepted", s)
		}
	}
}
