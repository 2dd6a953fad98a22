// One attacker: traversal graph, behaviour profile, tool guesses with evidence,
// credentials, commands as a transcript, fingerprints and the latest events.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { TraversalGraph } from '../graph.jsx';
import { LogDrawer, LogTable } from '../logs.jsx';
import { Link } from '../router.jsx';
import { T, asString, fmtTime } from '../text.jsx';
import { fingerprintRows, hops, objectPairs, secretOf } from '../model.js';
import { Drawer, ErrorBox, KV, Loading, useLoad } from '../ui.jsx';

function pct(x) {
  return typeof x === 'number' ? `${Math.round(x * 100)}%` : '';
}

function list(v) {
  return Array.isArray(v) ? v : [];
}

function Transcript({ commands }) {
  const rows = list(commands).slice().sort((a, b) => String(a.time).localeCompare(String(b.time)));
  if (rows.length === 0) return <p class="muted">No commands.</p>;
  return (
    <div class="transcript" data-testid="transcript">
      {rows.map((c, i) => (
        <div class="tline" key={i}>
          <span class="tmeta">{fmtTime(c.time)}</span>
          <span class="tprompt">
            <T v={(c.username ? c.username + '@' : '') + asString(c.decky)} max={48} />
            {c.service ? <span class="muted"> [<T v={c.service} max={16} />]</span> : null}
            {'$ '}
          </span>
          <span class="tcmd"><T v={c.command} max={400} /></span>
        </div>
      ))}
    </div>
  );
}

export function AttackerDetail({ id }) {
  const res = useLoad(() => api('/api/attackers/' + encodeURIComponent(id)), [id]);
  const [sel, setSel] = useState(null);
  const [bountySel, setBountySel] = useState(null);

  if (res.loading && !res.data) return <div class="page"><Loading when /></div>;
  if (res.error) {
    return (
      <div class="page">
        <p><Link to="/attackers">← Attackers</Link></p>
        <ErrorBox error={res.error} />
      </div>
    );
  }
  const d = res.data || {};
  const a = d.attacker || {};
  const b = d.behavior || {};
  const timeline = list(d.timeline);
  const seq = hops(timeline, list(a.deckies));
  const fps = fingerprintRows(a.fingerprints);
  const timing = b.timing_stats && typeof b.timing_stats === 'object' ? b.timing_stats : {};

  return (
    <div class="page attacker" data-testid="page-attacker">
      <p><Link to="/attackers">← Attackers</Link></p>
      <h1 class="mono" data-testid="attacker-ip"><T v={a.ip} max={64} /></h1>
      <div class="facts">
        <span>First seen <b>{fmtTime(a.first_seen)}</b></span>
        <span>Last seen <b>{fmtTime(a.last_seen)}</b></span>
        <span>Events <b>{a.event_count}</b></span>
        <span>Class <b><T v={b.behavior_class || a.behavior_class || 'unknown'} max={32} /></b></span>
        <span>OS <b><T v={b.os_guess || a.os_guess || 'unknown'} max={32} /></b> {b.os_confidence ? pct(b.os_confidence) : ''}</span>
        {a.is_traversal ? <span class="tag warn">lateral movement</span> : null}
      </div>

      <div class="cols2">
        <section class="panel">
          <h2>Traversal</h2>
          <p class="muted mono"><T v={a.traversal_path || list(a.deckies).join(' -> ')} max={200} /></p>
          <TraversalGraph attackerIP={asString(a.ip)} sequence={seq} />
        </section>
        <section class="panel">
          <h2>Behaviour profile</h2>
          <div data-testid="behavior">
            <KV pairs={objectPairs(timing).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1000) / 1000 : v])} />
            {list(b.phases).length ? (
              <table class="grid compact">
                <thead><tr><th>Phase</th><th>First</th><th>Last</th><th class="num">Events</th></tr></thead>
                <tbody>
                  {list(b.phases).map((p, i) => (
                    <tr key={i}>
                      <td><T v={p.name} max={32} /></td>
                      <td class="col-time">{fmtTime(p.first)}</td>
                      <td class="col-time">{fmtTime(p.last)}</td>
                      <td class="num">{p.events}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            {list(b.evidence).length ? (
              <ul class="evidence">
                {list(b.evidence).map((e, i) => <li key={i}><T v={e} /></li>)}
              </ul>
            ) : null}
          </div>
        </section>
      </div>

      <section class="panel">
        <h2>Tool guesses</h2>
        {list(b.tool_guesses).length === 0 ? <p class="muted">No tool recognised.</p> : null}
        <div class="tools" data-testid="tools">
          {list(b.tool_guesses).map((g, i) => (
            <div class="tool" key={i}>
              <div class="tool-head"><b><T v={g.tool} max={48} /></b> <span class="tag">{pct(g.confidence)}</span></div>
              <ul class="evidence">
                {list(g.evidence).map((e, j) => <li key={j}><T v={e} /></li>)}
              </ul>
            </div>
          ))}
        </div>
      </section>

      <div class="cols2">
        <section class="panel">
          <h2>Credentials</h2>
          <table class="grid compact" data-testid="credentials">
            <thead><tr><th>Time</th><th>Service</th><th>Username</th><th>Secret</th><th>Kind</th></tr></thead>
            <tbody>
              {list(d.credentials).map((c, i) => {
                const p = c.payload || {};
                return (
                  <tr key={c.id || i} class="clickable" onClick={() => setBountySel(c)}>
                    <td class="col-time">{fmtTime(c.timestamp)}</td>
                    <td><T v={c.service} max={16} /></td>
                    <td class="mono"><T v={p.username} max={32} /></td>
                    <td class="mono"><T v={secretOf(p)} max={32} /></td>
                    <td><T v={p.secret_kind} max={24} /></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {list(d.credentials).length === 0 ? <p class="muted">No credentials.</p> : null}
        </section>
        <section class="panel">
          <h2>Fingerprints</h2>
          <table class="grid compact" data-testid="fingerprints">
            <thead><tr><th>Kind</th><th>Value</th><th>Service</th><th class="num">Seen</th></tr></thead>
            <tbody>
              {fps.map((f, i) => (
                <tr key={'a' + i}>
                  <td><T v={f.kind} max={20} /></td>
                  <td class="mono"><T v={f.value} max={64} /></td>
                  <td><T v={f.service} max={16} /></td>
                  <td class="num">{f.count}</td>
                </tr>
              ))}
              {list(d.fingerprints).map((f, i) => (
                <tr key={'b' + i} class="clickable" onClick={() => setBountySel(f)}>
                  <td><T v={(f.payload && (f.payload.kind || f.payload.type)) || 'fingerprint'} max={20} /></td>
                  <td class="mono"><T v={f.payload && (f.payload.value || f.payload.hash || JSON.stringify(f.payload))} max={64} /></td>
                  <td><T v={f.service} max={16} /></td>
                  <td class="num" />
                </tr>
              ))}
            </tbody>
          </table>
          {fps.length + list(d.fingerprints).length === 0 ? <p class="muted">No fingerprints.</p> : null}
        </section>
      </div>

      <section class="panel">
        <h2>Commands</h2>
        <Transcript commands={a.commands} />
      </section>

      <section class="panel">
        <h2>Timeline (latest {timeline.length})</h2>
        <LogTable rows={timeline} onSelect={setSel} selectedId={sel && sel.id} testid="timeline" compact />
      </section>
      {sel ? <LogDrawer row={sel} onClose={() => setSel(null)} /> : null}
      {bountySel ? (
        <Drawer title={`Bounty #${bountySel.id}`} onClose={() => setBountySel(null)}>
          <KV pairs={[['type', bountySel.bounty_type], ['time', bountySel.timestamp], ['decky', bountySel.decky], ['service', bountySel.service], ['event_id', bountySel.event_id]]} />
          <h3>Payload</h3>
          <KV pairs={objectPairs(bountySel.payload)} />
        </Drawer>
      ) : null}
    </div>
  );
}
