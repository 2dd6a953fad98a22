package smtp

import (
	"strings"
	"unicode/utf8"
)

// parsePath parses the argument of MAIL ("FROM:") or RCPT ("TO:") as Postfix
// does: the keyword case-insensitively, optional spaces after the colon, then a
// path in angle brackets (or, leniently, a bare address), then ESMTP parameters.
func parsePath(arg, keyword string) (addr string, params []string, ok bool) {
	if len(arg) < len(keyword) || !strings.EqualFold(arg[:len(keyword)], keyword) {
		return "", nil, false
	}
	rest := strings.TrimLeft(arg[len(keyword):], " \t")
	if rest == "" {
		return "", nil, false
	}
	if rest[0] == '<' {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return "", nil, false
		}
		addr = rest[1:end]
		rest = rest[end+1:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return "", nil, false
		}
	} else {
		addr, rest, _ = strings.Cut(rest, " ")
	}
	// A source route (<@a,@b:user@c>) is accepted and ignored, as RFC 5321 asks.
	if strings.HasPrefix(addr, "@") {
		if i := strings.IndexByte(addr, ':'); i > 0 {
			addr = addr[i+1:]
		}
	}
	return addr, strings.Fields(rest), true
}

// validAddress reports whether addr is a mailbox we would parse: printable, no
// spaces or brackets, at most one @ with a non-empty local part. The null sender
// is valid only for MAIL.
func validAddress(addr string, null bool) bool {
	if addr == "" {
		return null
	}
	if len(addr) > 320 || !utf8.ValidString(addr) {
		return false
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '(' || r == ')' || r == ',' || r == ';' {
			return false
		}
	}
	local, domain := splitAddress(addr)
	if local == "" || strings.Contains(domain, "@") {
		return false
	}
	return !strings.Contains(addr, "@") || domain != ""
}

// splitAddress splits at the last @.
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}
