package api

import (
	"testing"

	"decnet/internal/query"
)

// FuzzQuoteTerm: a since/until value from the URL is one quoted term of the
// search syntax whatever it holds; it never injects terms of its own.
func FuzzQuoteTerm(f *testing.F) {
	for _, s := range []string{"", "15m", `a" decky:x "`, `\`, `\"`, `x\x41`, "2026-03-14T15:09:26Z", "\x00\xff", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || len(v) > 4096 {
			return
		}
		q, err := query.Parse("key:" + quoteTerm(v))
		if err != nil {
			t.Fatalf("quoteTerm(%q) does not parse: %v", v, err)
		}
		if len(q.Fields) != 1 || q.Fields["key"] != v || len(q.Text) != 0 || q.Decky != "" {
			t.Fatalf("quoteTerm(%q) parsed as %+v", v, q)
		}
	})
}

// FuzzVerifyPassword: any stored hash string is handled without a panic or an
// unbounded computation, and never verifies a password it was not made from.
func FuzzVerifyPassword(f *testing.F) {
	good, _ := hashPassword("the-right-password")
	for _, s := range []string{good, "", "$argon2id$", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		"$argon2i$v=19$m=16,t=1,p=1$c2FsdA$aGFzaA", "$2a$10$abcdefghijklmnopqrstuv"} {
		f.Add(s, "the-wrong-password")
	}
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if hash == good && pw == "the-right-password" {
			return
		}
		if hash == good && verifyPassword(hash, pw) {
			t.Fatalf("%q verifies against the hash of another password", pw)
		}
		verifyPassword(hash, pw)
	})
}
