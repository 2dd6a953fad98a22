package fingerprint

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

	"decnet/internal/testenv"
)

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
	good := sampleKex.Marshal()
	got, err := ParseKexinit(good)
	if err != nil {
		t.Fatal(err)
	}
	if got != sampleKex {
		t.Fatalf("round trip: got %+v want %+v", got, sampleKex)
	}
	h, algos := got.HASSH()
	wantAlgos := "curve25519-sha256,ext-info-c;aes128-ctr;hmac-sha2-256;none"
	if algos != wantAlgos || h != MD5Hex(wantAlgos) {
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

// TestHASSHKnownValues checks HASSH and HASSHServer of fixed lists against MD5s
// computed independently (`printf %s 'ALGORITHMS' | md5sum`).
func TestHASSHKnownValues(t *testing.T) {
	cases := []struct {
		k                   KexInit
		client, clientAlgos string
		server, serverAlgos string
	}{
		{
			k:      KexInit{KexAlgos: "a", CiphersC2S: "b", MACsC2S: "c", CompressionC2S: "d", CiphersS2C: "x", MACsS2C: "y", CompressionS2C: "z"},
			client: "845425be4f77f4097e014a6591497010", clientAlgos: "a;b;c;d",
			server: MD5Hex("a;x;y;z"), serverAlgos: "a;x;y;z",
		},
		{
			k: KexInit{KexAlgos: "curve25519-sha256,ecdh-sha2-nistp256", ServerHostKeyAlgos: "ssh-ed25519",
				CiphersC2S: "aes128-gcm@openssh.com,aes128-ctr", MACsC2S: "hmac-sha2-256", CompressionC2S: "none",
				CiphersS2C: "aes256-ctr", MACsS2C: "hmac-sha1", CompressionS2C: "zlib@openssh.com,none", LanguagesC2S: "en"},
			client: "c72fa3e5422ae32be00c43aab74e55c2", clientAlgos: "curve25519-sha256,ecdh-sha2-nistp256;aes128-gcm@openssh.com,aes128-ctr;hmac-sha2-256;none",
			server: "e9dfbd506798301a1fcebdd17358a812", serverAlgos: "curve25519-sha256,ecdh-sha2-nistp256;aes256-ctr;hmac-sha1;zlib@openssh.com,none",
		},
	}
	for i, c := range cases {
		if h, a := c.k.HASSH(); h != c.client || a != c.clientAlgos {
			t.Errorf("case %d: HASSH = %s %q, want %s %q", i, h, a, c.client, c.clientAlgos)
		}
		if h, a := c.k.HASSHServer(); h != c.server || a != c.serverAlgos {
			t.Errorf("case %d: HASSHServer = %s %q, want %s %q", i, h, a, c.server, c.serverAlgos)
		}
	}
}

func md5Of(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestParseSSHIdent(t *testing.T) {
	pkt := SSHPacket(sampleKex.Marshal())
	cases := []struct {
		name   string
		in     string
		server bool
		ident  string
		n      int
		want   error // nil, ErrIncomplete or ErrNotSSH
	}{
		{"openssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n" + string(pkt), false, "SSH-2.0-OpenSSH_9.2p1 Debian-2", 32, nil},
		{"bare LF", "SSH-2.0-Go\n", false, "SSH-2.0-Go", 11, nil},
		{"empty", "", false, "", 0, ErrIncomplete},
		{"prefix S", "S", false, "", 0, ErrIncomplete},
		{"prefix SSH-2.0", "SSH-2.0-Open", false, "", 0, ErrIncomplete},
		{"http", "GET / HTTP/1.1\r\n", false, "", 0, ErrNotSSH},
		{"tls", "\x16\x03\x01\x02\x00", false, "", 0, ErrNotSSH},
		{"wrong early", "SSX", false, "", 0, ErrNotSSH},
		{"too long", "SSH-2.0-" + strings.Repeat("x", 300), false, "", 0, ErrNotSSH},
		{"control bytes", "SSH-2.0-a\x00b\r\n", false, "", 0, ErrNotSSH},
		{"client banner first", "hello\r\nSSH-2.0-x\r\n", false, "", 0, ErrNotSSH},
		{"server banner first", "Welcome\r\nSSH-2.0-x\r\n", true, "SSH-2.0-x", 20, nil},
		{"server banner incomplete", "Welcome\r\nSSH-2", true, "", 0, ErrIncomplete},
		{"server banner binary", "Wel\x01come\r\n", true, "", 0, ErrNotSSH},
		{"server too many lines", strings.Repeat("x\n", 17) + "SSH-2.0-x\n", true, "", 0, ErrNotSSH},
	}
	for _, c := range cases {
		parse := ParseSSHIdent
		if c.server {
			parse = ParseSSHServerIdent
		}
		ident, n, err := parse([]byte(c.in))
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		case ident != c.ident || n != c.n:
			t.Errorf("%s: got %q %d, want %q %d", c.name, ident, n, c.ident, c.n)
		}
	}
}

func TestParseKexinitPacket(t *testing.T) {
	pkt := SSHPacket(sampleKex.Marshal())
	k, n, err := ParseKexinitPacket(append(append([]byte(nil), pkt...), "next packet"...))
	if err != nil || n != len(pkt) || k != sampleKex {
		t.Fatalf("got %+v %d %v", k, n, err)
	}
	// Every strict prefix (a packet split across TCP segments) asks for more.
	for i := 0; i < len(pkt); i++ {
		if _, _, err := ParseKexinitPacket(pkt[:i]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix %d: err = %v, want ErrIncomplete", i, err)
		}
	}
	cases := []struct {
		name   string
		b      []byte
		notSSH bool
	}{
		{"zero length", []byte{0, 0, 0, 0, 0}, true},
		{"huge", []byte{0x7f, 0, 0, 0, 4}, true},
		{"padding too long", []byte{0, 0, 0, 20, 20}, true},
		{"encrypted-looking", []byte("\x8a\x13\xff\x00\x00"), true},
		{"not kexinit", SSHPacket(append([]byte{5}, make([]byte, 30)...)), false},
	}
	for _, c := range cases {
		_, _, err := ParseKexinitPacket(c.b)
		if err == nil || errors.Is(err, ErrIncomplete) || errors.Is(err, ErrNotSSH) != c.notSSH {
			t.Errorf("%s: err = %v (want a parse error, not-SSH %v)", c.name, err, c.notSSH)
		}
	}
}

func TestParseClientPreamble(t *testing.T) {
	pkt := SSHPacket(sampleKex.Marshal())
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
	// Bare LF and leading non-version lines are accepted (as servers tolerate).
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
		{"not kexinit", append([]byte("SSH-2.0-x\r\n"), SSHPacket(append([]byte{5}, make([]byte, 30)...))...)},
	}
	for _, c := range cases {
		_, _, err := ParseClientPreamble(c.b)
		if err == nil || errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: err = %v, want a parse error", c.name, err)
		}
	}
}

// TestHASSHReference checks our HASSH against Salesforce's published fingerprints
// (../shared/testdata/hassh): the MD5 of each algorithm string, and the whole path
// from a client stream built from the recorded lists (identification line + KEXINIT
// packet) through ParseSSHIdent and ParseKexinitPacket to the hash.
func TestHASSHReference(t *testing.T) {
	path := filepath.Join(testenv.ModuleRoot(t), "..", "shared", "testdata", "hassh", "hassh_fingerprints.json")
	f, err := os.Open(path)
	if err != nil {
		testenv.Missing(t, "Salesforce's HASSH reference list not found at %s (the shared test data folder beside the project): %v", path, err)
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
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("reference line does not parse: %v", err)
		}
		str := func(k string) string { s, _ := raw[k].(string); return s }
		id, want, wantAlgos := str("clientIdentificationString"), str("hassh"), str("hasshAlgorithms")
		if wantAlgos == "" || want == "" {
			continue
		}
		if got := md5Of(wantAlgos); got != want {
			t.Errorf("%s: md5(algorithms) = %s, reference hassh %s", id, got, want)
		}
		kex := KexInit{KexAlgos: str("ckex"), ServerHostKeyAlgos: "ssh-rsa", CiphersC2S: str("ceacts"),
			CiphersS2C: str("ceacts"), MACsC2S: str("cmacts"), MACsS2C: str("cmacts"), CompressionC2S: str("ccacts"), CompressionS2C: str("ccacts")}
		stream := append([]byte(id+"\r\n"), SSHPacket(kex.Marshal())...)
		ident, n, err := ParseSSHIdent(stream)
		if err != nil || ident != id {
			t.Errorf("%s: ident: %q %v", id, ident, err)
			continue
		}
		k, _, err := ParseKexinitPacket(stream[n:])
		if err != nil {
			t.Errorf("%s: KEXINIT: %v", id, err)
			continue
		}
		h, algos := k.HASSH()
		if h != want || algos != wantAlgos {
			t.Errorf("%s: HASSH = %s %q, reference %s %q", id, h, algos, want, wantAlgos)
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
	f.Add(sampleKex.Marshal())
	f.Add(KexInit{}.Marshal())
	f.Add([]byte{20})
	f.Add([]byte{20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKexinit(b)
		if err != nil {
			return
		}
		// Whatever parsed must re-marshal to a payload that parses the same.
		again, err := ParseKexinit(k.Marshal())
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

// FuzzSSHStream drives the stream parsers the way the sniffer does: on every prefix
// of a stream, they must answer consistently (a prefix of a parsable stream is
// incomplete, never "not SSH"; once not SSH, always not SSH).
func FuzzSSHStream(f *testing.F) {
	f.Add(append([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"), SSHPacket(sampleKex.Marshal())...))
	f.Add([]byte("junk\nSSH-2.0-x\n\x00\x00\x00\x0c\x04\x14"))
	f.Add([]byte("SSH-1.99-x\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := ParseClientPreamble(b)
		if len(v) > MaxSSHIdentLine {
			t.Fatalf("version longer than a line: %d", len(v))
		}
		if err == nil && v == "" {
			t.Fatal("success without a version line")
		}
		for _, parse := range []func([]byte) (string, int, error){ParseSSHIdent, ParseSSHServerIdent} {
			ident, n, err := parse(b)
			if err == nil {
				if n > len(b) || !strings.HasPrefix(ident, "SSH-") || len(ident) >= MaxSSHIdentLine {
					t.Fatalf("ident %q n=%d of %d", ident, n, len(b))
				}
				for i := 0; i < n; i++ {
					if _, _, perr := parse(b[:i]); !errors.Is(perr, ErrIncomplete) {
						t.Fatalf("prefix %d of a good ident: %v", i, perr)
					}
				}
				if _, m, kerr := ParseKexinitPacket(b[n:]); kerr == nil && m > len(b)-n {
					t.Fatalf("packet of %d bytes from %d", m, len(b)-n)
				}
			} else if errors.Is(err, ErrNotSSH) {
				if _, _, err2 := parse(append(append([]byte(nil), b...), "SSH-2.0-x\r\n"...)); !errors.Is(err2, ErrNotSSH) {
					t.Fatalf("not SSH became %v with more bytes", err2)
				}
			}
		}
	})
}
