// The JSON API: the token in a header (never in a URL), the envelope unwrapped, and a 401
// turned into a request for a token (the token dialog watches `auth.needed`).
import { reactive, ref, watch } from 'vue';

const KEY = 'pve-traffic-token';

/** Shared state: whether a token is needed, who we are, and a counter pages reload on. */
export const auth = reactive({ needed: false, session: null, generation: 0 });

/** Keeps `token` for this tab and reloads the pages with it. */
export function useToken(token) {
  sessionStorage.setItem(KEY, token);
  auth.needed = false;
  auth.generation += 1;
  loadSession();
}

function headers() {
  const token = sessionStorage.getItem(KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** `path` with the non-empty values of `params` as its query. */
export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path, init) {
  const response = await fetch(path, { ...init, headers: { ...headers(), ...(init.headers || {}) } });
  if (response.status === 401) {
    auth.needed = true;
  }
  return response;
}

async function unwrap(response) {
  const body = await response.json();
  if (!body.success) throw new Error(body.error);
  return body.data;
}

/** GET an API route's data. */
export async function get(path, params) {
  return unwrap(await send(url(path, params), { method: 'GET' }));
}

/** POST JSON to an API route. */
export async function post(path, data) {
  const body = JSON.stringify(data);
  return unwrap(await send(path, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }));
}

/** Downloads an export (fetched with the token, saved through an object URL). */
export async function download(params) {
  const response = await send(url('/api/export', params), { method: 'GET' });
  if (!response.ok) return unwrap(response);
  const disposition = response.headers.get('Content-Disposition') || '';
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || 'pve-traffic-export';
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return name;
}

/** Who we are (`/api/session`), for the header and the operator-only buttons. */
export async function loadSession() {
  try {
    auth.session = await get('/api/session');
  } catch {
    auth.session = null;
  }
}

/**
 * Loads `loader()` now, whenever `source()` (e.g. the route's query) changes, and when a new
 * token is given; answers `{ data, error, loading }` refs for a page.
 */
export function useData(loader, source = () => null) {
  const data = ref(null);
  const error = ref(null);
  const loading = ref(true);
  const load = async () => {
    loading.value = true;
    try {
      data.value = await loader();
      error.value = null;
    } catch (e) {
      error.value = e.message;
    } finally {
      loading.value = false;
    }
  };
  watch([source, () => auth.generation], load, { immediate: true, deep: true });
  return { data, error, loading, load };
}
