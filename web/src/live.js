// One shared EventSource on /api/stream for the whole page. The session cookie
// authenticates it (no secret in the URL). The browser reconnects by itself and
// sends Last-Event-ID, so the server replays what was missed; after an
// `event: lagged` the server closes the stream and the same reconnect resumes it.

const subscribers = new Set();
const statusSubscribers = new Set();
let es = null;
let status = 'closed';

function setStatus(s) {
  status = s;
  statusSubscribers.forEach((fn) => fn(s));
}

function open() {
  if (es) return;
  es = new EventSource('/api/stream');
  setStatus('connecting');
  es.addEventListener('open', () => setStatus('live'));
  es.addEventListener('error', () => setStatus(es && es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  es.addEventListener('log', (ev) => {
    let row;
    try {
      row = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (!row || typeof row !== 'object') return;
    subscribers.forEach((fn) => fn(row));
  });
  es.addEventListener('lagged', () => setStatus('reconnecting'));
}

function closeIfUnused() {
  if (subscribers.size === 0 && es) {
    es.close();
    es = null;
    setStatus('closed');
  }
}

/** subscribeLive calls fn with every live Log row; it returns the unsubscribe function. */
export function subscribeLive(fn) {
  subscribers.add(fn);
  open();
  return () => {
    subscribers.delete(fn);
    closeIfUnused();
  };
}

/** subscribeStatus calls fn with the stream's state (connecting, live, reconnecting, closed). */
export function subscribeStatus(fn) {
  statusSubscribers.add(fn);
  fn(status);
  return () => statusSubscribers.delete(fn);
}

/** closeLive ends the stream (logout). */
export function closeLive() {
  subscribers.clear();
  closeIfUnused();
}
