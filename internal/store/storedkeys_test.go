package store

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestStoredKeysGenerations(t *testing.T) {
	k := newStoredKeys(2)
	b := func(keys ...string) []Bounty {
		var out []Bounty
		for _, key := range keys {
			out = append(out, Bounty{Type: "fingerprint", Payload: json.RawMessage(`{}`), DedupKey: key})
		}
		return out
	}
	unknown := func(keys ...string) []string {
		var out []string
		for _, u := range k.unknown(b(keys...)) {
			out = append(out, u.DedupKey)
		}
		return out
	}
	if got := unknown("a", "b"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("nothing stored yet: unknown = %v", got)
	}
	k.stored(b("a", "b"))
	k.stored(b("c")) // the young generation was full: a and b are now old
	if got := unknown("a", "b", "c", "d"); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("unknown = %v, want [d]", got)
	}
	// Found in the old generation, a, b and c moved back into the young one, which
	// held two: young {b, c}, old {c, a} → after d and e: old {b, c}, young {d, e}.
	k.stored(b("d"))
	k.stored(b("e"))
	// a is forgotten; b moves up and pushes d and e into the old generation, which
	// drops c before it is asked for.
	if got := unknown("a", "b", "c", "d", "e"); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("unknown = %v, want [a c]", got)
	}
	if len(k.young) > 2 || len(k.old) > 2 {
		t.Fatalf("generations of %d and %d keys, over the bound of 2", len(k.young), len(k.old))
	}
	// A key without DedupKey is known by the key Ingest computes.
	x := Bounty{Type: "credential", Payload: json.RawMessage(`{"u":"x"}`)}
	k.stored(k.unknown([]Bounty{x}))
	if got := k.unknown([]Bounty{x}); len(got) != 0 {
		t.Fatalf("a stored bounty without an explicit key is unknown: %+v", got)
	}
}
