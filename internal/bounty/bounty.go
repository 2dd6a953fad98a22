// Package bounty turns stored events into harvested bounty: credentials (any event
// carrying a secret), fingerprints (ja3, ja3s, ja4, hassh, hassh_server, jarm,
// user_agent, client_version) and artifacts (files attackers uploaded). Extraction is
// pure — no I/O — so the ingester computes it inside the batch that stores the events
// and commits both in one transaction.
//
// # What "the same" bounty is
//
// Every bounty row has a dedup key; the store keeps the first row per key and drops
// later ones. The key is the SHA-256 (hex) of the bounty type and its identifying
// parts, each written as <decimal length>:<bytes> so no choice of bytes inside a part
// can make two different tuples collide:
//
//   - credential:  service, attacker IP, username, secret kind, secret
//   - fingerprint: kind (ja3, hassh, …), value, attacker IP
//   - artifact:    file SHA-256, attacker IP
//
// Bounty is counted per attacker: the same password sprayed by two attackers is two
// credential rows, so "what did attacker X harvest/leave" is answered by the bounty
// table alone (the first sighting's decky and event stay linked), while one attacker
// replaying one credential against ten deckies, or a thousand times, is one row (the
// logs table keeps every attempt). The decky is not part of any key for that reason.
// The service is part of the credential key because a credential is tied to what it
// opens (root:toor on ssh and on mysql are two different findings), and the secret
// kind is part of it because the same bytes as a plaintext password and as an NTLM
// hash are different secrets. The outcome of an attempt is not part of the key.
//
// The secret is the decoded secret_b64 when present and valid (the exact bytes the
// attacker sent), else the first present of password, secret, hash. Events that
// carry only a printable password (DECNET's older lines) and events that carry
// secret_b64 for the same printable bytes therefore dedup together.
package bounty

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"decnet/internal/event"
	"decnet/internal/store"
)

// Bounty types.
const (
	Credential  = "credential"
	Fingerprint = "fingerprint"
	Artifact    = "artifact"
)

// FingerprintKinds are the event fields that hold a fingerprint, in the order their
// bounty is emitted.
var FingerprintKinds = []string{"ja3", "ja3s", "ja4", "hassh", "hassh_server", "jarm", "user_agent", "client_version"}

// credentialFields are copied from the event into a credential's payload when present.
var credentialFields = []string{"username", "password", "secret_b64", "secret_kind", "hash", "method", "outcome", "domain", "realm", "path", "database"}

// artifactFields are copied from a file_upload event into an artifact's payload.
var artifactFields = []string{"sha256", "size", "filename", "stored", "via", "username", "path", "content_type"}

// Extract returns the bounty an event carries: at most one credential, one
// fingerprint per fingerprint field, and one artifact. The result is nil for an
// event without bounty.
func Extract(r *store.Record) []store.Bounty {
	return ExtractNew(r, nil)
}

// ExtractNew is Extract without the bounty whose dedup key stored reports as
// already stored (nil: none), whose payloads it does not build: most fingerprints
// repeat (every connection's client version, every request's user agent).
func ExtractNew(r *store.Record, stored func(key string) bool) []store.Bounty {
	e := &r.Event
	if len(e.Fields) == 0 {
		return nil
	}
	var out []store.Bounty
	add := func(b store.Bounty, ok bool) {
		if ok {
			out = append(out, b)
		}
	}
	secret, kinds := present(e.Fields)
	if secret {
		add(credential(e, stored))
	}
	for i, kind := range FingerprintKinds {
		if kinds&(1<<i) != 0 {
			if v := e.Fields[kind]; v != "" {
				add(fingerprint(e, kind, v, stored))
			}
		}
	}
	add(artifact(e, stored))
	return out
}

// present reports, from one pass over fields, whether they hold a field Secret
// reads and which FingerprintKinds they hold (bit i: FingerprintKinds[i]): an
// event has a few fields, and looking each of those twelve names up in every
// event cost the ingester's reading goroutine more than one pass over them.
func present(fields map[string]string) (secret bool, kinds uint16) {
	for k := range fields {
		switch k {
		case "secret_b64", "password", "secret", "hash":
			secret = true
		default:
			if i := slices.Index(FingerprintKinds, k); i >= 0 {
				kinds |= 1 << i
			}
		}
	}
	return secret, kinds
}

// ExtractAll is Extract over a batch, in order.
func ExtractAll(recs []store.Record) []store.Bounty {
	var out []store.Bounty
	for i := range recs {
		out = append(out, Extract(&recs[i])...)
	}
	return out
}

// Secret returns the secret an event carries and whether it carries one (see the
// package doc for the order of precedence).
func Secret(e *event.Event) ([]byte, bool) {
	if s, ok := e.Fields["secret_b64"]; ok {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, k := range []string{"password", "secret", "hash"} {
		if v, ok := e.Fields[k]; ok {
			return []byte(v), true
		}
	}
	if s, ok := e.Fields["secret_b64"]; ok { // present but not valid base64: keep it as text
		return []byte(s), true
	}
	return nil, false
}

func credential(e *event.Event, stored func(string) bool) (store.Bounty, bool) {
	secret, ok := Secret(e)
	if !ok {
		return store.Bounty{}, false
	}
	kind := e.Fields["secret_kind"]
	if kind == "" {
		if _, isHash := e.Fields["hash"]; isHash && e.Fields["password"] == "" && e.Fields["secret_b64"] == "" {
			kind = "hash"
		} else {
			kind = "plaintext"
		}
	}
	key := Key(Credential, e.Service, e.AttackerIP, e.Fields["username"], kind, string(secret))
	if stored != nil && stored(key) {
		return store.Bounty{}, false
	}
	var stack [16]pair
	p := append(stack[:0], pair{"service", e.Service}, pair{"secret_kind", kind})
	for _, k := range credentialFields {
		if v, ok := e.Fields[k]; ok && k != "secret_kind" {
			p = append(p, pair{k, v})
		}
	}
	if _, ok := e.Fields["secret_b64"]; !ok {
		p = append(p, pair{"secret_b64", base64.StdEncoding.EncodeToString(secret)})
	}
	return newBounty(e, Credential, p, key), true
}

func fingerprint(e *event.Event, kind, value string, stored func(string) bool) (store.Bounty, bool) {
	key := Key(Fingerprint, kind, value, e.AttackerIP)
	if stored != nil && stored(key) {
		return store.Bounty{}, false
	}
	var stack [8]pair
	p := append(stack[:0], pair{"kind", kind}, pair{"value", value}, pair{"service", e.Service})
	// Companion fields such as hassh_algorithms or ja3_string describe the hash.
	for k, v := range e.Fields {
		if len(k) > len(kind) && k[len(kind)] == '_' && strings.HasPrefix(k, kind) && !isFingerprintKind(k) {
			p = append(p, pair{k, v})
		}
	}
	return newBounty(e, Fingerprint, p, key), true
}

func artifact(e *event.Event, stored func(string) bool) (store.Bounty, bool) {
	if e.Type != event.FileUpload {
		return store.Bounty{}, false
	}
	sum := e.Fields["sha256"]
	if sum == "" {
		return store.Bounty{}, false
	}
	key := Key(Artifact, strings.ToLower(sum), e.AttackerIP)
	if stored != nil && stored(key) {
		return store.Bounty{}, false
	}
	var stack [16]pair
	p := append(stack[:0], pair{"service", e.Service})
	for _, k := range artifactFields {
		if v, ok := e.Fields[k]; ok {
			p = append(p, pair{k, v})
		}
	}
	return newBounty(e, Artifact, p, key), true
}

func isFingerprintKind(k string) bool {
	for _, f := range FingerprintKinds {
		if f == k {
			return true
		}
	}
	return false
}

// pair is one name and value of a bounty's payload.
type pair struct{ k, v string }

// newBounty makes a bounty of e with the payload p (distinct names, any order).
func newBounty(e *event.Event, typ string, p []pair, key string) store.Bounty {
	// Invalid UTF-8 in attacker text is replaced by U+FFFD here, which is why raw
	// secrets also travel as secret_b64.
	b := payloadJSON(p)
	return store.Bounty{
		Time:       e.Time,
		Decky:      e.Decky,
		Service:    e.Service,
		AttackerIP: e.AttackerIP,
		Type:       typ,
		Payload:    b,
		DedupKey:   key,
		EventID:    e.ID,
	}
}

// Key is the dedup key of a bounty of type typ identified by parts: the first 128
// bits, in hex, of the SHA-256 of typ and parts, each encoded as <decimal
// length>:<bytes> (store migration 4 cut older 256-bit keys the same way).
func Key(typ string, parts ...string) string {
	var stack [256]byte // the parts of most keys fit: no allocation but the key's
	b := appendPart(stack[:0], typ)
	for _, p := range parts {
		b = appendPart(b, p)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func appendPart(b []byte, p string) []byte {
	b = strconv.AppendInt(b, int64(len(p)), 10)
	b = append(b, ':')
	return append(b, p...)
}

// payloadJSON returns the bytes encoding/json's Marshal gives the map of p (names
// in order; <, >, & and U+2028, U+2029 escaped) without a map or reflection, which
// were most of what extracting an event's bounty cost (BenchmarkExtract). jsontext
// quotes each string (RFC 8785's minimal escaping, which is encoding/json's for
// everything else); json.HTMLEscape adds the escapes encoding/json adds. A payload
// with invalid UTF-8 goes through Marshal, which writes each bad byte as the escape
// \ufffd where jsontext writes the character. FuzzPayloadJSON holds the two equal.
func payloadJSON(p []pair) []byte {
	for _, kv := range p {
		if !utf8.ValidString(kv.k) || !utf8.ValidString(kv.v) {
			m := make(map[string]string, len(p))
			for _, kv := range p {
				m[kv.k] = kv.v
			}
			b, _ := json.Marshal(m) // a map[string]string always marshals
			return b
		}
	}
	slices.SortFunc(p, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, kv := range p {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, kv.k)
		b = append(b, ':')
		b, _ = jsontext.AppendQuote(b, kv.v)
	}
	b = append(b, '}')
	if !needsHTMLEscape(b) {
		return b
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, b)
	return out.Bytes()
}

// needsHTMLEscape reports whether b holds a byte json.HTMLEscape would change: <,
// >, & or the first byte of U+2028 or U+2029.
func needsHTMLEscape(b []byte) bool {
	for _, c := range b {
		if c == '<' || c == '>' || c == '&' || c == 0xe2 {
			return true
		}
	}
	return false
}
