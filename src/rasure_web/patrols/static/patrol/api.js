// Talking to the server: the session cookie, Django's CSRF token, JSON in and out.

export class NetworkError extends Error {}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function request(method, path, { body, headers = {}, timeoutMs = 15000 } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json", "X-CSRFToken": csrfToken() } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: ctrl.signal,
      cache: "no-store",
    });
  } catch (err) {
    throw new NetworkError(err && err.message ? err.message : "network error");
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 503 && data && data.code === "offline") throw new NetworkError("offline");
  return { status: res.status, ok: res.ok, body: data, cached: res.headers.get("X-Rasure-Cached") === "1" };
}

export const getJSON = (path, opts) => request("GET", path, opts);
export const postJSON = (path, body, opts = {}) => request("POST", path, { ...opts, body });
