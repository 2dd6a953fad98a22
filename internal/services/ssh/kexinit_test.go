package ssh

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildKexinit marshals a KEXINIT payload the way RFC 4253 §7.1 lays it out.
func buildKexinit(k KexInit) []byte {
	b := []byte{msgKexinit}
	b = append(b, k.Cookie[:]...)
	for _, s := range []string{k.KexAlgos, k.ServerHostKeyAlgos, k.CiphersC2S, k.CiphersS2C, k.MACsC2S, k.MACsS2C,
		k.CompressionC2S, k.CompressionS2C, k.LanguagesC2S, k.LanguagesS2C} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	if k.FirstKexFollows {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, 0, 0, 0, 0)
}

// buildPacket wraps a payload in an unencrypted binary packet (RFC 4253 §6).
func buildPacket(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

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

func TestParseKexinit(t *testing.T) {
	good := buildKexinit(sampleKex)
	got, err := ParseKexinit(good)
	if err != nil {
		t.Fatal(err)
	}
	if got != sampleKex {
		t.Fatalf("round trip: got %+v want %+v", got, sampleKex)
	}
	h, algos := got.HASSH()
	wantAlgos := "curve25519-sha256,ext-info-c;aes128-ctr;hmac-sha2-256;none"
	if algos != wantAlgos || h != md5hex(wantAlgos) {
		t.Fatalf("HASSH = %s %q", h, algos)
	}
	if _, sa := got.HASSHServer(); sa != "curve25519-sha256,ext-info-c;aes256-ctr;hmac-sha1;zlib" {
		t.Fatalf("HASSHServer algorithms = %q", sa)
	}
	// Without the trailing boolean and reserved word the lists still parse.
	if _, err := ParseKexinit(good[:len(good)-5]); err != nil {
		t.Fatalf("short tail: %v", err)
	}

	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"wrong message", append([]byte{21}, good[1:]...)},
		{"short cookie", good[:10]},
		{"missing lists", good[:17+4]},
		{"list overruns", func() []byte {
			b := append([]byte(nil), good...)
			binary.BigEndian.PutUint32(b[17:], 0xffffffff)
			return b
		}()},
	}
	for _, c := range bad {
		if _, err := ParseKexinit(c.b); err == nil {
			t.Errorf("%s: parsed without error", c.name)
		}
	}
}

func TestParseClientPreamble(t *testing.T) {
	pkt := buildPacket(buildKexinit(sampleKex))
	stream := append([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), pkt...)
	v, k, err := ParseClientPreamble(stream)
	if err != nil || v != "SSH-2.0-OpenSSH_9.2p1 Debian-2" || k != sampleKex {
		t.Fatalf("got %q %+v %v", v, k, err)
	}
	// Every strict prefix is incomplete, never an error.
	for i := 0; i < len(stream); i++ {
		if _, _, err := ParseClientPreamble(stream[:i]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix %d: err = %v, want ErrIncomplete", i, err)
		}
	}
	// Bare LF and leading non-version lines are accepted.
	v, _, err = ParseClientPreamble(append([]byte("hello\nSSH-2.0-Go\n"), pkt...))
	if err != nil || v != "SSH-2.0-Go" {
		t.Fatalf("lenient: %q %v", v, err)
	}

	cases := []struct {
		name string
		b    []byte
	}{
		{"long line", []byte(strings.Repeat("A", 300))},
		{"zero length packet", append([]byte("SSH-2.0-x\r\n"), 0, 0, 0, 0, 0)},
		{"huge packet", append([]byte("SSH-2.0-x\r\n"), 0x7f, 0, 0, 0, 4)},
		{"padding too long", append([]byte("SSH-2.0-x\r\n"), 0, 0, 0, 20, 20)},
		{"not kexinit", append([]byte("SSH-2.0-x\r\n"), buildPacket(append([]byte{5}, make([]byte, 30)...))...)},
	}
	for _, c := range cases {
		_, _, err := ParseClientPreamble(c.b)
		if err == nil || errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: err = %v, want a parse error", c.name, err)
		}
	}
}

func TestKexTapByteByByte(t *testing.T) {
	stream := append([]byte("SSH-2.0-PuTTY_Release_0.80\r\n"), buildPacket(buildKexinit(sampleKex))...)
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

// sharedTestdata returns ../shared/testdata from the module root, or "" when absent.
func sharedTestdata(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "testdata")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// TestHASSHReference checks our HASSH against Salesforce's published fingerprints:
// the MD5 of each algorithm string, and the whole path from a KEXINIT built from
// the recorded client lists through ParseKexinit to the hash.
func TestHASSHReference(t *testing.T) {
	dir := sharedTestdata(t)
	if dir == "" {
		t.Skip("shared test data (../shared/testdata from the module root) is absent; HASSH reference check skipped")
	}
	f, err := os.Open(filepath.Join(dir, "hassh", "hassh_fingerprints.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	checked := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec struct{ ID, HASSH, Algorithms, Kex, Enc, MAC, Comp string }
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("reference line does not parse: %v", err)
		}
		str := func(k string) string { s, _ := raw[k].(string); return s }
		rec.ID, rec.HASSH, rec.Algorithms = str("clientIdentificationString"), str("hassh"), str("hasshAlgorithms")
		rec.Kex, rec.Enc, rec.MAC, rec.Comp = str("ckex"), str("ceacts"), str("cmacts"), str("ccacts")
		if rec.Algorithms == "" || rec.HASSH == "" {
			continue
		}
		sum := md5.Sum([]byte(rec.Algorithms))
		if got := hex.EncodeToString(sum[:]); got != rec.HASSH {
			t.Errorf("%s: md5(algorithms) = %s, reference hassh %s", rec.ID, got, rec.HASSH)
		}
		pkt := buildPacket(buildKexinit(KexInit{KexAlgos: rec.Kex, ServerHostKeyAlgos: "ssh-rsa", CiphersC2S: rec.Enc,
			CiphersS2C: rec.Enc, MACsC2S: rec.MAC, MACsS2C: rec.MAC, CompressionC2S: rec.Comp, CompressionS2C: rec.Comp}))
		v, k, err := ParseClientPreamble(append([]byte(rec.ID+"\r\n"), pkt...))
		if err != nil || v != rec.ID {
			t.Errorf("%s: preamble: %q %v", rec.ID, v, err)
			continue
		}
		h, algos := k.HASSH()
		if h != rec.HASSH || algos != rec.Algorithms {
			t.Errorf("%s: HASSH = %s %q, reference %s %q", rec.ID, h, algos, rec.HASSH, rec.Algorithms)
		}
		checked++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d reference fingerprints checked", checked)
	}
	t.Logf("%d reference HASSH fingerprints match", checked)
}

func FuzzParseKexinit(f *testing.F) {
	f.Add(buildKexinit(sampleKex))
	f.Add(buildKexinit(KexInit{}))
	f.Add([]byte{20})
	f.Add([]byte{20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKexinit(b)
		if err != nil {
			return
		}
		// Whatever parsed must re-marshal to a payload that parses the same.
		again, err := ParseKexinit(buildKexinit(k))
		if err != nil || again != k {
			t.Fatalf("re-parse differs: %+v vs %+v (%v)", again, k, err)
		}
		total := len(k.KexAlgos) + len(k.ServerHostKeyAlgos) + len(k.CiphersC2S) + len(k.CiphersS2C) + len(k.MACsC2S) +
			len(k.MACsS2C) + len(k.CompressionC2S) + len(k.CompressionS2C) + len(k.LanguagesC2S) + len(k.LanguagesS2C)
		if total > len(b) {
			t.Fatalf("lists (%d bytes) larger than input (%d)", total, len(b))
		}
	})
}

func FuzzParseClientPreamble(f *testing.F) {
	f.Add(append([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"), buildPacket(buildKexinit(sampleKex))...))
	f.Add([]byte("junk\nSSH-2.0-x\n\x00\x00\x00\x0c\x04\x14"))
	f.Add([]byte("SSH-1.99-x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := ParseClientPreamble(b)
		if len(v) > maxVersionLine {
			t.Fatalf("version longer than a line: %d", len(v))
		}
		if err == nil && v == "" {
			t.Fatal("success without a version line")
		}
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
