// Login and the forced password change of a first login.
import { useState } from 'preact/hooks';
import { api, setCSRF } from '../api.js';
import { T } from '../text.jsx';

export function Login({ onLogin }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const data = await api('/api/auth/login', { method: 'POST', body: { username, password }, quiet401: true });
      onLogin(data);
    } catch (err) {
      setError(err.status === 401 ? 'Wrong username or password.' : err.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="center-card">
      <form class="card login" onSubmit={submit} data-testid="login-form">
        <h1>DECNET</h1>
        <label>
          Username
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error ? <p class="error" role="alert"><T v={error} /></p> : null}
        <button class="btn primary" type="submit" disabled={busy} data-testid="login-submit">
          Log in
        </button>
      </form>
    </div>
  );
}

/** PasswordForm changes the signed-in user's password (used by the forced change and by Settings). */
export function PasswordForm({ username = '', onDone, submitLabel = 'Change password' }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [ok, setOk] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    setError('');
    setOk('');
    if (next !== again) {
      setError('The two new passwords differ.');
      return;
    }
    setBusy(true);
    try {
      const data = await api('/api/auth/password', { method: 'POST', body: { current_password: current, new_password: next } });
      // The server may rotate the CSRF token with the password.
      if (data && data.csrf_token) setCSRF(data.csrf_token);
      setCurrent('');
      setNext('');
      setAgain('');
      setOk('Password changed.');
      if (onDone) onDone();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="password-form" onSubmit={submit} data-testid="password-form">
      {/* For password managers: which account this password belongs to. */}
      <input type="text" name="account" autocomplete="username" value={username} readOnly hidden />
      <label>
        Current password
        <input name="current_password" type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} required />
      </label>
      <label>
        New password
        <input name="new_password" type="password" autocomplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} required />
      </label>
      <label>
        New password again
        <input name="new_password_again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} required />
      </label>
      {error ? <p class="error" role="alert"><T v={error} /></p> : null}
      {ok ? <p class="ok">{ok}</p> : null}
      <button class="btn primary" type="submit" disabled={busy} data-testid="password-submit">
        {submitLabel}
      </button>
    </form>
  );
}

export function ForcePasswordChange({ user, onDone, onLogout }) {
  return (
    <div class="center-card">
      <div class="card login" data-testid="force-password">
        <h1>Choose a new password</h1>
        <p class="muted">
          The account <T v={user.username} max={64} /> still has its first-run password. Set your own to continue.
        </p>
        <PasswordForm username={user.username} onDone={onDone} submitLabel="Set password and continue" />
        <button class="btn link" onClick={onLogout}>
          Log out
        </button>
      </div>
    </div>
  );
}
