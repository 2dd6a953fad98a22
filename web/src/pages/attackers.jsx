// Attackers: sortable, filterable table; a row opens the attacker's detail page.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { navigate } from '../router.jsx';
import { T, fmtTime } from '../text.jsx';
import { ErrorBox, useLoad } from '../ui.jsx';

const PAGE = 50;
const CLASSES = ['', 'scanner', 'brute_forcer', 'interactive', 'beacon', 'lateral_mover', 'unknown'];

/** attackerPath is the in-app path of an attacker's page (the id only ever goes into our own path). */
export function attackerPath(a) {
  return '/attackers/' + encodeURIComponent(a.uuid || a.ip || '');
}

function SortHead({ field, label, sort, order, onSort }) {
  const on = sort === field;
  return (
    <th class="sortable num" onClick={() => onSort(field)} data-sort={field}>
      {label} {on ? (order === 'desc' ? '▼' : '▲') : ''}
    </th>
  );
}

export function Attackers() {
  const [filters, setFilters] = useState({ ip: '', decky: '', service: '', class: '', traversal: '' });
  const [applied, setApplied] = useState(filters);
  const [sort, setSort] = useState('last_seen');
  const [order, setOrder] = useState('desc');
  const [offset, setOffset] = useState(0);

  const res = useLoad(
    () => api(query('/api/attackers', { ...applied, sort, order, limit: PAGE, offset })),
    [applied, sort, order, offset],
  );
  const onSort = (f) => {
    if (f === sort) setOrder(order === 'desc' ? 'asc' : 'desc');
    else {
      setSort(f);
      setOrder('desc');
    }
    setOffset(0);
  };
  const set = (k) => (e) => setFilters({ ...filters, [k]: e.currentTarget.value });
  const items = (res.data && res.data.items) || [];
  const total = res.data && typeof res.data.total === 'number' ? res.data.total : items.length;

  return (
    <div class="page attackers" data-testid="page-attackers">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied({ ...filters });
        }}
      >
        <input placeholder="IP" value={filters.ip} onInput={set('ip')} name="ip" />
        <input placeholder="decky" value={filters.decky} onInput={set('decky')} name="decky" />
        <input placeholder="service" value={filters.service} onInput={set('service')} name="service" />
        <select value={filters.class} onChange={set('class')} aria-label="Behaviour class" name="class">
          {CLASSES.map((c) => (
            <option key={c} value={c}>{c || 'any class'}</option>
          ))}
        </select>
        <select value={filters.traversal} onChange={set('traversal')} aria-label="Traversal" name="traversal">
          <option value="">any path</option>
          <option value="true">lateral movement</option>
          <option value="false">single decky</option>
        </select>
        <button class="btn primary" type="submit" data-testid="attackers-filter">Filter</button>
      </form>
      <ErrorBox error={res.error} />
      <table class="grid" data-testid="attackers-table">
        <thead>
          <tr>
            <th>IP</th>
            <SortHead field="first_seen" label="First seen" sort={sort} order={order} onSort={onSort} />
            <SortHead field="last_seen" label="Last seen" sort={sort} order={order} onSort={onSort} />
            <SortHead field="event_count" label="Events" sort={sort} order={order} onSort={onSort} />
            <th>Deckies</th>
            <th>Services</th>
            <th>Class</th>
            <th>OS</th>
            <th class="num">Creds</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.uuid || a.ip} class="clickable" data-ip={a.ip} onClick={() => navigate(attackerPath(a))}>
              <td class="mono"><T v={a.ip} max={40} /></td>
              <td class="col-time">{fmtTime(a.first_seen)}</td>
              <td class="col-time">{fmtTime(a.last_seen)}</td>
              <td class="num">{a.event_count}</td>
              <td>
                <T v={(a.deckies || []).join(', ')} max={40} />
                {a.is_traversal ? <span class="tag warn">traversal</span> : null}
              </td>
              <td><T v={(a.services || []).join(', ')} max={40} /></td>
              <td><T v={a.behavior_class} max={20} /></td>
              <td><T v={a.os_guess} max={20} /></td>
              <td class="num">{a.credential_count}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!res.loading && items.length === 0 && !res.error ? <p class="muted">No attackers match.</p> : null}
      <div class="pager">
        <button class="btn small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
        <span class="muted">
          {total === 0 ? '0' : `${offset + 1}–${offset + items.length}`} of {total.toLocaleString()}
        </span>
        <button class="btn small" disabled={offset + items.length >= total} onClick={() => setOffset(offset + PAGE)}>Next</button>
      </div>
    </div>
  );
}
