// Rasure patrol app: today's hot spots → briefing → directions; a timed visit; the form; nothing lost.
//
// Screens are chosen from the state and the URL hash (#/ list, #/h/<id> briefing, #/visit, #/done).
// Every record goes through the IndexedDB outbox (outbox.js). The timer on screen is only a display:
// the dose is computed on the server from the pings.
//
// Browser tests: when the page carries data-simulation="1" (only if the server allows it, never in
// production) a ping's fix time is the page clock (Date.now(), which Playwright's page.clock controls)
// instead of the position's own timestamp, so a test can walk a 15-minute route in seconds.

import { getJSON, NetworkError } from "./api.js";
import { Locator, distanceToEdge, haversine, inGeofence, samplePosition } from "./geo.js";
import { Sync, askPersistence, deviceId, enqueue as store, metaGet, metaSet, uuid } from "./outbox.js";
import * as V from "./views.js";

const body = document.body;
const SIMULATION = body.dataset.simulation === "1";
const PING_S = Math.max(1, Number(body.dataset.pingInterval || 15));
const START_WAIT_MS = 8000;

const state = {
  position: null,
  locError: null,
  list: null,
  fromCache: false,
  listPos: null,
  briefings: new Map(),
  generation: 0,
  colleagues: null,
  visit: null,
  last: null,
  next: null,
  starting: false,
};

const iso = (ms) => new Date(ms).toISOString();

/** Write a record to the outbox and show the new count at once (sending may be backing off). */
async function enqueue(kind, fields) {
  const record = await store(kind, fields);
  updateSync();
  return record;
}
const waiters = new Map();
let sampler = null;
let ticker = null;
let wakeLock = null;

// --- sync status in the header ---------------------------------------------------------------------

const sync = new Sync({ onChange: () => updateSync(), onResult });
const syncBox = document.getElementById("sync");
const syncText = document.getElementById("sync-text");
const sendNow = document.getElementById("send-now");
let lastStatus = { waiting: 0 };
let syncCalls = 0;

async function updateSync() {
  const call = ++syncCalls;
  const st = await sync.status();
  if (call !== syncCalls) return; // a newer update is on its way: only the latest is shown
  const t = V.syncText(st, navigator.onLine);
  syncText.textContent = t.text;
  syncBox.dataset.level = t.level;
  syncBox.dataset.waiting = String(st.waiting);
  sendNow.hidden = st.waiting === 0 && st.quarantined === 0;
  signedOutBanner(st);
  const changed = st.waiting !== lastStatus.waiting;
  lastStatus = st;
  if (changed && screenName() === "done") render();
}

// The session ended (idle timeout, signed out elsewhere, server restarted): the outbox keeps every
// record (outbox.js never deletes on 401/403) and the officer is asked to sign in again; after signing
// in, the app opens again and sends the outbox.
const SIGN_IN = { href: "/accounts/login/?next=/patrol/", text: "Sign in again" };
function signedOutBanner(st) {
  const el = document.getElementById("banner");
  // Shown again when the count changes (a visit ended while signed out adds its record to the outbox).
  if (st.signedOut && (el.dataset.kind !== "signed-out" || el.dataset.waiting !== String(st.waiting))) {
    const kept = st.waiting ? ` ${st.waiting} record(s) are kept on this phone and are sent once you have signed in.` : "";
    banner(`You have been signed out.${kept}`, "bad", SIGN_IN);
    el.dataset.kind = "signed-out";
    el.dataset.waiting = String(st.waiting);
  } else if (!st.signedOut && el.dataset.kind === "signed-out") {
    banner(null);
  }
}

sendNow.addEventListener("click", () => {
  sync.flush({ force: true });
});

function banner(text, level = "warn", link = null) {
  const el = document.getElementById("banner");
  if (!text) {
    el.hidden = true;
    delete el.dataset.kind;
    return;
  }
  delete el.dataset.kind;
  el.replaceChildren(
    V.h("span", {}, text),
    ...(link ? [" ", V.h("a", { href: link.href, class: "signin" }, link.text)] : []),
    V.h("button", { type: "button", class: "link", onclick: () => banner(null), "aria-label": "Dismiss message" }, "✕"),
  );
  el.dataset.level = level;
  el.hidden = false;
}

// --- answers from the server -------------------------------------------------------------------------

async function onResult(record, status, answer) {
  const waiter = waiters.get(record.client_id);
  if (waiter) {
    waiter({ status, body: answer });
    return;
  }
  if (record.kind === "visit_start" && state.visit && record.body.visit_id === state.visit.visit_id) {
    if (status === 200) {
      state.visit.confirmed = true;
      if (!answer.slot) state.visit.notice = "Recorded, but not counted as a tasked patrol: the hot spot had reached its limit.";
    } else if (status === 409 && answer.code !== "conflict") {
      // The visit is already under way (started without a confirmed slot): keep it, marked as such.
      await enqueue("visit_start", {
        visit_id: state.visit.visit_id,
        hotspot_id: state.visit.hotspot.id,
        started_at: iso(state.visit.started_ms),
        offline_start: true,
      });
      state.visit.notice = "This hot spot had already had its patrols today. Your visit is still recorded.";
      sync.flush();
    }
    await metaSet("visit", state.visit);
    render();
  } else if (record.kind === "visit_end" && status === 200 && state.last && state.last.visit_id === record.body.visit_id) {
    state.last.server = answer;
    await metaSet("last", state.last);
    // The server answered, so there is signal: replace a next list taken from the saved one.
    if (state.next && state.next.saved) loadNext();
    if (screenName() === "done") render();
  } else if (status >= 400 && status !== 409) {
    banner(`The server did not accept a ${record.kind.replace("_", " ")} record: ${answer.detail || status}. It is kept on this phone for a supervisor.`, "bad");
  }
}

// --- position ------------------------------------------------------------------------------------------

const locator = new Locator((pos, err) => {
  state.locError = err;
  if (pos) {
    state.position = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
    const moved = state.listPos ? haversine(state.listPos.lat, state.listPos.lon, state.position.lat, state.position.lon) : Infinity;
    if (!state.list || moved > 150) loadList();
  }
  updateDistances();
  if (["list", "visit", "briefing"].includes(screenName())) render();
});

function here() {
  const v = state.visit;
  if (!v || !state.position) return null;
  const { lat, lon, accuracy } = state.position;
  return {
    lat,
    lon,
    inside: inGeofence(lon, lat, v.hotspot.geofence),
    edge_m: distanceToEdge(lon, lat, v.hotspot.geofence),
    accuracy,
  };
}

function updateDistances() {
  if (!state.position || !state.list) return;
  const { lat, lon } = state.position;
  for (const s of state.list.hotspots) s.distance_m = haversine(lat, lon, s.lat, s.lon);
  state.list.hotspots.sort((a, b) => a.distance_m - b.distance_m);
}

// --- data from the server (cached by the service worker for offline use) -----------------------------

async function loadList() {
  const p = state.position;
  if (!p) return;
  state.listPos = p;
  try {
    const r = await getJSON(`/api/patrol/hotspots/nearest?lat=${p.lat.toFixed(6)}&lon=${p.lon.toFixed(6)}&limit=10`);
    if (r.status === 200) {
      state.list = r.body;
      state.fromCache = r.cached;
      updateDistances();
      prefetch();
    } else if (r.status === 401 || r.status === 403) {
      banner("You have been signed out. Sign in again to refresh the list.", "bad", SIGN_IN);
    }
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    state.fromCache = true;
  }
  if (screenName() === "list") render();
}

async function briefing(id) {
  if (state.briefings.has(id)) return state.briefings.get(id);
  // A fetch that started before the service worker took over must not fill the in-memory map after it
  // was cleared, or the refetch through the worker would skip it and it would not be saved offline.
  const generation = state.generation;
  try {
    const r = await getJSON(`/api/patrol/hotspots/${id}/briefing`);
    if (r.status === 200) {
      if (generation === state.generation) state.briefings.set(id, r.body);
      return r.body;
    }
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
  }
  return null;
}

let prefetchQueue = Promise.resolve();
function prefetch() {
  // Fetch the briefings of today's list and the colleague list, so they are on the phone offline.
  // Runs one after another: a run queued after the service worker took over fetches everything again.
  prefetchQueue = prefetchQueue
    .then(async () => {
      if (!state.list) return;
      for (const s of state.list.hotspots) await briefing(s.id);
      await colleagues();
    })
    .catch(() => {});
}

async function colleagues() {
  if (state.colleagues) return state.colleagues;
  const generation = state.generation;
  try {
    const r = await getJSON("/api/patrol/colleagues");
    if (r.status === 200 && generation === state.generation) state.colleagues = r.body;
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
  }
  return state.colleagues;
}

let nextCalls = 0;

/**
 * The next nearest hot spots after a visit: from the server when there is signal, else from the list
 * saved on this phone (the service worker answers a list request from it, marked as cached). After the
 * app was reopened without signal during a visit, the in-memory list is empty: the saved one is used.
 */
async function loadNext() {
  const call = ++nextCalls;
  const last = state.last;
  const p = state.position || (last ? { lat: last.lat, lon: last.lon } : null);
  state.next = null;
  if (!last) return;
  let spots = null;
  let saved = false;
  if (p) {
    try {
      const r = await getJSON(`/api/patrol/hotspots/nearest?lat=${p.lat.toFixed(6)}&lon=${p.lon.toFixed(6)}&limit=3&exclude=${last.hotspot_id}`);
      if (r.status === 200) {
        spots = r.body.hotspots;
        saved = r.cached;
        if (saved && !state.list) state.list = r.body;
      }
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
    }
  }
  if (call !== nextCalls) return; // a newer look-up (back online) is on its way
  if ((!spots || saved) && state.list) {
    spots = state.list.hotspots;
    saved = saved || state.fromCache || !navigator.onLine;
  }
  if (spots) {
    spots = spots.filter((s) => s.id !== last.hotspot_id);
    if (state.position) {
      for (const s of spots) s.distance_m = haversine(state.position.lat, state.position.lon, s.lat, s.lon);
      spots.sort((a, b) => a.distance_m - b.distance_m);
    }
    spots = spots.slice(0, 3);
  }
  state.next = { spots, saved };
  if (screenName() === "done") render();
}

// --- the visit -----------------------------------------------------------------------------------------

async function startVisit(b) {
  if (state.visit || state.starting) return;
  state.starting = true;
  render();
  const visitId = uuid();
  const started = Date.now();
  const online = navigator.onLine;
  const record = await enqueue("visit_start", {
    visit_id: visitId,
    hotspot_id: b.id,
    started_at: iso(started),
    offline_start: !online,
  });
  let answer = null;
  if (online) {
    answer = await new Promise((resolve) => {
      waiters.set(record.client_id, resolve);
      setTimeout(() => resolve(null), START_WAIT_MS);
      sync.flush({ force: true });
    });
    waiters.delete(record.client_id);
  }
  state.starting = false;
  if (answer && answer.status === 409) {
    banner(answer.body.detail || "This hot spot cannot be patrolled now.", "warn");
    state.list = null;
    loadList();
    go("#/");
    return;
  }
  state.visit = {
    visit_id: visitId,
    hotspot: { id: b.id, name: b.name, lat: b.lat, lon: b.lon, geofence: b.geofence },
    started_ms: started,
    ended_ms: null,
    target_minutes: b.target_minutes,
    pings: 0,
    confirmed: !!(answer && answer.status === 200),
    notice: answer && answer.status === 200 && !answer.body.slot ? "Not counted as a tasked patrol." : null,
  };
  await metaSet("visit", state.visit);
  beginSampling();
  go("#/visit");
}

function beginSampling() {
  stopSampling();
  // During a visit the position comes from one fresh fix per interval (getCurrentPosition with
  // maximumAge 0): a steady, bounded sampling rate, and Chromium does not serve fresh fixes to
  // getCurrentPosition while a watch is active.
  locator.stop();
  sample();
  sampler = setInterval(sample, PING_S * 1000);
  ticker = setInterval(tick, 1000);
  if (navigator.wakeLock) navigator.wakeLock.request("screen").then((l) => (wakeLock = l)).catch(() => {});
}

function stopSampling() {
  clearInterval(sampler);
  clearInterval(ticker);
  sampler = ticker = null;
  if (wakeLock) wakeLock.release().catch(() => {});
  wakeLock = null;
  locator.start();
}

async function sample() {
  const v = state.visit;
  if (!v || v.ended_ms) return;
  let pos;
  try {
    pos = await samplePosition();
  } catch (err) {
    state.locError = err;
    return;
  }
  if (state.visit !== v || v.ended_ms) return;
  const c = pos.coords;
  const fix = SIMULATION ? Date.now() : pos.timestamp;
  await enqueue("ping", {
    visit_id: v.visit_id,
    fix_time: iso(fix),
    lat: c.latitude,
    lon: c.longitude,
    accuracy_m: Number.isFinite(c.accuracy) ? c.accuracy : null,
    speed_mps: Number.isFinite(c.speed) && c.speed >= 0 ? c.speed : null,
  });
  v.pings += 1;
  // A short trail for the plan on screen (positions of the officer only; sent and kept nowhere else).
  v.track = [...(v.track || []), { lat: c.latitude, lon: c.longitude }].slice(-80);
  state.position = { lat: c.latitude, lon: c.longitude, accuracy: c.accuracy };
  await metaSet("visit", v);
  sync.flush();
  if (screenName() === "visit") render();
}

function tick() {
  if (state.visit && screenName() === "visit") V.updateTimer(state.visit, Date.now());
}

function endVisit() {
  const v = state.visit;
  if (!v) return;
  v.ended_ms = Date.now();
  stopSampling();
  metaSet("visit", v);
  colleagues().then(() => render());
  render();
}

function backToVisit() {
  const v = state.visit;
  if (!v) return;
  v.ended_ms = null;
  metaSet("visit", v);
  beginSampling();
  render();
}

async function submitEnd(values) {
  const v = state.visit;
  await enqueue("visit_end", { visit_id: v.visit_id, ended_at: iso(v.ended_ms), ...values });
  state.last = { visit_id: v.visit_id, hotspot_id: v.hotspot.id, name: v.hotspot.name, lat: v.hotspot.lat, lon: v.hotspot.lon, server: null };
  state.visit = null;
  await metaSet("visit", null);
  await metaSet("last", state.last);
  go("#/done");
  sync.flush({ force: true });
  loadNext();
}

// --- screens -------------------------------------------------------------------------------------------

function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else render();
}

function screenName() {
  const hash = location.hash || "#/";
  if (state.visit) {
    if (state.visit.ended_ms) return "end";
    return hash.startsWith("#/h/") ? "briefing" : "visit";
  }
  if (hash.startsWith("#/h/")) return "briefing";
  if (hash.startsWith("#/done") && state.last) return "done";
  return "list";
}

let renderedBriefing = null;

async function render() {
  const name = screenName();
  document.body.dataset.screen = name;
  if (name === "list") {
    V.listScreen({
      list: state.list,
      position: state.position,
      locError: state.locError,
      fromCache: state.fromCache,
      onOpen: (s) => go(`#/h/${s.id}`),
      onRefresh: () => {
        state.listPos = null;
        loadList();
      },
    });
  } else if (name === "briefing") {
    const id = Number((location.hash.match(/^#\/h\/(\d+)/) || [])[1]);
    const b = await briefing(id);
    if (screenName() !== "briefing") return;
    if (!b) {
      V.show("briefing", "Briefing", V.h("p", { class: "pad" }, "This briefing is not saved on this phone. Connect to load it."),
        V.h("button", { type: "button", class: "btn secondary", onclick: () => go("#/") }, "‹ All hot spots"));
      return;
    }
    const d = state.position ? haversine(state.position.lat, state.position.lon, b.lat, b.lon) : NaN;
    const keepFocus = renderedBriefing === id;
    V.briefingScreen({
      b,
      distance: d,
      busy: state.starting,
      activeElsewhere: !!state.visit,
      onBack: () => go(state.visit ? "#/visit" : "#/"),
      onStart: () => startVisit(b),
    });
    if (!keepFocus) window.scrollTo(0, 0);
    renderedBriefing = id;
    return;
  } else if (name === "visit") {
    V.visitScreen({ v: state.visit, now: Date.now(), here: here(), onEnd: endVisit, onBriefing: () => go(`#/h/${state.visit.hotspot.id}`) });
  } else if (name === "end") {
    if (document.querySelector("form.form")) return; // keep what the officer has typed
    V.endScreen({ v: state.visit, colleagues: () => state.colleagues, onSubmit: submitEnd, onBack: backToVisit });
    if (!state.colleagues) {
      // Not fetched yet (or dropped when the service worker took over): fetch it now and refresh the picker.
      colleagues().then((c) => {
        const filter = document.getElementById("crew-filter");
        if (c && filter) filter.dispatchEvent(new Event("input"));
      });
    }
    const back = V.h("button", { type: "button", class: "back", onclick: backToVisit }, "‹ Back to the visit");
    document.querySelector("#screen .brief-head").prepend(back);
  } else if (name === "done") {
    V.doneScreen({ last: state.last, status: lastStatus, next: state.next, onOpen: (s) => go(`#/h/${s.id}`), onList: () => go("#/") });
  }
  renderedBriefing = null;
}

window.addEventListener("hashchange", () => {
  window.scrollTo(0, 0);
  render();
});

// --- start-up --------------------------------------------------------------------------------------------

window.addEventListener("online", () => {
  sync.flush({ force: true });
  loadList();
  if (state.last && screenName() === "done") loadNext();
  updateSync();
});
window.addEventListener("offline", () => updateSync());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") sync.flush({ force: true });
});

document.getElementById("logout-form").addEventListener("submit", async (e) => {
  const st = await sync.status();
  if (st.waiting > 0 && !window.confirm(`${st.waiting} record(s) have not been sent yet. They stay on this phone and are sent after you sign in again. Sign out?`)) {
    e.preventDefault();
    return;
  }
  // Briefings and lists are cleared from the phone at sign out; the outbox stays (docs/reliability.md §2.2).
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: "clear-data" });
  }
});

async function boot() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: "/patrol/" }).catch(() => {});
    // The first visit's list and briefings were fetched before the service worker took over: fetch
    // them again through it, so they are saved on the phone for use without signal.
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      state.generation += 1;
      state.briefings.clear();
      state.colleagues = null;
      state.listPos = null;
      loadList();
    });
  }
  askPersistence();
  await deviceId();
  state.visit = (await metaGet("visit")) || null;
  state.last = (await metaGet("last")) || null;
  if (state.visit && !state.visit.ended_ms) beginSampling();
  else locator.start();
  setInterval(() => sync.flush(), 30000);
  await updateSync();
  sync.flush({ force: true });
  render();
  if (state.last && screenName() === "done") loadNext();
}

boot();
