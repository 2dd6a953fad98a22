// Settings: the signed-in user's password; for admins, the user list.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { T, fmtTime } from '../text.jsx';
import { ErrorBox, useLoad } from '../ui.jsx';
import { PasswordForm } from './login.jsx';

function userList(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  if (data && Array.isArray(data.users)) return data.users;
  return [];
}

function Users({ me }) {
  const res = useLoad(() => api('/api/users'), []);
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' });
  const [error, setError] = useState('');
  const [msg, setMsg] = useState('');

  const add = async (e) => {
    e.preventDefault();
    setError('');
    setMsg('');
    try {
      await api('/api/users', { method: 'POST', body: form });
      setMsg(`User ${form.username} added; they must change the password at first login.`);
      setForm({ username: '', password: '', role: 'viewer' });
      res.reload();
    } catch (err) {
      setError(err.message);
    }
  };
  const [arming, setArming] = useState('');
  const del = async (username) => {
    // Two clicks instead of window.confirm: no modal dialogs in this app.
    if (arming !== username) {
      setArming(username);
      return;
    }
    setArming('');
    setError('');
    try {
      await api('/api/users/' + encodeURIComponent(username), { method: 'DELETE' });
      res.reload();
    } catch (err) {
      setError(err.message);
    }
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  return (
    <section class="panel">
      <h2>Users</h2>
      <ErrorBox error={res.error || error} />
      {msg ? <p class="ok"><T v={msg} /></p> : null}
      <table class="grid compact" data-testid="users-table">
        <thead><tr><th>Username</th><th>Role</th><th>Password</th><th>Created</th><th /></tr></thead>
        <tbody>
          {userList(res.data).map((u) => (
            <tr key={u.username} data-user={u.username}>
              <td><T v={u.username} max={48} /></td>
              <td>{u.role === 'admin' ? 'admin' : 'viewer'}</td>
              <td>{u.must_change_password ? 'must change' : 'set'}</td>
              <td class="col-time">{fmtTime(u.created_at)}</td>
              <td>
                {u.username !== me ? (
                  <button class="btn small danger" onClick={() => del(u.username)}>
                    {arming === u.username ? 'Confirm delete' : 'Delete'}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline-form" onSubmit={add} data-testid="add-user">
        <input name="new_username" placeholder="username" value={form.username} onInput={set('username')} required autocomplete="off" />
        <input name="new_user_password" type="password" placeholder="initial password" value={form.password} onInput={set('password')} required autocomplete="new-password" />
        <select name="role" value={form.role} onChange={set('role')} aria-label="Role">
          <option value="viewer">viewer</option>
          <option value="admin">admin</option>
        </select>
        <button class="btn primary" type="submit">Add user</button>
      </form>
    </section>
  );
}

export function Settings({ user }) {
  return (
    <div class="page settings" data-testid="page-settings">
      <section class="panel narrow">
        <h2>Change password</h2>
        <PasswordForm username={user.username} />
      </section>
      {user.role === 'admin' ? <Users me={user.username} /> : null}
    </div>
  );
}
