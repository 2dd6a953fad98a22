// Chart.js wrappers. Chart.js draws on a canvas (attacker text in labels is drawn
// as pixels, never parsed) and sizes it through the CSSOM, which the CSP allows.
import { useEffect, useRef } from 'preact/hooks';
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { safeString } from './text.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);
Chart.defaults.color = '#9aa7b8';
Chart.defaults.borderColor = '#2a3442';
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.animation = false;

function useChart(config, deps) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    if (!canvas.current) return undefined;
    chart.current = new Chart(canvas.current, config());
    return () => {
      chart.current.destroy();
      chart.current = null;
    };
  }, deps);
  return canvas;
}

function label(s, max = 28) {
  const t = safeString(s);
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** bucketLabel formats a bucket start for the interval (10s|1m|5m|1h|1d). */
function bucketLabel(t, interval) {
  const d = new Date(t);
  if (isNaN(d.getTime())) return safeString(t);
  const p = (n) => String(n).padStart(2, '0');
  if (interval === '1d') return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (interval === '10s') return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  if (interval === '1h') return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:00`;
  return `${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** TimeChart is the events-over-time bar chart of a /api/logs/histogram answer. */
export function TimeChart({ buckets, interval }) {
  const canvas = useChart(
    () => ({
      type: 'bar',
      data: {
        labels: buckets.map((b) => bucketLabel(b.t, interval)),
        datasets: [{ label: 'events', data: buckets.map((b) => b.count || 0), backgroundColor: '#3f8cff', borderRadius: 2 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { tooltip: { enabled: true } },
        scales: { x: { grid: { display: false }, ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    }),
    [buckets, interval],
  );
  return (
    <div class="chart-box tall" data-testid="time-chart">
      <canvas ref={canvas} aria-label="Events over time" role="img" />
    </div>
  );
}

/** BarList is a horizontal bar chart of [{key, count}]. */
export function BarList({ items, color = '#22c55e', testid }) {
  const canvas = useChart(
    () => ({
      type: 'bar',
      data: {
        labels: items.map((x) => label(x.key)),
        datasets: [{ label: 'count', data: items.map((x) => x.count || 0), backgroundColor: color, borderRadius: 2 }],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
      },
    }),
    [items, color],
  );
  return (
    <div class="chart-box" data-testid={testid}>
      <canvas ref={canvas} role="img" />
    </div>
  );
}
