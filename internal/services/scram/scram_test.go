package scram

import "testing"

func TestParseClientFirstAndName(t *testing.T) {
	cf, err := ParseClientFirst("n,,n=a=2Cb=3Dc,r=fyko+d2lbbFgONRv9qkxdawL")
	if err != nil || cf.GS2Header != "n,," || cf.Bare != "n=a=2Cb=3Dc,r=fyko+d2lbbFgONRv9qkxdawL" || cf.Nonce != "fyko+d2lbbFgONRv9qkxdawL" {
		t.Fatalf("ParseClientFirst = %+v, %v", cf, err)
	}
	if name, err := cf.Name(); err != nil || name != "a,b=c" {
		t.Fatalf("Name = %q, %v; want a,b=c", name, err)
	}
	if _, err := (ClientFirst{User: "a=2Xb"}).Name(); err == nil {
		t.Fatal("Name accepted a bad escape")
	}
	for _, bad := range []string{"", "x,,n=u,r=n", "n,b,n=u,r=n", "n,,r=n,n=u", "n,,n=u,r=", "n,,n=u,r=a b"} {
		if _, err := ParseClientFirst(bad); err == nil {
			t.Errorf("ParseClientFirst(%q) accepted", bad)
		}
	}
	fin, err := ParseClientFinal("c=biws,r=abc,p=AAAA", 3)
	if err != nil || fin.Binding != "biws" || fin.Nonce != "abc" || fin.WithoutProof != "c=biws,r=abc" || len(fin.Proof) != 3 {
		t.Fatalf("ParseClientFinal = %+v, %v", fin, err)
	}
	if _, err := ParseClientFinal("c=biws,r=abc,p=AAAA", 32); err == nil {
		t.Fatal("ParseClientFinal accepted a proof of the wrong size")
	}
}
