// Pure data shaping for the pages (no DOM, no Preact), unit-tested with node:test
// in web/test/.
import { asString } from './text.js';

/**
 * hops turns an attacker's timeline (any order) into the ordered decky visits:
 * consecutive events on one decky are one visit. The timeline holds only the
 * latest rows, so deckies the attacker touched before it (from `deckies`, in
 * first-touch order) come first.
 */
export function hops(timeline, deckies) {
  const rows = (Array.isArray(timeline) ? timeline : []).filter((r) => r && r.decky).slice();
  rows.sort((a, b) => (a.id || 0) - (b.id || 0));
  const seq = [];
  for (const r of rows) if (seq[seq.length - 1] !== r.decky) seq.push(r.decky);
  const known = new Set(seq);
  const earlier = (Array.isArray(deckies) ? deckies : []).filter((d) => !known.has(d));
  return earlier.concat(seq);
}

/**
 * hopEdges aggregates a visit sequence into one edge per direction with the hop
 * numbers it carries: [{source, target, steps}]. The first hop's source is null
 * (the attacker), so no decky name can be mistaken for the attacker.
 */
export function hopEdges(sequence) {
  const edges = new Map();
  let prev = null;
  sequence.forEach((d, i) => {
    const key = JSON.stringify([prev, d]);
    if (!edges.has(key)) edges.set(key, { source: prev, target: d, steps: [] });
    edges.get(key).steps.push(i + 1);
    prev = d;
  });
  return [...edges.values()];
}

/** stepsLabel shows hop numbers, at most four, then the count. */
export function stepsLabel(steps) {
  return steps.slice(0, 4).join(',') + (steps.length > 4 ? `… (${steps.length})` : '');
}

const SUMMARY_KEYS = ['command', 'username', 'password', 'path', 'user_agent', 'sni', 'query', 'client_version', 'ja4', 'hassh', 'sha256', 'outcome'];

/** summary picks up to three fields that say most about an event, as "key=value" (else its msg). */
export function summary(row) {
  const f = row && row.fields && typeof row.fields === 'object' ? row.fields : {};
  const parts = [];
  for (const k of SUMMARY_KEYS) {
    if (parts.length >= 3) break;
    if (f[k] !== undefined && f[k] !== '') parts.push(`${k}=${asString(f[k])}`);
  }
  if (parts.length === 0 && row && row.msg) parts.push(asString(row.msg));
  return parts.join('  ');
}

/** objectPairs lists an object's entries sorted by key (non-objects give []). */
export function objectPairs(o) {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [];
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k]]);
}

const PAYLOAD_FIRST = ['username', 'password', 'secret', 'community', 'secret_kind', 'kind', 'value', 'sha256', 'filename'];

/** payloadSummary is a one-line "k=v" view of a bounty payload: the telling keys first, *_b64 last. */
export function payloadSummary(p) {
  const rank = (k) => {
    const i = PAYLOAD_FIRST.indexOf(k);
    if (i >= 0) return i;
    return k.endsWith('_b64') ? 1000 : 100;
  };
  return objectPairs(p)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${asString(v)}`)
    .join('  ');
}

/** secretOf picks the printable secret of a credential bounty payload. */
export function secretOf(p) {
  if (!p || typeof p !== 'object') return '';
  for (const k of ['password', 'secret', 'community', 'hash', 'secret_b64']) if (p[k] !== undefined) return p[k];
  return '';
}

/** fingerprintRows normalises fingerprints: a list of {kind, value, …} or a {kind: value | [values]} map. */
export function fingerprintRows(fp) {
  if (Array.isArray(fp)) return fp.filter((x) => x && typeof x === 'object');
  const rows = [];
  for (const [kind, v] of objectPairs(fp)) {
    for (const value of Array.isArray(v) ? v : [v]) {
      rows.push(typeof value === 'object' && value !== null ? { kind, ...value } : { kind, value });
    }
  }
  return rows;
}

/** bump adds one to key's count in a [{key, count}] list (adding it if new), sorted by count. */
export function bump(list, key) {
  if (!key || !Array.isArray(list)) return list;
  const out = list.map((x) => (x.key === key ? { ...x, count: (x.count || 0) + 1 } : x));
  if (!out.some((x) => x.key === key)) out.push({ key, count: 1 });
  return out.sort((a, b) => b.count - a.count);
}
