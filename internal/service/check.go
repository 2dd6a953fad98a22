package service

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the persona-key checks (Key.Check) and parsers that several
// services share.

// CheckUsers validates a list of user:password pairs (Kind List): every item needs
// a colon and a non-empty user; the password may be empty or hold colons (the
// first colon splits).
func CheckUsers(v string) error {
	for _, p := range SplitList(v) {
		u, _, ok := strings.Cut(p, ":")
		if !ok || u == "" {
			return fmt.Errorf("%q is not a user:password pair", p)
		}
	}
	return nil
}

// Users parses the user:password list persona key into the passwords each user may
// log in with. When the persona does not set key at all (a hand-run service whose
// config never went through Spec.Resolve), the list def is used instead.
func Users(rt *Runtime, key, def string) map[string]map[string]bool {
	list := rt.PersonaList(key)
	if _, set := rt.Config.Persona[key]; !set {
		list = SplitList(def)
	}
	users := map[string]map[string]bool{}
	for _, pair := range list {
		u, pw, _ := strings.Cut(pair, ":")
		if users[u] == nil {
			users[u] = map[string]bool{}
		}
		users[u][pw] = true
	}
	return users
}

// IntRange returns a Key.Check for an Int key that accepts whole numbers from min
// to max inclusive.
func IntRange(min, max int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < min || n > max {
			return fmt.Errorf("%q must be between %d and %d", v, min, max)
		}
		return nil
	}
}

// CheckDomain validates a DNS domain name: 1 to 253 bytes of dot-separated labels,
// each 1 to 63 letters, digits or hyphens.
func CheckDomain(v string) error {
	if v == "" || len(v) > 253 {
		return fmt.Errorf("%q is not a domain name", v)
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a domain name (empty or overlong label)", v)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q is not a domain name (letters, digits, - and . only)", v)
			}
		}
	}
	return nil
}
