// The dashboard's only door to the server: JSON over fetch, same origin, with the
// session cookie and the X-CSRF-Token header on every non-GET request.

let csrfToken = '';

/** setCSRF remembers the token the login or /api/auth/me call returned. */
export function setCSRF(token) {
  csrfToken = typeof token === 'string' ? token : '';
}

/** ApiError is a failed call: status is the HTTP status, message the server's sentence. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** setUnauthorizedHandler registers what happens when a call answers 401 (session gone). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * api calls path (an /api/... path built by the caller with query() so every
 * parameter is encoded) and returns the parsed JSON body.
 */
export async function api(path, { method = 'GET', body, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = csrfToken;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'The server could not be reached.');
  }
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.includes('application/json')) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : `The server answered ${res.status}.`;
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(res.status, msg);
  }
  return data;
}

/** query builds "path?k=v&..." from an object, skipping empty values; every value is URL-encoded. */
export function query(path, params = {}) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `${path}?${s}` : path;
}
