package mongodb

import (
	"decnet/internal/services/scram"
	"encoding/base64"
	"testing"
)

// TestClientProofVectors recomputes published SCRAM exchanges: RFC 7677's
// SCRAM-SHA-256 example (MongoDB runs SCRAM-SHA-256 over the plain password) and
// the MongoDB authentication specification's SCRAM-SHA-1 example (run over
// hex(md5("user:mongo:pencil"))).
func TestClientProofVectors(t *testing.T) {
	for _, tc := range []struct {
		mech, first, serverFirst, finalNoProof, proof, salt string
		iterations                                          int
	}{
		{mechSHA256, "n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"W22ZaJ0SNY7soEsUEjb6gQ==", 4096},
		{mechSHA1, "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE", "MC2T8BvbmWRckDw8oWl5IVghwCY=",
			"rQ9ZY3MntBeuP3E1TDVC4w==", 10000},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			first, err := parseClientFirst("n,," + tc.first)
			if err != nil {
				t.Fatal(err)
			}
			final, err := scram.ParseClientFinal(tc.finalNoProof+",p="+tc.proof, mechanisms[tc.mech].size)
			if err != nil {
				t.Fatal(err)
			}
			salt, _ := base64.StdEncoding.DecodeString(tc.salt)
			c := Capture{Mechanism: tc.mech, User: first.user, Iterations: tc.iterations, Salt: salt,
				AuthMessage: first.Bare + "," + tc.serverFirst + "," + final.WithoutProof, Proof: final.Proof}
			back, err := ParseCapture(c.String())
			if err != nil {
				t.Fatalf("ParseCapture: %v", err)
			}
			if !Verify(back, "pencil") {
				t.Errorf("the published proof does not verify with the published password")
			}
			if Verify(back, "pencil2") {
				t.Errorf("a wrong password verifies")
			}
		})
	}
}

func TestParseClientFirst(t *testing.T) {
	for _, tc := range []struct {
		in, user string
		ok       bool
	}{
		{"n,,n=user,r=abc", "user", true},
		{"n,,n=a=2Cb=3Dc,r=abc", "a,b=c", true},
		{"y,,n=u,r=x", "u", true},
		{"n,,n=bad=2X,r=abc", "", false},
		{"x,,n=u,r=abc", "", false},
		{"n,,r=abc", "", false},
		{"n,,n=u,r=", "", false},
	} {
		cf, err := parseClientFirst(tc.in)
		if (err == nil) != tc.ok || tc.ok && cf.user != tc.user {
			t.Errorf("parseClientFirst(%q) = %+v, %v", tc.in, cf, err)
		}
	}
}
