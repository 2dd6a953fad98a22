// DECNET dashboard entry point: session bootstrap, login and forced password
// change, the navigation shell and the page router.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { api, setCSRF, setUnauthorizedHandler } from './api.js';
import { closeLive, subscribeStatus } from './live.js';
import { Link, navigate, usePath } from './router.jsx';
import { T } from './text.jsx';
import { Login, ForcePasswordChange } from './pages/login.jsx';
import { Overview } from './pages/overview.jsx';
import { Events } from './pages/events.jsx';
import { Attackers } from './pages/attackers.jsx';
import { AttackerDetail } from './pages/attacker.jsx';
import { Bounty } from './pages/bounty.jsx';
import { Fleet } from './pages/fleet.jsx';
import { Settings } from './pages/settings.jsx';

const NAV = [
  ['/', 'Overview'],
  ['/events', 'Events'],
  ['/attackers', 'Attackers'],
  ['/bounty', 'Bounty'],
  ['/fleet', 'Fleet'],
  ['/settings', 'Settings'],
];

function LiveBadge() {
  const [s, setS] = useState('closed');
  useEffect(() => subscribeStatus(setS), []);
  // The stream is open only on pages that show live data.
  if (s === 'closed') return <span class="live-badge live-closed" data-testid="live-status" hidden>{s}</span>;
  return <span class={'live-badge live-' + s} data-testid="live-status">{s}</span>;
}

function Page({ path, user }) {
  if (path === '/' || path === '/overview') return <Overview />;
  if (path === '/events') return <Events />;
  if (path === '/attackers') return <Attackers />;
  if (path.startsWith('/attackers/')) {
    let id = path.slice('/attackers/'.length);
    try {
      id = decodeURIComponent(id);
    } catch (e) {
      id = '';
    }
    return <AttackerDetail id={id} />;
  }
  if (path === '/bounty') return <Bounty />;
  if (path === '/fleet') return <Fleet />;
  if (path === '/settings') return <Settings user={user} />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>
        There is no page here. <Link to="/">Back to the overview</Link>.
      </p>
    </div>
  );
}

function Shell({ user, onLogout }) {
  const path = usePath();
  const active = (to) => (to === '/' ? path === '/' || path === '/overview' : path === to || path.startsWith(to + '/'));
  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">DECNET</span>
        <nav>
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} class={active(to) ? 'active' : ''} data-nav={label.toLowerCase()}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="spacer" />
        <LiveBadge />
        <span class="whoami">
          <T v={user.username} max={32} /> <span class="role">{user.role === 'admin' ? 'admin' : 'viewer'}</span>
        </span>
        <button class="btn small" onClick={onLogout} data-testid="logout">
          Log out
        </button>
      </header>
      <main>
        <Page path={path} user={user} />
      </main>
    </div>
  );
}

function App() {
  const [state, setState] = useState({ loading: true, user: null });

  const accept = (data) => {
    setCSRF(data && data.csrf_token);
    setState({ loading: false, user: data && data.user ? data.user : null });
  };

  useEffect(() => {
    setUnauthorizedHandler(() => {
      closeLive();
      setCSRF('');
      setState({ loading: false, user: null });
    });
    api('/api/auth/me', { quiet401: true })
      .then(accept)
      .catch(() => setState({ loading: false, user: null }));
  }, []);

  const logout = async () => {
    try {
      await api('/api/auth/logout', { method: 'POST' });
    } catch (e) {
      // The session is dropped locally either way.
    }
    closeLive();
    setCSRF('');
    setState({ loading: false, user: null });
    navigate('/', { replace: true });
  };

  if (state.loading) return <div class="boot">Loading…</div>;
  if (!state.user) return <Login onLogin={accept} />;
  if (state.user.must_change_password) {
    return (
      <ForcePasswordChange
        user={state.user}
        onDone={() => api('/api/auth/me').then(accept)}
        onLogout={logout}
      />
    );
  }
  return <Shell user={state.user} onLogout={logout} />;
}

render(<App />, document.getElementById('app'));
