package ssh

import (
	"testing"

	"decnet/internal/fingerprint"
)

// The parsers themselves are tested (table tests, the Salesforce HASSH reference,
// fuzzing) in internal/fingerprint; these tests cover the connection tap.

func md5hex(s string) string { return fingerprint.MD5Hex(s) }

var sampleKex = KexInit{
	Cookie:             [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
	KexAlgos:           "curve25519-sha256,ext-info-c",
	ServerHostKeyAlgos: "ssh-ed25519",
	CiphersC2S:         "aes128-ctr",
	CiphersS2C:         "aes256-ctr",
	MACsC2S:            "hmac-sha2-256",
	MACsS2C:            "hmac-sha1",
	CompressionC2S:     "none",
	CompressionS2C:     "zlib",
	FirstKexFollows:    true,
}

func TestKexTapByteByByte(t *testing.T) {
	stream := append([]byte("SSH-2.0-PuTTY_Release_0.80\r\n"), fingerprint.SSHPacket(sampleKex.Marshal())...)
	stream = append(stream, "encrypted garbage after"...)
	var calls int
	var gotV string
	var gotK KexInit
	tap := newKexTap(nil, func(v string, k KexInit, ok bool) {
		calls++
		gotV, gotK = v, k
		if !ok {
			t.Error("tap reported no KEXINIT")
		}
	})
	for i := range stream {
		tap.feed(stream[i : i+1])
	}
	tap.finish()
	if calls != 1 || gotV != "SSH-2.0-PuTTY_Release_0.80" || gotK != sampleKex {
		t.Fatalf("calls=%d v=%q k=%+v", calls, gotV, gotK)
	}
	// A client that sends only its version still gets its fingerprint event.
	calls = 0
	tap = newKexTap(nil, func(v string, k KexInit, ok bool) {
		calls++
		if ok || v != "SSH-2.0-scanner" {
			t.Errorf("version-only: %q %v", v, ok)
		}
	})
	tap.feed([]byte("SSH-2.0-scanner\r\n"))
	tap.finish()
	tap.finish()
	if calls != 1 {
		t.Fatalf("version-only: %d callbacks", calls)
	}
}

func FuzzKexTap(f *testing.F) {
	f.Add(append([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"), fingerprint.SSHPacket(sampleKex.Marshal())...))
	f.Add([]byte("junk\nSSH-2.0-x\n\x00\x00\x00\x0c\x04\x14"))
	f.Add([]byte("SSH-1.99-x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, err := fingerprint.ParseClientPreamble(b)
		// The tap must agree with a one-shot parse whatever the chunking.
		var got bool
		tap := newKexTap(nil, func(string, KexInit, bool) { got = true })
		for i := 0; i < len(b); i += 7 {
			tap.feed(b[i:min(i+7, len(b))])
		}
		tap.finish()
		if err == nil && !got {
			t.Fatal("tap missed a complete preamble")
		}
	})
}
