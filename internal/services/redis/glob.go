package redis

// globMatch reports whether s matches a Redis glob pattern (KEYS, SCAN MATCH, CONFIG
// GET): `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\x` escapes, as Redis's stringmatchlen.
// It is iterative with one backtrack point for `*`, so a hostile pattern costs
// O(len(pattern)·len(s)) at most.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				starP, starI = p, i
				continue
			case '?':
				p++
				i++
				continue
			case '[':
				if np, ok := matchClass(pattern, p, s[i]); np > 0 {
					if ok {
						p = np
						i++
						continue
					}
				} else if s[i] == '[' { // unterminated class: a literal '['
					p++
					i++
					continue
				}
			case '\\':
				if p+1 < len(pattern) {
					if pattern[p+1] == s[i] {
						p += 2
						i++
						continue
					}
				} else if s[i] == '\\' {
					p++
					i++
					continue
				}
			default:
				if pattern[p] == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches c against the class starting at pattern[p] == '['. It returns
// the index after the class (0 when the class is not terminated) and whether c is in it.
func matchClass(pattern string, p int, c byte) (int, bool) {
	j := p + 1
	not := false
	if j < len(pattern) && pattern[j] == '^' {
		not = true
		j++
	}
	match := false
	for j < len(pattern) && pattern[j] != ']' {
		switch {
		case pattern[j] == '\\' && j+1 < len(pattern):
			if pattern[j+1] == c {
				match = true
			}
			j += 2
		case j+2 < len(pattern) && pattern[j+1] == '-' && pattern[j+2] != ']':
			lo, hi := pattern[j], pattern[j+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			j += 3
		default:
			if pattern[j] == c {
				match = true
			}
			j++
		}
	}
	if j >= len(pattern) {
		return 0, false
	}
	return j + 1, match != not
}
