// Event (Log) rows: the one-line summary, the table and the detail drawer.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { objectPairs, summary } from './model.js';
import { navigate } from './router.jsx';
import { Drawer, KV } from './ui.jsx';
import { T, fmtTime } from './text.jsx';

export { summary };

export function LogTable({ rows, onSelect, selectedId, testid = 'log-table', compact = false }) {
  return (
    <table class={'grid' + (compact ? ' compact' : '')} data-testid={testid}>
      <thead>
        <tr>
          <th class="col-time">Time</th>
          <th>Decky</th>
          <th>Service</th>
          <th>Event</th>
          <th>Source</th>
          <th>Details</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr
            key={r.id}
            data-id={r.id}
            class={'clickable' + (selectedId === r.id ? ' selected' : '')}
            onClick={onSelect ? () => onSelect(r) : undefined}
          >
            <td class="col-time">{fmtTime(r.timestamp)}</td>
            <td class="nw"><T v={r.decky} max={32} /></td>
            <td class="nw"><T v={r.service} max={20} /></td>
            <td class="nw"><T v={r.event_type} max={20} /></td>
            <td class="mono nw"><T v={r.attacker_ip} max={40} /></td>
            <td class="mono details"><T v={summary(r)} max={compact ? 80 : 140} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LogDrawer({ row, onClose }) {
  return (
    <Drawer title={`Event #${row.id}`} onClose={onClose}>
      {row.attacker_ip ? (
        <p class="drawer-actions">
          <button class="btn small" onClick={() => navigate('/attackers/' + encodeURIComponent(row.attacker_ip))} data-testid="drawer-attacker">
            Attacker page
          </button>
        </p>
      ) : null}
      <KV
        pairs={[
          ['time', row.timestamp],
          ['event_id', row.event_id],
          ['decky', row.decky],
          ['service', row.service],
          ['event_type', row.event_type],
          ['attacker_ip', row.attacker_ip],
          ['attacker_port', row.attacker_port],
        ]}
      />
      <h3>Fields</h3>
      <div data-testid="drawer-fields">
        <KV pairs={objectPairs(row.fields)} />
      </div>
      {row.msg ? (
        <>
          <h3>Message</h3>
          <pre class="raw" data-testid="drawer-msg"><T v={row.msg} /></pre>
        </>
      ) : null}
      <h3>Raw line</h3>
      <RawLine row={row} />
    </Drawer>
  );
}

// RawLine shows an event's raw line: search pages leave it out (it is about half
// of an event's bytes), so it is fetched when the drawer opens; events from the
// live stream and an attacker's timeline carry it already.
function RawLine({ row }) {
  const [state, setState] = useState({ id: null, line: null, err: '' });
  useEffect(() => {
    if (row.raw_line !== undefined) return undefined;
    let live = true;
    api(`/api/logs/${encodeURIComponent(String(row.id))}`).then(
      (ev) => live && setState({ id: row.id, line: String(ev.raw_line), err: '' }),
      (e) => live && setState({ id: row.id, line: null, err: e.message }),
    );
    return () => {
      live = false;
    };
  }, [row.id, row.raw_line]);
  if (row.raw_line !== undefined) {
    return <pre class="raw" data-testid="drawer-raw"><T v={row.raw_line} /></pre>;
  }
  if (state.id !== row.id) {
    return <pre class="raw muted" data-testid="drawer-raw" data-loading="true">loading…</pre>;
  }
  if (state.err) {
    return <pre class="raw muted" data-testid="drawer-raw">the raw line could not be loaded: <T v={state.err} /></pre>;
  }
  return <pre class="raw" data-testid="drawer-raw"><T v={state.line} /></pre>;
}
