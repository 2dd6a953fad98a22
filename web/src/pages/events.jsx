// Events: search with the search syntax, infinite scroll (before_id), detail drawer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { LogDrawer, LogTable } from '../logs.jsx';
import { ErrorBox } from '../ui.jsx';

const PAGE = 100;
const RANGES = { all: 0, '1h': 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3 };

function initialQuery() {
  try {
    return new URLSearchParams(location.search).get('q') || '';
  } catch (e) {
    return '';
  }
}

export function Events() {
  const [input, setInput] = useState(initialQuery);
  const [q, setQ] = useState(initialQuery);
  const [range, setRange] = useState('all');
  const [rows, setRows] = useState([]);
  const [next, setNext] = useState(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState(null);
  const gen = useRef(0);
  const sentinel = useRef(null);
  const since = useRef('');

  const load = async (reset) => {
    const g = reset ? ++gen.current : gen.current;
    if (reset) {
      since.current = RANGES[range] ? new Date(Date.now() - RANGES[range]).toISOString() : '';
    }
    setBusy(true);
    setError('');
    try {
      const data = await api(query('/api/logs', { q, since: since.current, limit: PAGE, before_id: reset ? '' : next }));
      if (g !== gen.current) return;
      const items = (data && data.items) || [];
      setRows((old) => (reset ? items : old.concat(items)));
      setNext(data ? data.next_before_id : null);
      setDone(!data || data.next_before_id === null || data.next_before_id === undefined || items.length === 0);
    } catch (e) {
      if (g === gen.current) setError(e.message);
    } finally {
      if (g === gen.current) setBusy(false);
    }
  };

  useEffect(() => {
    const url = q ? `/events?q=${encodeURIComponent(q)}` : '/events';
    history.replaceState(null, '', url);
    setRows([]);
    setNext(null);
    setDone(false);
    setSelected(null);
    load(true);
  }, [q, range]);

  useEffect(() => {
    if (!sentinel.current) return undefined;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !busy && !done && rows.length > 0) load(false);
    });
    io.observe(sentinel.current);
    return () => io.disconnect();
  }, [busy, done, rows.length, next]);

  return (
    <div class={'page events' + (selected ? ' with-drawer' : '')} data-testid="page-events">
      <form
        class="searchbar"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(input.trim());
        }}
      >
        <input
          name="q"
          class="search"
          placeholder='decky:web01 service:ssh event:auth attacker:10.0.0.5 username:root "free text"'
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
          data-testid="search-input"
          spellcheck={false}
          autocomplete="off"
        />
        <select value={range} onChange={(e) => setRange(e.currentTarget.value)} aria-label="Time range">
          {Object.keys(RANGES).map((k) => (
            <option key={k} value={k}>
              {k === 'all' ? 'all time' : 'last ' + k}
            </option>
          ))}
        </select>
        <button class="btn primary" type="submit" data-testid="search-submit">
          Search
        </button>
      </form>
      <p class="hint">
        Terms: <code>decky:</code> <code>service:</code> <code>event:</code> <code>attacker:</code>, any field as <code>key:value</code>, and{' '}
        <code>"free text"</code>; all terms must match.
      </p>
      <ErrorBox error={error} />
      <LogTable rows={rows} onSelect={setSelected} selectedId={selected && selected.id} testid="events-table" />
      {!busy && rows.length === 0 && !error ? <p class="muted" data-testid="events-empty">No events match.</p> : null}
      <div ref={sentinel} class="sentinel">
        {busy ? 'Loading…' : done ? (rows.length ? `${rows.length.toLocaleString()} events, end of results.` : '') : (
          <button class="btn small" onClick={() => load(false)} data-testid="load-more">
            Load more
          </button>
        )}
      </div>
      {selected ? <LogDrawer row={selected} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}
