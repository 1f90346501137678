// The screens. Plain DOM; text is always set as text (never as HTML).

import { directionsLinks, formatDistance, walkMinutes } from "./geo.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    // Through the CSSOM: the Content-Security-Policy blocks style attributes set as markup.
    else if (k === "style") el.style.cssText = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function show(screen, title, ...content) {
  const main = document.getElementById("screen");
  main.replaceChildren(...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.getElementById("bar-heading").textContent = title;
  document.title = `${title} · Rasure patrol`;
}

const periodLabel = { day: "Day list", night: "Night list", all: "All day" };

function directionsButton(spot, { big = true, label = "Directions" } = {}) {
  const links = directionsLinks(spot.lat, spot.lon, spot.name);
  return h(
    "a",
    {
      class: big ? "btn primary directions" : "btn secondary small directions",
      href: links.primary,
      target: links.external ? "_blank" : null,
      rel: links.external ? "noopener" : null,
      "aria-label": `${label} to ${spot.name}`,
    },
    h("span", { class: "icon", "aria-hidden": "true" }, "➤"),
    label,
  );
}

function distanceText(spot) {
  if (!Number.isFinite(spot.distance_m)) return "distance unknown";
  return `${formatDistance(spot.distance_m)} · ${walkMinutes(spot.distance_m)} min walk`;
}

function spotCard(spot, index, onOpen, capPerDay) {
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "spot", onclick: () => onOpen(spot) },
      h("span", { class: "rank", "aria-hidden": "true" }, String(index + 1)),
      h(
        "span",
        { class: "spot-main" },
        h("span", { class: "spot-name" }, spot.name),
        h("span", { class: "spot-dist" }, distanceText(spot)),
        h("span", { class: "spot-why" }, shorten(spot.summary, 90)),
        spot.visits_today > 0 && capPerDay
          ? h("span", { class: "spot-done" }, `Patrolled ${spot.visits_today} of ${capPerDay} times today`)
          : null,
      ),
      h("span", { class: "chev", "aria-hidden": "true" }, "›"),
    ),
  );
}

function shorten(text, n) {
  if (!text) return "";
  return text.length <= n ? text : `${text.slice(0, n - 1).trimEnd()}…`;
}

export function listScreen({ list, position, locError, fromCache, onOpen, onRefresh }) {
  const parts = [h("h1", { class: "list-title" }, list && list.trial_running ? "Today's patrol list" : "Today's hot spots")];
  if (locError && !position) {
    parts.push(
      h(
        "div",
        { class: "notice warn" },
        h("strong", {}, "Location is off. "),
        "Allow location for this site so the nearest hot spots come first.",
      ),
    );
  }
  if (fromCache) {
    parts.push(h("div", { class: "notice" }, "No signal: showing the list saved on this phone. Distances use your current position."));
  }
  if (!list) {
    parts.push(h("p", { class: "pad muted" }, position ? "Loading today's hot spots…" : "Finding your position…"));
  } else if (list.hotspots.length === 0) {
    parts.push(
      h(
        "div",
        { class: "empty" },
        h("h2", {}, "No hot spots to patrol right now"),
        h("p", {}, list.n_capped > 0
          ? "Every hot spot on today's list has had its patrols. Thank you."
          : "There is nothing on today's patrol list for this shift."),
      ),
    );
  } else {
    parts.push(
      h(
        "p",
        { class: "lede" },
        "Nearest first",
        h("span", { class: "muted" }, ` · aim for ${Math.round(list.target_minutes)} min each`),
      ),
    );
    parts.push(h("ol", { class: "spots", "aria-label": "Hot spots nearest first" }, list.hotspots.map((s, i) => spotCard(s, i, onOpen, list.cap_per_day))));
  }
  parts.push(h("div", { class: "actions-inline" }, h("button", { type: "button", class: "btn secondary", onclick: onRefresh }, "Refresh list")));
  show("list", "Today's hot spots", ...parts);
}

export function briefingScreen({ b, distance, onBack, onStart, busy, activeElsewhere }) {
  const spot = { ...b, distance_m: distance };
  // Plain words for the officer (docs/style-guide.md); the analyst's figures behind "Details".
  const plain = b.plain_facts && b.plain_facts.length ? b.plain_facts : [];
  const facts = plain.length || b.facts.length
    ? h(
        "div",
        {},
        plain.length ? h("ul", { class: "facts" }, plain.map((f) => h("li", {}, f))) : null,
        b.facts.length
          ? h("details", { class: "stats" }, h("summary", {}, "Details: the figures"), h("ul", { class: "facts" }, b.facts.map((f) => h("li", {}, f))))
          : null,
      )
    : h("p", { class: "muted" }, "No facts recorded.");
  const tasks = b.tasks.length
    ? h("ol", { class: "tasks" }, b.tasks.map((t) => h("li", {}, t)))
    : h("p", { class: "muted" }, "No tasks set. Be visible, talk to people, note anything to report.");
  const contact = b.contact_name || b.contact_details
    ? h(
        "p",
        { class: "contact" },
        h("strong", {}, b.contact_name || "Contact"),
        b.contact_details ? h("br") : null,
        b.contact_details ? contactLink(b.contact_details) : null,
      )
    : h("p", { class: "muted" }, "No point of contact named yet.");
  show(
    "briefing",
    b.name,
    h(
      "div",
      { class: "brief-head" },
      h("button", { type: "button", class: "back", onclick: onBack }, "‹ All hot spots"),
      h("h1", {}, b.name),
      h("p", { class: "meta" }, `${b.code} · ${periodLabel[b.period] || b.period} · ${distanceText(spot)}`),
    ),
    h("section", { class: "card", "aria-labelledby": "why" }, h("h2", { id: "why" }, "Why it is a hot spot"), facts),
    h("section", { class: "card", "aria-labelledby": "tk" }, h("h2", { id: "tk" }, "Tasks"), tasks),
    b.background ? h("section", { class: "card", "aria-labelledby": "bg" }, h("h2", { id: "bg" }, "Background"), h("p", {}, b.background)) : null,
    h("section", { class: "card", "aria-labelledby": "pc" }, h("h2", { id: "pc" }, "Point of contact"), contact),
    h(
      "div",
      { class: "dock" },
      directionsButton(spot),
      h(
        "button",
        { type: "button", class: "btn go", onclick: onStart, disabled: busy || activeElsewhere ? true : null },
        busy ? "Starting…" : activeElsewhere ? "Visit running elsewhere" : "Start visit",
      ),
    ),
  );
}

function contactLink(details) {
  const phone = details.replace(/[^\d+]/g, "");
  if (phone.length >= 8 && /^[\d\s+()-]+$/.test(details)) return h("a", { href: `tel:${phone}` }, details);
  if (/^[^@\s]+@[^@\s]+$/.test(details)) return h("a", { href: `mailto:${details}` }, details);
  return details;
}

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** A small plan: the hot spot's outline, the positions recorded so far, and where the officer is now. */
function plan(geofence, track, current) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  };
  const rings = geofence.type === "Polygon" ? [geofence.coordinates] : geofence.type === "MultiPolygon" ? geofence.coordinates : [];
  const pts = rings.flat(2);
  if (!pts.length) return null;
  const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  const all = [...pts, ...track.map((p) => [p.lon, p.lat]), ...(current ? [[current.lon, current.lat]] : [])];
  const xs = all.map((p) => p[0] * kx);
  const ys = all.map((p) => -p[1]);
  const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
  const span = Math.max(maxX - minX, maxY - minY) || 1e-4;
  const pad = span * 0.12;
  const W = 300, H = 170;
  const scale = Math.min(W / (maxX - minX + 2 * pad || 1), H / (maxY - minY + 2 * pad || 1));
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  const X = (lon) => W / 2 + (lon * kx - cx) * scale;
  const Y = (lat) => H / 2 + (-lat - cy) * scale;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plan", role: "img", "aria-label": "Plan of the hot spot with your position" });
  for (const poly of rings) {
    const d = poly.map((ring) => ring.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("") + "Z").join("");
    root.append(svg("path", { d, class: "fence", "fill-rule": "evenodd" }));
  }
  if (track.length > 1) {
    root.append(svg("polyline", { points: track.map((p) => `${X(p.lon).toFixed(1)},${Y(p.lat).toFixed(1)}`).join(" "), class: "trail" }));
  }
  if (current) {
    root.append(svg("circle", { cx: X(current.lon), cy: Y(current.lat), r: 9, class: "me-halo" }));
    root.append(svg("circle", { cx: X(current.lon), cy: Y(current.lat), r: 5.5, class: "me" }));
  }
  return root;
}

export function visitScreen({ v, now, here, onEnd, onBriefing }) {
  const elapsed = now - v.started_ms;
  const target = v.target_minutes * 60000;
  const pct = Math.min(100, Math.round((100 * elapsed) / target));
  const reached = elapsed >= target;
  let where;
  if (!here) where = h("p", { class: "where unknown", id: "where" }, "Waiting for your position…");
  else if (here.inside) where = h("p", { class: "where inside", id: "where" }, "● Inside the hot spot");
  else where = h("p", { class: "where outside", id: "where" }, `○ Outside · ${formatDistance(here.edge_m)} to the edge`);
  show(
    "visit",
    "Visit running",
    h("div", { class: "visit-head" }, h("h1", {}, v.hotspot.name), h("button", { type: "button", class: "link", onclick: onBriefing }, "Briefing")),
    where,
    plan(v.hotspot.geofence, v.track || [], here ? { lat: here.lat, lon: here.lon } : null),
    h(
      "div",
      { class: `timer${reached ? " done" : ""}`, role: "timer", "aria-label": `Visit time ${mmss(elapsed)}` },
      h("span", { class: "clock", id: "clock", "aria-hidden": "true" }, mmss(elapsed)),
      h("span", { class: "target" }, reached ? "Target reached — end when ready" : `of ${Math.round(v.target_minutes)} min target`),
    ),
    h("div", { class: "bar-track", role: "progressbar", "aria-label": "Time towards the target", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct) }, h("div", { class: "bar-fill", style: `width:${pct}%` })),
    h(
      "p",
      { class: "small muted" },
      `Positions recorded: `,
      h("strong", { id: "ping-count" }, String(v.pings)),
      here && Number.isFinite(here.accuracy) ? ` · accuracy ±${Math.round(here.accuracy)} m` : "",
      v.confirmed ? "" : " · start not yet confirmed by the server",
    ),
    v.notice ? h("div", { class: "notice warn" }, v.notice) : null,
    h("p", { class: "small muted" }, "The time that counts is worked out on the server from your positions. Keep the app open."),
    h("div", { class: "dock" }, h("button", { type: "button", class: "btn stop", onclick: onEnd }, "End visit")),
  );
}

/** Refresh the clock and progress bar of the visit screen in place (every second). */
export function updateTimer(v, now) {
  const clock = document.getElementById("clock");
  if (!clock) return;
  const elapsed = now - v.started_ms;
  const target = v.target_minutes * 60000;
  const pct = Math.min(100, Math.round((100 * elapsed) / target));
  clock.textContent = mmss(elapsed);
  const box = clock.parentElement;
  box.setAttribute("aria-label", `Visit time ${mmss(elapsed)}`);
  const reached = elapsed >= target;
  box.classList.toggle("done", reached);
  box.querySelector(".target").textContent = reached ? "Target reached — end when ready" : `of ${Math.round(v.target_minutes)} min target`;
  const bar = document.querySelector(".bar-track");
  bar.setAttribute("aria-valuenow", String(pct));
  bar.firstChild.style.width = `${pct}%`;
}

function stepper(id, label, value) {
  const input = h("input", {
    id,
    name: id,
    type: "number",
    inputmode: "numeric",
    pattern: "[0-9]*",
    min: "0",
    max: "10000",
    step: "1",
    value: String(value),
    required: true,
    "aria-describedby": `${id}-err`,
  });
  const bump = (d) => () => {
    const n = /^\d+$/.test(input.value) ? parseInt(input.value, 10) : 0;
    input.value = String(Math.max(0, n + d));
    input.dispatchEvent(new Event("input"));
  };
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h(
      "div",
      { class: "stepper" },
      h("button", { type: "button", class: "step", onclick: bump(-1), "aria-label": `One fewer: ${label}` }, "−"),
      input,
      h("button", { type: "button", class: "step", onclick: bump(1), "aria-label": `One more: ${label}` }, "+"),
    ),
    h("p", { class: "error", id: `${id}-err`, "aria-live": "polite" }),
  );
}

function clearWhenValid(form) {
  for (const input of form.querySelectorAll(".stepper input")) {
    input.addEventListener("input", () => {
      if (wholeNumber(input.value) !== null) {
        input.removeAttribute("aria-invalid");
        form.querySelector(`#${input.id}-err`).textContent = "";
      }
    });
  }
}

/** Whole number ≥ 0 (the server checks the same). */
export function wholeNumber(text) {
  const t = String(text).trim();
  if (!/^\d{1,5}$/.test(t)) return null;
  const n = parseInt(t, 10);
  return n <= 10000 ? n : null;
}

/** Does a colleague match what the officer typed (part of the name or username, or the collar number)? */
export function colleagueMatches(c, q) {
  if (!q) return true;
  const collar = (c.collar_number || "").toLowerCase();
  return c.name.toLowerCase().includes(q) || c.username.toLowerCase().includes(q) || (collar !== "" && collar.startsWith(q));
}

export function endScreen({ v, colleagues: known, onSubmit, onBack }) {
  // `known` is the colleague list or a function returning it: the list may arrive after the form is shown.
  const all = () => (typeof known === "function" ? known() : known);
  const chosen = new Set();
  const filter = h("input", { id: "crew-filter", type: "search", placeholder: "Type a name or collar number", autocomplete: "off" });
  const chips = h("p", { class: "chips", id: "crew-chosen", "aria-live": "polite" });
  const list = h("ul", { class: "crew", id: "crew-list" });
  const renderCrew = () => {
    const q = filter.value.trim().toLowerCase();
    const colleagues = all();
    const rows = (colleagues || []).filter((c) => colleagueMatches(c, q));
    list.replaceChildren(
      ...rows.slice(0, 60).map((c) =>
        h(
          "li",
          {},
          h(
            "label",
            { class: "check" },
            h("input", {
              type: "checkbox",
              value: String(c.id),
              checked: chosen.has(c.id) ? true : null,
              onchange: (e) => {
                if (e.target.checked) chosen.add(c.id);
                else chosen.delete(c.id);
                renderChips();
              },
            }),
            h(
              "span",
              {},
              c.name,
              h("span", { class: "muted" }, ` · ${[c.collar_number ? `collar ${c.collar_number}` : c.username, c.team].filter(Boolean).join(" · ")}`),
            ),
          ),
        ),
      ),
    );
    if (!colleagues) {
      const why = navigator.onLine ? "Loading the colleague list…" : "Colleague list not available offline yet.";
      list.replaceChildren(h("li", { class: "muted" }, why));
    }
  };
  const renderChips = () => {
    const names = (all() || []).filter((c) => chosen.has(c.id)).map((c) => c.name);
    chips.textContent = names.length ? `Crewed with: ${names.join(", ")}` : "Crewed with: nobody picked (single-crewed)";
  };
  filter.addEventListener("input", renderCrew);
  const note = h("textarea", { id: "note", name: "note", rows: "3", maxlength: "2000", "aria-describedby": "note-hint" });
  const form = h(
    "form",
    { class: "form", novalidate: true },
    stepper("spoken_to", "People spoken to", 0),
    stepper("searched", "People searched", 0),
    stepper("arrested", "People arrested", 0),
    h(
      "fieldset",
      { class: "field" },
      h("legend", {}, "Crewed with"),
      h("label", { for: "crew-filter", class: "sr-only" }, "Find a colleague"),
      filter,
      chips,
      list,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "note" }, "Note (optional)"),
      note,
      h("p", { class: "hint", id: "note-hint" }, "Do not write names or details of members of the public here."),
    ),
    h("div", { class: "dock" }, h("button", { type: "submit", class: "btn primary" }, "Send")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const values = {};
    let firstBad = null;
    for (const id of ["spoken_to", "searched", "arrested"]) {
      const input = form.querySelector(`#${id}`);
      const n = wholeNumber(input.value);
      const err = form.querySelector(`#${id}-err`);
      if (n === null) {
        err.textContent = "Enter a whole number, 0 or more.";
        input.setAttribute("aria-invalid", "true");
        firstBad = firstBad || input;
      } else {
        err.textContent = "";
        input.removeAttribute("aria-invalid");
        values[id] = n;
      }
    }
    if (firstBad) {
      firstBad.focus();
      return;
    }
    onSubmit({ ...values, crewed_with: [...chosen], note: note.value.trim() });
  });
  clearWhenValid(form);
  renderCrew();
  renderChips();
  show(
    "end",
    "After the visit",
    h("div", { class: "brief-head" }, h("h1", {}, v.hotspot.name), h("p", { class: "meta" }, "Tell us what happened. Numbers only — no names.")),
    form,
  );
}

/**
 * Why the server could count no time from a visit's positions, in plain words, or null when it could.
 * The server answers with the positions it received (n_pings) and the mode it worked out from them.
 */
export function unusableReason(s) {
  const keep = "Next time keep the app open on screen, with location turned on, for the whole visit.";
  if (!s.n_pings) return `Your phone sent no positions during this visit, so no time inside could be counted. ${keep}`;
  if (s.mode === "unknown") {
    const few = s.n_pings === 1 ? "only one position, too few" : `only ${s.n_pings} positions, too far apart`;
    return `Your phone sent ${few} to count time inside. ${keep}`;
  }
  if (s.mode === "none") {
    return `None of the ${s.n_pings} positions your phone sent were inside the hot spot, so no time inside was counted. If you were there, your phone's location may have been rough: turn on precise location. ${keep}`;
  }
  return null;
}

function resultBox(last, status) {
  if (!last.server) {
    return h(
      "div",
      { class: "result waiting", id: "result" },
      h("p", { class: "big" }, "Saved on this phone"),
      h("p", {}, status.waiting ? `${status.waiting} record${status.waiting === 1 ? "" : "s"} waiting to send. The time inside is worked out when they arrive.` : "Sending…"),
    );
  }
  const s = last.server;
  const why = s.dose_minutes > 0 ? null : unusableReason(s);
  if (why) {
    return h(
      "div",
      { class: "result short", id: "result" },
      h("p", { class: "big" }, "No time inside counted"),
      h("p", { class: "reason" }, why),
    );
  }
  const mode = { foot: "on foot", stopped: "stopped in a vehicle", drive_through: "drive-through", unknown: "how you patrolled is not known", none: "never inside the hot spot" }[s.mode] || s.mode;
  return h(
    "div",
    { class: `result ${s.target_met ? "ok" : "short"}`, id: "result" },
    h("p", { class: "big" }, `${s.dose_minutes.toFixed(1)} min inside`),
    h("p", {}, `${mode}${s.target_met ? " · target met" : ` · target ${Math.round(s.target_minutes)} min`}`),
  );
}

/**
 * next: the next nearest hot spots ({ spots, saved }) — saved when they come from the list kept on this
 * phone (no signal) — or null while they are being looked up, or { spots: null } when no list is known.
 */
export function doneScreen({ last, status, next, onOpen, onList }) {
  let nextList;
  if (!next) {
    nextList = h("p", { class: "muted", id: "next-status" }, "Finding the next nearest hot spots…");
  } else if (!next.spots) {
    nextList = h("p", { class: "muted", id: "next-status" }, "No list of hot spots is saved on this phone. Connect to see the next nearest ones.");
  } else if (!next.spots.length) {
    nextList = h("p", { class: "muted", id: "next-status" }, next.saved
      ? "No other hot spots on the list saved on this phone. Connect to check for new ones."
      : "No other hot spots to patrol right now.");
  } else {
    nextList = h(
      "div",
      {},
      next.saved ? h("p", { class: "notice", id: "next-status" }, "No signal: from the list saved on this phone.") : null,
      h(
        "ol",
        { class: "spots compact" },
        next.spots.map((s) =>
          h(
            "li",
            { class: "next" },
            h("button", { type: "button", class: "spot", onclick: () => onOpen(s) },
              h("span", { class: "spot-main" }, h("span", { class: "spot-name" }, s.name), h("span", { class: "spot-dist" }, distanceText(s)))),
            directionsButton(s, { big: false, label: "Go" }),
          ),
        ),
      ),
    );
  }
  show(
    "done",
    "Visit recorded",
    h("div", { class: "brief-head" }, h("h1", {}, `Thank you — ${last.name}`)),
    resultBox(last, status),
    h("h2", { class: "section" }, "Next nearest hot spots"),
    nextList,
    h("div", { class: "actions-inline" }, h("button", { type: "button", class: "btn secondary", onclick: onList }, "All hot spots")),
  );
}

export function syncText(st, online) {
  if (st.signedOut) return { text: `Sign in again · ${st.waiting} waiting`, level: "bad" };
  if (st.quarantined) return { text: `${st.quarantined} not accepted · ${st.waiting} waiting`, level: "bad" };
  if (st.waiting === 0) return { text: online ? "All sent ✓" : "Offline · nothing waiting", level: "ok" };
  const what = `${st.waiting} waiting`;
  if (st.sending && online) return { text: `Sending · ${what}`, level: "warn" };
  return { text: online ? what : `Offline · ${what}`, level: "warn" };
}
