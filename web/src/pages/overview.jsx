// Overview: live counters, events over time, top services / credentials / sources
// and the live feed from /api/stream.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { subscribeLive } from '../live.js';
import { BarList, TimeChart } from '../charts.jsx';
import { LogDrawer, LogTable } from '../logs.jsx';
import { bump } from '../model.js';
import { T } from '../text.jsx';
import { ErrorBox, Stat, useLoad } from '../ui.jsx';

const RANGES = {
  '1h': { ms: 3600e3, interval: '1m' },
  '24h': { ms: 24 * 3600e3, interval: '1h' },
  '7d': { ms: 7 * 24 * 3600e3, interval: '1h' },
  '30d': { ms: 30 * 24 * 3600e3, interval: '1d' },
};

const FEED_MAX = 100;

export function Overview() {
  const [range, setRange] = useState('24h');
  const [stats, setStats] = useState(null);
  const [statsErr, setStatsErr] = useState('');
  const [feed, setFeed] = useState([]);
  const [selected, setSelected] = useState(null);

  const r = RANGES[range];
  const hist = useLoad(
    () => api(query('/api/logs/histogram', { since: new Date(Date.now() - r.ms).toISOString(), interval: r.interval })),
    [range],
  );

  useEffect(() => {
    let live = true;
    const load = () =>
      api('/api/stats')
        .then((s) => live && (setStats(s), setStatsErr('')))
        .catch((e) => live && setStatsErr(e.message));
    load();
    // The live feed keeps the counters moving; a full refresh every minute also
    // picks up what the stream does not carry (new attackers, bounty).
    const t = setInterval(load, 60e3);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);

  useEffect(
    () =>
      subscribeLive((row) => {
        setFeed((f) => (f.some((x) => x.id === row.id) ? f : [row, ...f].slice(0, FEED_MAX)));
        setStats((s) =>
          s
            ? {
                ...s,
                totals: { ...s.totals, events: ((s.totals && s.totals.events) || 0) + 1 },
                by_service: bump(s.by_service, row.service),
              }
            : s,
        );
      }),
    [],
  );

  const totals = (stats && stats.totals) || {};
  return (
    <div class="page overview" data-testid="page-overview">
      <div class="stats-row">
        <Stat label="Events" value={totals.events} testid="stat-events" />
        <Stat label="Attackers" value={totals.attackers} testid="stat-attackers" />
        <Stat label="Credentials" value={totals.credentials} testid="stat-credentials" />
        <Stat label="Fingerprints" value={totals.fingerprints} testid="stat-fingerprints" />
        <Stat label="Artifacts" value={totals.artifacts} testid="stat-artifacts" />
      </div>
      <ErrorBox error={statsErr} />

      <section class="panel">
        <div class="panel-head">
          <h2>Events over time</h2>
          <div class="seg">
            {Object.keys(RANGES).map((k) => (
              <button key={k} class={'btn small' + (k === range ? ' active' : '')} onClick={() => setRange(k)}>
                {k}
              </button>
            ))}
          </div>
        </div>
        <ErrorBox error={hist.error} />
        {hist.data ? <TimeChart buckets={hist.data.buckets || []} interval={hist.data.interval || r.interval} /> : <div class="chart-box tall" />}
      </section>

      <div class="cols3">
        <section class="panel">
          <h2>Top services</h2>
          {stats ? <BarList items={(stats.by_service || []).slice(0, 10)} testid="chart-services" /> : null}
        </section>
        <section class="panel">
          <h2>Top credentials</h2>
          <table class="grid compact" data-testid="top-credentials">
            <thead>
              <tr><th>Username</th><th>Password</th><th class="num">Count</th></tr>
            </thead>
            <tbody>
              {((stats && stats.top_credentials) || []).slice(0, 10).map((c, i) => (
                <tr key={i}>
                  <td class="mono"><T v={c.username} max={24} /></td>
                  <td class="mono"><T v={c.password} max={24} /></td>
                  <td class="num">{c.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="panel">
          <h2>Top sources</h2>
          <TopTable items={stats && stats.top_sources} keyLabel="Source IP" countLabel="Events" testid="top-sources" />
        </section>
      </div>

      <div class="cols3">
        <section class="panel">
          <h2>Events by decky</h2>
          {stats ? <BarList items={(stats.by_decky || []).slice(0, 10)} color="#3f8cff" testid="chart-deckies" /> : null}
        </section>
        <section class="panel">
          <h2>Events by type</h2>
          {stats ? <BarList items={(stats.by_event_type || []).slice(0, 10)} color="#a78bfa" testid="chart-types" /> : null}
        </section>
        <section class="panel">
          <h2>Top usernames</h2>
          <TopTable items={stats && stats.top_usernames} keyLabel="Username" countLabel="Attempts" testid="top-usernames" />
        </section>
      </div>

      <section class="panel">
        <h2>Live feed</h2>
        {feed.length === 0 ? <p class="muted">Waiting for events…</p> : null}
        <div data-testid="live-feed">
          <LogTable rows={feed} onSelect={setSelected} selectedId={selected && selected.id} testid="live-feed-table" compact />
        </div>
      </section>
      {selected ? <LogDrawer row={selected} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}

// TopTable lists the first ten {key, count} entries of an aggregate.
function TopTable({ items, keyLabel, countLabel, testid }) {
  return (
    <table class="grid compact" data-testid={testid}>
      <thead>
        <tr><th>{keyLabel}</th><th class="num">{countLabel}</th></tr>
      </thead>
      <tbody>
        {(items || []).slice(0, 10).map((s, i) => (
          <tr key={i}>
            <td class="mono"><T v={s.key} max={40} /></td>
            <td class="num">{s.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
