// The hub's API: its base, the access token kept in this browser, GET (api) and writes (send).
import { str } from './format.js';

// Relative, so the page also works behind a reverse proxy under a sub-path (/lookout/):
// resolved against the page's URL, it is /api/monitoring/ when served at / or /monitoring.html.
export const API = 'api/monitoring/';
export const TOKEN_KEY = 'lookout.token';
/** Seconds between refreshes; `?refresh=N` (2–3600) overrides the default of 20. */
export const REFRESH_S = Math.min(3600, Math.max(2, Number(new URLSearchParams(location.search).get('refresh')) || 20));
export const FETCH_TIMEOUT_MS = Math.min(10000, REFRESH_S * 1000);

export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Without storage (some private modes) the token lives as long as the page.
export let memoryToken = '';
export function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}
export function storeToken(token) {
  memoryToken = token;
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch { /* see above */ }
}

export async function api(path, optional = false) {
  const token = storedToken();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    let res;
    try {
      res = await fetch(API + path, {
        headers: { Accept: 'application/json', ...(token && { Authorization: `Bearer ${token}` }) }, signal: ctl.signal, cache: 'no-store',
      });
    } catch (e) {
      throw new Error(e?.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'connection failed');
    }
    if (res.status === 401 || res.status === 403) throw new AuthError(res.status, await errorOf(res));
    if (optional && res.status === 404) return null;
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await errorOf(res)}`);
    return await res.json().catch(() => { throw new Error(`${path.split('?')[0]}: the answer is not JSON`); });
  } finally {
    clearTimeout(timer);
  }
}

export async function errorOf(res) {
  const body = await res.json().catch(() => null);
  return str(body?.error || res.statusText || 'error').slice(0, 200);
}

export async function send(method, path, body) {
  const t = storedToken();
  const headers = body ? { 'Content-Type': 'application/json' } : {};
  if (t) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(API + path, { method, body: body && JSON.stringify(body), headers })
    .catch(() => { throw new Error('connection failed'); });
  if (!res.ok) throw new AuthError(res.status, await errorOf(res));
}
