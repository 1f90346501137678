// The outbox: every record the phone makes (visit start, pings, visit end + form) is written to
// IndexedDB first, with a client UUID and a per-device sequence number, in one transaction. It is
// sent when there is a connection and deleted only when the server acknowledges it (docs/reliability.md §2.2):
//
//   200                     → stored (or a replay of an earlier send): delete
//   409 cap_reached/not_tasked on a start → the server's answer to that record: delete, tell the app
//   409 conflict, 400, 422  → the server will never take it: move to quarantine, shown to the officer
//   404 visit_unknown       → its visit's start has not arrived yet: keep, try later
//   401 / 403               → signed out: keep, ask the officer to sign in again
//   network error, 5xx, 429 → keep, retry with exponential backoff (1 s … 2 min, jittered)
//
// A record's body never changes after it is written, so a retry always sends the same payload.
// Records never expire on the phone.

import { NetworkError, postJSON } from "./api.js";

const DB_NAME = "rasure-patrol";
const DB_VERSION = 1;
const MAX_BATCH = 100;
const MAX_BACKOFF_MS = 120000;

let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("outbox")) {
          db.createObjectStore("outbox", { keyPath: "client_id" }).createIndex("seq", "seq", { unique: true });
        }
        if (!db.objectStoreNames.contains("quarantine")) db.createObjectStore("quarantine", { keyPath: "client_id" });
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function metaGet(key) {
  const db = await openDb();
  const row = await result(db.transaction("meta").objectStore("meta").get(key));
  return row ? row.value : undefined;
}

export async function metaSet(key, value) {
  const db = await openDb();
  const tx = db.transaction("meta", "readwrite");
  if (value === undefined || value === null) tx.objectStore("meta").delete(key);
  else tx.objectStore("meta").put({ key, value });
  await done(tx);
}

/** This install's device id (made once). */
export async function deviceId() {
  let id = await metaGet("device_id");
  if (!id) {
    id = uuid();
    await metaSet("device_id", id);
  }
  return id;
}

/** Write a record to the outbox (client id, sequence number and device id added here). */
export async function enqueue(kind, fields) {
  const device = await deviceId();
  const db = await openDb();
  const tx = db.transaction(["meta", "outbox"], "readwrite");
  const meta = tx.objectStore("meta");
  const last = await result(meta.get("seq"));
  const seq = (last ? last.value : 0) + 1;
  meta.put({ key: "seq", value: seq });
  const record = {
    client_id: uuid(),
    kind,
    seq,
    created_at: Date.now(),
    body: { ...fields, seq, device_id: device },
  };
  record.body.client_id = record.client_id;
  tx.objectStore("outbox").put(record);
  await done(tx);
  return record;
}

async function all(store) {
  const db = await openDb();
  return result(db.transaction(store).objectStore(store).getAll());
}

export async function pending() {
  return (await all("outbox")).sort((a, b) => a.seq - b.seq);
}

export async function quarantined() {
  return all("quarantine");
}

async function remove(records) {
  const db = await openDb();
  const tx = db.transaction("outbox", "readwrite");
  for (const r of records) tx.objectStore("outbox").delete(r.client_id);
  await done(tx);
}

async function moveToQuarantine(records, answer) {
  const db = await openDb();
  const tx = db.transaction(["outbox", "quarantine"], "readwrite");
  for (const r of records) {
    tx.objectStore("outbox").delete(r.client_id);
    tx.objectStore("quarantine").put({ ...r, answer, quarantined_at: Date.now() });
  }
  await done(tx);
}

const ENDPOINT = {
  visit_start: "/api/patrol/visits/start",
  visit_end: "/api/patrol/visits/end",
};

/** Sends the outbox in order; one flush at a time (across tabs too, where Web Locks exist). */
export class Sync {
  constructor({ onChange = () => {}, onResult = () => {} } = {}) {
    this.onChange = onChange;
    this.onResult = onResult;
    this.attempts = 0;
    this.nextTry = 0;
    this.timer = null;
    this.running = null;
    this.again = false;
    this.lastError = "";
    this.signedOut = false;
    this.lastSent = null;
  }

  async status() {
    const [rows, bad] = await Promise.all([pending(), quarantined()]);
    return {
      waiting: rows.length,
      oldest: rows.length ? Math.min(...rows.map((r) => r.created_at)) : null,
      quarantined: bad.length,
      sending: this.running !== null,
      lastError: this.lastError,
      signedOut: this.signedOut,
      nextTry: this.nextTry,
      lastSent: this.lastSent,
    };
  }

  /** Flush unless we are backing off after a failure (`force` ignores the backoff: "Send now"). */
  flush({ force = false } = {}) {
    if (!force && Date.now() < this.nextTry) return this.running || Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const locked = navigator.locks
      ? (fn) => navigator.locks.request("rasure-patrol-outbox", fn)
      : (fn) => fn();
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await locked(() => this.flushOnce());
        } while (this.again);
      } finally {
        this.running = null;
        this.onChange();
      }
    })();
    this.onChange();
    return this.running;
  }

  async send(group) {
    const sentAt = new Date(Date.now()).toISOString();
    const first = group[0];
    if (first.kind === "ping") {
      return postJSON("/api/patrol/pings", {
        device_sent_at: sentAt,
        device_id: first.body.device_id,
        pings: group.map((r) => {
          const { device_id: _d, ...ping } = r.body;
          return ping;
        }),
      });
    }
    return postJSON(ENDPOINT[first.kind], { ...first.body, device_sent_at: sentAt }, {
      headers: { "Idempotency-Key": first.client_id },
    });
  }

  failed(message) {
    this.attempts += 1;
    this.lastError = message;
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.attempts - 1, 7));
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.nextTry = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), delay);
  }

  succeeded() {
    this.attempts = 0;
    this.nextTry = 0;
    this.lastError = "";
    this.signedOut = false;
    this.lastSent = Date.now();
  }

  async flushOnce() {
    const rows = await pending();
    let waitingForStart = false;
    let i = 0;
    while (i < rows.length) {
      const group = [rows[i]];
      if (rows[i].kind === "ping") {
        while (i + group.length < rows.length && rows[i + group.length].kind === "ping" && group.length < MAX_BATCH) {
          group.push(rows[i + group.length]);
        }
      }
      i += group.length;
      let res;
      try {
        res = await this.send(group);
      } catch (err) {
        this.failed(err instanceof NetworkError ? "No connection" : String(err));
        return;
      }
      const body = res.body || {};
      if (res.status === 200) {
        await remove(group);
        this.succeeded();
        for (const r of group) this.onResult(r, res.status, body);
      } else if (res.status === 409 && group[0].kind === "visit_start" && body.code !== "conflict") {
        await remove(group);
        this.succeeded();
        this.onResult(group[0], res.status, body);
      } else if (res.status === 409 && group[0].kind === "ping" && Array.isArray(body.conflicts)) {
        const bad = group.filter((r) => body.conflicts.includes(r.client_id));
        await moveToQuarantine(bad.length ? bad : group, body);
        this.again = true; // send the rest of the batch again
        return;
      } else if ([400, 409, 422].includes(res.status)) {
        await moveToQuarantine(group, body);
        for (const r of group) this.onResult(r, res.status, body);
      } else if (res.status === 404 && body.code === "visit_unknown") {
        waitingForStart = true; // keep it; its start may be further down the queue
      } else if (res.status === 401 || res.status === 403) {
        this.signedOut = true;
        this.failed("Signed out: sign in again to send");
        return;
      } else {
        this.failed(`Server busy (${res.status})`);
        return;
      }
    }
    if (waitingForStart) this.failed("Waiting for a visit start to arrive");
  }
}

/** Ask the browser not to evict our storage under pressure (Chrome 55+, Firefox 57+, Safari 15.2+). */
export async function askPersistence() {
  try {
    if (navigator.storage && navigator.storage.persist) return await navigator.storage.persist();
  } catch {
    /* not available */
  }
  return false;
}
