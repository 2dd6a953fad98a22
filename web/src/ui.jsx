// Small shared pieces: data loading, error banners, the detail drawer, key/value lists.
import { useEffect, useState } from 'preact/hooks';
import { T } from './text.jsx';

export { objectPairs } from './model.js';

/** useLoad runs fn (returning a promise) when deps change; returns {data, error, loading, reload}. */
export function useLoad(fn, deps) {
  const [st, setSt] = useState({ data: null, error: '', loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setSt((s) => ({ ...s, loading: true, error: '' }));
    fn()
      .then((data) => live && setSt({ data, error: '', loading: false }))
      .catch((e) => live && setSt({ data: null, error: e.message || String(e), loading: false }));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...st, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      <T v={error} />
    </p>
  );
}

export function Loading({ when }) {
  return when ? <p class="muted">Loading…</p> : null;
}

/** Drawer is the right-hand detail panel; Escape or the close button closes it. */
export function Drawer({ title, onClose, children }) {
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <aside class="drawer" data-testid="drawer" role="dialog" aria-label="Details">
      <div class="drawer-head">
        <h2>{title}</h2>
        <button class="btn small" onClick={onClose} data-testid="drawer-close">
          Close
        </button>
      </div>
      <div class="drawer-body">{children}</div>
    </aside>
  );
}

/** KV shows [key, value] pairs in full (no truncation), values as untrusted text. */
export function KV({ pairs }) {
  return (
    <dl class="kv">
      {pairs.map(([k, v], i) => [
        <dt key={'k' + i}>
          <T v={k} />
        </dt>,
        <dd key={'v' + i} class="full-text">
          <T v={v} />
        </dd>,
      ])}
    </dl>
  );
}

export function Stat({ label, value, testid }) {
  return (
    <div class="stat" data-testid={testid}>
      <div class="stat-value">{typeof value === 'number' ? value.toLocaleString() : '–'}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}
