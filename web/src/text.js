// Escaping of attacker-controlled text for display (pure functions; the Preact
// component that uses them is in text.jsx). Control characters, C1 controls,
// bidirectional overrides, zero-width characters, line/paragraph separators,
// byte-order marks, lone surrogates and the replacement character that stands for
// invalid UTF-8 become visible escapes (\xHH below 0x100, \u{HHHH} above), the way
// the event codec's SafeTerminal shows them, so nothing can reorder, hide or
// restyle the page. internal/webui's browser test mirrors these rules (display()).

// Characters that must never reach the page raw.
function isUnsafeCode(cp) {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0x200e || cp === 0x200f ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2069) ||
    cp === 0xfeff ||
    cp === 0xfffd ||
    (cp >= 0xd800 && cp <= 0xdfff)
  );
}

function escapeCode(cp) {
  if (cp < 0x100) return '\\x' + cp.toString(16).toUpperCase().padStart(2, '0');
  return '\\u{' + cp.toString(16).toUpperCase().padStart(4, '0') + '}';
}

/**
 * segments splits s into [{text, esc}] runs: esc runs are escapes of unsafe
 * characters, the others are plain printable text.
 */
export function segments(s) {
  const out = [];
  let plain = '';
  let esc = '';
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    let width = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    if (isUnsafeCode(cp)) {
      if (plain) {
        out.push({ text: plain, esc: false });
        plain = '';
      }
      esc += escapeCode(cp);
    } else {
      if (esc) {
        out.push({ text: esc, esc: true });
        esc = '';
      }
      plain += width === 2 ? s.slice(i, i + 2) : s[i];
    }
    i += width - 1;
  }
  if (plain) out.push({ text: plain, esc: false });
  if (esc) out.push({ text: esc, esc: true });
  return out;
}

/** safeString is the one-line printable form of s (escapes inline, as plain text). */
export function safeString(v) {
  return segments(asString(v)).map((x) => x.text).join('');
}

/** asString turns any JSON value into the string to show. */
export function asString(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v);
  } catch (e) {
    return String(v);
  }
}

/** fmtTime shows an RFC 3339 timestamp as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  if (isNaN(d.getTime())) return safeString(ts);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** truncate cuts s to max characters (never inside a surrogate pair); cut is how many were dropped. */
export function truncate(s, max) {
  if (!(max > 0) || s.length <= max) return { text: s, cut: 0 };
  let n = max;
  const c = s.charCodeAt(n - 1);
  if (c >= 0xd800 && c <= 0xdbff) n--;
  return { text: s.slice(0, n), cut: s.length - n };
}
