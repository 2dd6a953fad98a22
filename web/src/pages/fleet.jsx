// Fleet: the deckies the engine runs, their persona, each service's container state and
// the service ports that are not open in the decky (a container can run while its
// listener is down).
import { api } from '../api.js';
import { T } from '../text.jsx';
import { ErrorBox, Loading, useLoad } from '../ui.jsx';

function stateClass(s) {
  if (s === 'running') return 'ok';
  if (s === 'restarting' || s === 'created' || s === 'paused') return 'warn';
  if (!s || s === 'unknown') return ''; // no engine to ask
  return 'bad';
}

export function Fleet() {
  const res = useLoad(() => api('/api/deckies'), []);
  const items = (res.data && res.data.items) || [];
  return (
    <div class="page fleet" data-testid="page-fleet">
      <div class="panel-head">
        <h1>Fleet</h1>
        <button class="btn small" onClick={res.reload}>Refresh</button>
      </div>
      <Loading when={res.loading} />
      <ErrorBox error={res.error} />
      {!res.loading && !res.error && items.length === 0 ? <p class="muted">No deckies are deployed.</p> : null}
      <div class="decky-grid">
        {items.map((d) => (
          <div class="card decky" key={d.name} data-decky={d.name}>
            <div class="decky-head">
              <b><T v={d.name} max={40} /></b>
              <span class="mono muted"><T v={d.ip} max={40} /></span>
            </div>
            <div class="decky-meta muted">
              <span>host <T v={d.hostname} max={40} /></span>
              <span>mac <span class="mono"><T v={d.mac} max={20} /></span></span>
              <span><T v={d.archetype} max={32} /></span>
              <span><T v={[d.os_family, d.distro].filter(Boolean).join(' / ')} max={40} /></span>
            </div>
            <table class="grid compact">
              <thead><tr><th>Service</th><th>Ports</th><th>State</th></tr></thead>
              <tbody>
                {(d.services || []).map((s) => (
                  <tr key={s.name}>
                    <td><T v={s.name} max={24} /></td>
                    <td class="mono"><T v={(s.ports || []).join(' ')} max={40} /></td>
                    <td>
                      <span class={'tag ' + stateClass(s.state)}><T v={s.state || 'unknown'} max={16} /></span>
                      {s.ports_checked && (s.closed_ports || []).length > 0 ? (
                        <span class="tag bad" data-testid="closed-ports" title="not open in the decky">
                          closed <T v={s.closed_ports.join(' ')} max={40} />
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
    </div>
  );
}
