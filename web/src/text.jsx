// The Preact component that renders attacker-controlled text: text nodes only,
// never HTML, with unsafe characters as visible escapes (see text.js).
import { asString, safeString, segments, truncate } from './text.js';

export { asString, fmtTime, safeString, segments } from './text.js';

/** DEFAULT_MAX is how many characters a table cell shows before it truncates. */
export const DEFAULT_MAX = 120;

/** TITLE_MAX bounds the hover text of a truncated value. */
const TITLE_MAX = 2000;

/**
 * T renders an untrusted value as text. With max > 0, text longer than max is cut
 * and marked; hovering shows up to TITLE_MAX characters (escaped, as an attribute
 * value, never markup) and the detail drawers show it in full.
 */
export function T({ v, max = 0, className = '' }) {
  const full = asString(v);
  const { text, cut } = truncate(full, max);
  const segs = segments(text);
  const title = cut > 0 ? safeString(truncate(full, TITLE_MAX).text) : undefined;
  return (
    <span class={'txt ' + className} title={title}>
      {segs.map((x, i) => (x.esc ? <span key={i} class="esc">{x.text}</span> : x.text))}
      {cut > 0 ? <span class="cut">{`… +${cut.toLocaleString()} chars`}</span> : null}
    </span>
  );
}
