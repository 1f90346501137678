// Rasure patrol service worker (served from /patrol/sw.js so its scope is /patrol/).
// - The app shell (page, scripts, styles, icons) is cached at install: the app opens without signal.
// - Today's list, briefings, the colleague list and today's rules: network first, the last answer
//   kept for offline use ("X-Rasure-Cached: 1" marks an answer from the cache).
// - Records (POST) are never touched here: the app's own IndexedDB outbox sends them (outbox.js),
//   because a queue in the service worker alone is not a durability guarantee (docs/reliability.md §2.1).
const VERSION = "{{ version }}";
const SHELL = `rasure-shell-${VERSION}`;
const DATA = "rasure-data-v1";
const SHELL_FILES = {{ shell_files|safe }};
const DATA_PATHS = [
  /^\/api\/patrol\/hotspots\/nearest$/,
  /^\/api\/patrol\/hotspots\/\d+\/briefing$/,
  /^\/api\/patrol\/colleagues$/,
  /^\/api\/patrol\/today$/,
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("rasure-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "clear-data") event.waitUntil(caches.delete(DATA));
});

function cacheKey(url) {
  // One saved list, whatever the position it was asked for: the app recomputes distances itself.
  return url.pathname.endsWith("/nearest") ? new Request(url.origin + url.pathname) : new Request(url.href);
}

async function markCached(res) {
  const headers = new Headers(res.headers);
  headers.set("X-Rasure-Cached", "1");
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers });
}

async function networkFirst(request, url) {
  const cache = await caches.open(DATA);
  try {
    const res = await fetch(request);
    const fresh = !url.searchParams.has("exclude");
    if (res.ok && fresh) await cache.put(cacheKey(url), res.clone());
    return res;
  } catch (err) {
    const hit = await cache.match(cacheKey(url));
    if (hit) return markCached(hit);
    return new Response(JSON.stringify({ detail: "offline and not saved on this phone", code: "offline" }), {
      status: 503,
      headers: { "Content-Type": "application/json" },
    });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith("/patrol/")) {
    event.respondWith(
      fetch(request)
        .then((res) => {
          if (res.ok && !res.redirected && url.pathname === "/patrol/") {
            const copy = res.clone();
            caches.open(SHELL).then((c) => c.put("/patrol/", copy));
          }
          return res;
        })
        .catch(() => caches.match("/patrol/", { ignoreSearch: true })),
    );
    return;
  }
  if (DATA_PATHS.some((re) => re.test(url.pathname))) {
    event.respondWith(networkFirst(request, url));
    return;
  }
  if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
  }
});
