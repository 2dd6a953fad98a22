package bounty

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

func ev(typ, service, ip string, fields map[string]string) *store.Record {
	return &store.Record{Event: event.Event{ID: "e-" + typ, Time: time.Unix(1700000000, 0).UTC(), Decky: "decky-01",
		Service: service, Type: typ, AttackerIP: ip, Fields: fields}}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func payload(t *testing.T, b store.Bounty) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(b.Payload, &m); err != nil {
		t.Fatalf("payload %s: %v", b.Payload, err)
	}
	return m
}

func TestExtractKinds(t *testing.T) {
	tests := []struct {
		name  string
		rec   *store.Record
		types []string // bounty types, in order
		check func(t *testing.T, bs []store.Bounty)
	}{
		{"no fields", ev("connect", "ssh", "10.0.0.1", nil), nil, nil},
		{"plain connect", ev("connect", "ssh", "10.0.0.1", map[string]string{"proto": "tcp"}), nil, nil},
		{"ssh password", ev("auth", "ssh", "10.0.0.1", map[string]string{"username": "root", "password": "toor",
			"secret_b64": b64("toor"), "secret_kind": "plaintext", "outcome": "failure", "method": "password"}),
			[]string{Credential}, func(t *testing.T, bs []store.Bounty) {
				p := payload(t, bs[0])
				if p["username"] != "root" || p["password"] != "toor" || p["secret_kind"] != "plaintext" ||
					p["outcome"] != "failure" || p["service"] != "ssh" || p["method"] != "password" {
					t.Errorf("payload %v", p)
				}
				b := bs[0]
				if b.Decky != "decky-01" || b.Service != "ssh" || b.AttackerIP != "10.0.0.1" || b.EventID != "e-auth" || b.Time.IsZero() {
					t.Errorf("bounty %+v", b)
				}
			}},
		{"legacy password only", ev("auth", "ftp", "10.0.0.1", map[string]string{"username": "a", "password": "b"}),
			[]string{Credential}, func(t *testing.T, bs []store.Bounty) {
				p := payload(t, bs[0])
				if p["secret_b64"] != b64("b") || p["secret_kind"] != "plaintext" {
					t.Errorf("payload %v", p)
				}
			}},
		{"hash only", ev("auth", "smb", "10.0.0.1", map[string]string{"username": "a", "hash": "aad3b435"}),
			[]string{Credential}, func(t *testing.T, bs []store.Bounty) {
				if p := payload(t, bs[0]); p["secret_kind"] != "hash" || p["hash"] != "aad3b435" {
					t.Errorf("payload %v", p)
				}
			}},
		{"ntlm with kind", ev("auth", "smb", "10.0.0.1", map[string]string{"username": "a", "secret_b64": b64("x"), "secret_kind": "ntlmv2"}),
			[]string{Credential}, nil},
		{"fingerprints and credential", ev("auth", "ssh", "10.0.0.1", map[string]string{"password": "p",
			"client_version": "SSH-2.0-OpenSSH_9.2", "hassh": "abc", "hassh_algorithms": "kex;enc", "hassh_server": "def"}),
			[]string{Credential, Fingerprint, Fingerprint, Fingerprint}, func(t *testing.T, bs []store.Bounty) {
				h := payload(t, bs[1])
				if h["kind"] != "hassh" || h["value"] != "abc" || h["hassh_algorithms"] != "kex;enc" || h["hassh_server"] != "" {
					t.Errorf("hassh payload %v", h)
				}
				if s := payload(t, bs[2]); s["kind"] != "hassh_server" || s["value"] != "def" {
					t.Errorf("hassh_server payload %v", s)
				}
				if c := payload(t, bs[3]); c["kind"] != "client_version" {
					t.Errorf("client_version payload %v", c)
				}
			}},
		{"tls fingerprints", ev("fingerprint", "sniffer", "10.0.0.1", map[string]string{"ja3": "1", "ja3s": "2", "ja4": "3", "jarm": "4"}),
			[]string{Fingerprint, Fingerprint, Fingerprint, Fingerprint}, nil},
		{"empty fingerprint value", ev("request", "http", "10.0.0.1", map[string]string{"user_agent": ""}), nil, nil},
		{"user agent", ev("request", "http", "10.0.0.1", map[string]string{"user_agent": "curl/8.0", "path": "/"}),
			[]string{Fingerprint}, nil},
		{"upload", ev("file_upload", "ssh", "10.0.0.1", map[string]string{"sha256": "ABCDEF", "size": "12", "filename": "x.sh",
			"stored": "true", "via": "scp", "username": "root"}),
			[]string{Artifact}, func(t *testing.T, bs []store.Bounty) {
				p := payload(t, bs[0])
				if p["sha256"] != "ABCDEF" || p["size"] != "12" || p["filename"] != "x.sh" || p["stored"] != "true" || p["via"] != "scp" {
					t.Errorf("payload %v", p)
				}
			}},
		{"sha256 on another type", ev("download_attempt", "http", "10.0.0.1", map[string]string{"sha256": "ab"}), nil, nil},
		{"upload without hash", ev("file_upload", "ssh", "10.0.0.1", map[string]string{"filename": "x"}), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := Extract(tc.rec)
			if len(bs) != len(tc.types) {
				t.Fatalf("got %d bounty %+v, want types %v", len(bs), bs, tc.types)
			}
			for i, b := range bs {
				if b.Type != tc.types[i] {
					t.Errorf("bounty %d is %s, want %s", i, b.Type, tc.types[i])
				}
				if len(b.DedupKey) != 32 {
					t.Errorf("dedup key %q", b.DedupKey)
				}
				if !json.Valid(b.Payload) {
					t.Errorf("payload not JSON: %s", b.Payload)
				}
			}
			if tc.check != nil {
				tc.check(t, bs)
			}
		})
	}
}

func key(r *store.Record) string {
	bs := Extract(r)
	if len(bs) != 1 {
		panic("want exactly one bounty")
	}
	return bs[0].DedupKey
}

func TestDedupKeys(t *testing.T) {
	cred := func(service, ip, user, pw string, extra ...string) *store.Record {
		f := map[string]string{"username": user, "password": pw, "secret_b64": b64(pw)}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return ev("auth", service, ip, f)
	}
	base := key(cred("ssh", "10.0.0.1", "root", "toor"))
	same := []struct {
		name string
		rec  *store.Record
	}{
		{"other decky", func() *store.Record { r := cred("ssh", "10.0.0.1", "root", "toor"); r.Decky = "decky-09"; return r }()},
		{"other outcome", cred("ssh", "10.0.0.1", "root", "toor", "outcome", "success")},
		{"other event id and time", func() *store.Record {
			r := cred("ssh", "10.0.0.1", "root", "toor")
			r.ID, r.Time = "other", time.Now()
			return r
		}()},
		{"legacy line without secret_b64", ev("auth", "ssh", "10.0.0.1", map[string]string{"username": "root", "password": "toor"})},
		{"explicit plaintext kind", cred("ssh", "10.0.0.1", "root", "toor", "secret_kind", "plaintext")},
	}
	for _, tc := range same {
		if k := key(tc.rec); k != base {
			t.Errorf("%s: key differs, the same credential would be stored twice", tc.name)
		}
	}
	differ := []struct {
		name string
		rec  *store.Record
	}{
		{"other attacker", cred("ssh", "10.0.0.2", "root", "toor")},
		{"other service", cred("mysql", "10.0.0.1", "root", "toor")},
		{"other user", cred("ssh", "10.0.0.1", "admin", "toor")},
		{"other password", cred("ssh", "10.0.0.1", "root", "toor1")},
		{"other kind", cred("ssh", "10.0.0.1", "root", "toor", "secret_kind", "ntlmv2")},
		{"boundary shift", cred("ssh", "10.0.0.1", "roo", "ttoor")},
	}
	for _, tc := range differ {
		if k := key(tc.rec); k == base {
			t.Errorf("%s: same key, two distinct credentials would collapse", tc.name)
		}
	}
	// Secret bytes win over the printable form: two passwords that print alike are distinct.
	a := ev("auth", "ssh", "10.0.0.1", map[string]string{"username": "u", "password": "p?", "secret_b64": b64("p\x00")})
	b := ev("auth", "ssh", "10.0.0.1", map[string]string{"username": "u", "password": "p?", "secret_b64": b64("p\x01")})
	if key(a) == key(b) {
		t.Error("secrets differing only in non-printable bytes share a key")
	}

	fp := func(kind, v, ip string) string {
		return key(ev("fingerprint", "sniffer", ip, map[string]string{kind: v}))
	}
	if fp("ja3", "x", "1.1.1.1") != fp("ja3", "x", "1.1.1.1") {
		t.Error("fingerprint key not deterministic")
	}
	if fp("ja3", "x", "1.1.1.1") == fp("ja3s", "x", "1.1.1.1") || fp("ja3", "x", "1.1.1.1") == fp("ja3", "x", "1.1.1.2") ||
		fp("ja3", "x", "1.1.1.1") == fp("ja3", "y", "1.1.1.1") {
		t.Error("distinct fingerprints share a key")
	}
	up := func(sum, ip, name string) string {
		return key(ev("file_upload", "ssh", ip, map[string]string{"sha256": sum, "filename": name}))
	}
	if up("AB", "1.1.1.1", "a") != up("ab", "1.1.1.1", "b") {
		t.Error("the same file under another name or hex case is a new artifact")
	}
	if up("ab", "1.1.1.1", "a") == up("ab", "1.1.1.2", "a") {
		t.Error("artifacts of two attackers share a key")
	}
}

func TestKeyFraming(t *testing.T) {
	if Key("a", "b|c") == Key("a", "b", "c") || Key("a", "1:x") == Key("a", "1", "x") || Key("ab") == Key("a", "b") {
		t.Error("Key parts are not framed unambiguously")
	}
}

// Dedup keys are stored: a key computed differently would let every known bounty
// in again. These were computed independently (Python's hashlib) from the package
// doc's definition.
func TestKeyValues(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Key(Credential, "ssh", "10.0.0.9", "root", "plaintext", "p@ss:w0rd"), "688699bb62b2c4b0754f47fb653e4648"},
		{Key(Fingerprint, "hassh", "ec7378c1a92f5a8dde7e8b7a1ddf33d1", "10.0.0.9"), "884c0134bf06624137d9ff3c14079ce5"},
		{Key(Artifact, "", "\xff\x00é"), "35fdeb3ddabb2683a81206ca26dcb61a"},
	} {
		if c.got != c.want {
			t.Errorf("key %s, want %s", c.got, c.want)
		}
	}
}

// BenchmarkExtract extracts the bounty of an SSH login attempt (a credential and a
// client_version fingerprint) and of an HTTP request (a user_agent fingerprint).
func BenchmarkExtract(b *testing.B) {
	recs := []*store.Record{
		ev("auth", "ssh", "203.0.113.7", map[string]string{"username": "root", "password": "pass123", "secret_kind": "plaintext",
			"method": "password", "outcome": "failure", "client_version": "SSH-2.0-libssh2_1.10.0"}),
		ev("request", "http", "203.0.113.7", map[string]string{"method": "GET", "path": "/wp-login.php", "user_agent": "Mozilla/5.0 (compatible; zgrab/0.x)", "status": "404"}),
	}
	for i := 0; b.Loop(); i++ {
		if len(Extract(recs[i%2])) == 0 {
			b.Fatal("no bounty")
		}
	}
}

func TestExtractAll(t *testing.T) {
	recs := []store.Record{*ev("auth", "ssh", "1.1.1.1", map[string]string{"password": "x"}),
		*ev("connect", "ssh", "1.1.1.1", nil), *ev("request", "http", "1.1.1.1", map[string]string{"user_agent": "u"})}
	bs := ExtractAll(recs)
	if len(bs) != 2 || bs[0].Type != Credential || bs[1].Type != Fingerprint {
		t.Fatalf("ExtractAll: %+v", bs)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("auth", "root", "toor", "dG9vcg==", "abc", "curl")
	f.Add("file_upload", "", "", "!!", "", "")
	f.Fuzz(func(t *testing.T, typ, user, pw, sb64, sum, ua string) {
		r := ev(typ, "svc", "10.0.0.1", map[string]string{"username": user, "password": pw, "secret_b64": sb64, "sha256": sum, "user_agent": ua})
		for _, b := range Extract(r) {
			if !json.Valid(b.Payload) || len(b.DedupKey) != 32 {
				t.Fatalf("bad bounty %+v", b)
			}
		}
	})
}

// payloadJSON gives the bytes encoding/json's Marshal gives, for any keys and
// values (attacker text: escapes, HTML, U+2028, invalid UTF-8).
func FuzzPayloadJSON(f *testing.F) {
	f.Add("username", "root", "password", "p\"<a href='x'>&amp;</a>\u2028\u2029\x00\x1f\x7f\xff\xfe")
	f.Add("a\xc3", "\xed\xa0\x80\xf4\x90\x80\x80", "\t\b\f\r\n\\", "é\U0001F600\ufffd")
	f.Add("", "", "x", "\xe2\x80")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p := map[string]string{k1: v1, k2: v2, "service": "ssh"}
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var pairs []pair
		for k, v := range p {
			pairs = append(pairs, pair{k, v})
		}
		if got := payloadJSON(pairs); !bytes.Equal(got, want) {
			t.Fatalf("payloadJSON %q\nencoding/json %q", got, want)
		}
	})
}

// ExtractNew asks about every bounty's key, in Extract's order, and leaves out
// exactly those reported stored; the rest are Extract's bounty unchanged.
func TestExtractNew(t *testing.T) {
	r := ev(event.FileUpload, "ssh", "203.0.113.7", map[string]string{"username": "root", "password": "pw",
		"client_version": "SSH-2.0-x", "hassh": "abc", "hassh_algorithms": "kex", "sha256": "AB12", "filename": "x.sh"})
	all := Extract(r)
	if len(all) != 4 {
		t.Fatalf("Extract: %d bounty, want a credential, two fingerprints and an artifact: %+v", len(all), all)
	}
	for skip := range all {
		var asked []string
		got := ExtractNew(r, func(k string) bool { asked = append(asked, k); return k == all[skip].DedupKey })
		want := append(append([]store.Bounty{}, all[:skip]...), all[skip+1:]...)
		if len(asked) != len(all) {
			t.Fatalf("ExtractNew asked about %d keys, want %d", len(asked), len(all))
		}
		for i, b := range all {
			if asked[i] != b.DedupKey {
				t.Fatalf("ExtractNew's question %d: %q, want %q", i, asked[i], b.DedupKey)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("ExtractNew without %s: %d bounty, want %d", all[skip].Type, len(got), len(want))
		}
		for i := range want {
			if got[i].DedupKey != want[i].DedupKey || !bytes.Equal(got[i].Payload, want[i].Payload) || got[i].Type != want[i].Type {
				t.Errorf("ExtractNew without %s, bounty %d: %+v, want %+v", all[skip].Type, i, got[i], want[i])
			}
		}
	}
	if got := ExtractNew(r, func(string) bool { return false }); len(got) != len(all) {
		t.Errorf("ExtractNew with nothing stored: %d bounty, want %d", len(got), len(all))
	}
}

// present knows every fingerprint kind at its index and every field Secret reads,
// and nothing else.
func TestPresent(t *testing.T) {
	for i, kind := range FingerprintKinds {
		if secret, kinds := present(map[string]string{kind: "x", "other": "y"}); secret || kinds != 1<<i {
			t.Errorf("present(%s) = %v, %b; want false, %b", kind, secret, kinds, 1<<i)
		}
	}
	for _, k := range []string{"secret_b64", "password", "secret", "hash"} {
		if _, ok := Secret(&event.Event{Fields: map[string]string{k: "x"}}); !ok {
			t.Fatalf("Secret does not read %s", k)
		}
		if secret, kinds := present(map[string]string{k: "x"}); !secret || kinds != 0 {
			t.Errorf("present(%s) = %v, %b; want true, 0", k, secret, kinds)
		}
	}
	for _, k := range []string{"username", "ja3_string", "hassh_algorithms", "sha256", "PASSWORD", ""} {
		if secret, kinds := present(map[string]string{k: "x"}); secret || kinds != 0 {
			t.Errorf("present(%q) = %v, %b; want false, 0", k, secret, kinds)
		}
	}
}
