// Bounty vault: harvested credentials, fingerprints and artifacts by type, with
// CSV/JSON export.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { objectPairs, payloadSummary } from '../model.js';
import { T, fmtTime } from '../text.jsx';
import { Drawer, ErrorBox, KV } from '../ui.jsx';

const TYPES = ['', 'credential', 'fingerprint', 'artifact'];
const PAGE = 100;

export function Bounty() {
  const [type, setType] = useState('');
  const [filters, setFilters] = useState({ decky: '', service: '', attacker: '' });
  const [applied, setApplied] = useState(filters);
  const [rows, setRows] = useState([]);
  const [next, setNext] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [sel, setSel] = useState(null);

  const load = async (reset) => {
    setBusy(true);
    setError('');
    try {
      const data = await api(query('/api/bounty', { type, ...applied, limit: PAGE, before_id: reset ? '' : next }));
      const items = (data && data.items) || [];
      setRows((old) => (reset ? items : old.concat(items)));
      setNext(data && data.next_before_id !== undefined ? data.next_before_id : null);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load(true);
  }, [type, applied]);

  const set = (k) => (e) => setFilters({ ...filters, [k]: e.currentTarget.value });
  return (
    <div class="page bounty" data-testid="page-bounty">
      <div class="panel-head">
        <div class="seg">
          {TYPES.map((t) => (
            <button key={t} class={'btn small' + (t === type ? ' active' : '')} onClick={() => setType(t)} data-type={t || 'all'}>
              {t || 'all'}
            </button>
          ))}
        </div>
        <div class="exports">
          <a class="btn small" href={query('/api/bounty/export', { format: 'csv', type })} download data-testid="export-csv">Export CSV</a>
          <a class="btn small" href={query('/api/bounty/export', { format: 'json', type })} download data-testid="export-json">Export JSON</a>
        </div>
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
        }}
      >
        <input placeholder="decky" name="decky" value={filters.decky} onInput={set('decky')} />
        <input placeholder="service" name="service" value={filters.service} onInput={set('service')} />
        <input placeholder="attacker IP" name="attacker" value={filters.attacker} onInput={set('attacker')} />
        <button class="btn primary" type="submit">Filter</button>
      </form>
      <ErrorBox error={error} />
      <table class="grid" data-testid="bounty-table">
        <thead>
          <tr><th class="col-time">Time</th><th>Type</th><th>Decky</th><th>Service</th><th>Source</th><th>Payload</th></tr>
        </thead>
        <tbody>
          {rows.map((b) => (
            <tr key={b.id} class="clickable" onClick={() => setSel(b)}>
              <td class="col-time">{fmtTime(b.timestamp)}</td>
              <td><T v={b.bounty_type} max={16} /></td>
              <td><T v={b.decky} max={24} /></td>
              <td><T v={b.service} max={16} /></td>
              <td class="mono"><T v={b.attacker_ip} max={40} /></td>
              <td class="mono details"><T v={payloadSummary(b.payload)} max={140} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {!busy && rows.length === 0 && !error ? <p class="muted">No bounty yet.</p> : null}
      <div class="sentinel">
        {busy ? 'Loading…' : next !== null && rows.length ? <button class="btn small" onClick={() => load(false)}>Load more</button> : null}
      </div>
      {sel ? (
        <Drawer title={`Bounty #${sel.id}`} onClose={() => setSel(null)}>
          <KV pairs={[['type', sel.bounty_type], ['time', sel.timestamp], ['decky', sel.decky], ['service', sel.service], ['attacker_ip', sel.attacker_ip], ['event_id', sel.event_id]]} />
          <h3>Payload</h3>
          <div data-testid="bounty-payload">
            <KV pairs={objectPairs(sel.payload)} />
          </div>
        </Drawer>
      ) : null}
    </div>
  );
}
