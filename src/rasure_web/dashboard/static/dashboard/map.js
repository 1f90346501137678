// The dashboard map (/dashboard/map/). An external file: the Content-Security-Policy allows no inline
// script. Data from the server (crime offences and locations, hot-spot and institution names) reaches
// the page only as text: popups and tooltips are DOM elements built from text nodes, never HTML strings.
import { text, el } from "./dom.js";

const $ = (id) => document.getElementById(id);
const cfg = $("map").dataset;
const map = L.map("map", { preferCanvas: true }).setView([51.5, -1.0], 12);
if (cfg.tiles) {
  // The attribution (RASURE_MAP_ATTRIBUTION) is shown as text: Leaflet's attribution control only
  // takes HTML strings, so it gets the text escaped by the DOM.
  L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: escapeText(cfg.attribution || "") }).addTo(map);
}
function escapeText(s) {
  const d = document.createElement("span");
  d.textContent = s;
  return d.innerHTML;
}
const params = () => new URLSearchParams(new FormData($("filters")));
const colour = (r) => (r <= 5 ? "#c8102e" : r <= 20 ? "#f28e2b" : "#f6c85f");
const groups = {
  areas: L.layerGroup().addTo(map),
  density: L.layerGroup().addTo(map),
  crimes: L.layerGroup().addTo(map),
  hotspots: L.layerGroup().addTo(map),
  institutions: L.layerGroup().addTo(map),
};
L.control
  .layers(null, {
    Boundaries: groups.areas,
    Density: groups.density,
    Crimes: groups.crimes,
    "Hot spots": groups.hotspots,
    "Institutions held apart": groups.institutions,
  })
  .addTo(map);

async function getJSON(layer, extra = "") {
  const r = await fetch(`/dashboard/map/${layer}.json?${params()}${extra}`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`${layer}: ${r.status}`);
  return r.json();
}

/** A hot spot's popup: code and name, figures, endurance and a link, all as text. */
export function hotspotPopup(p) {
  const link = el("a", {}, "Open hot spot");
  link.href = `/dashboard/hotspots/${encodeURIComponent(String(p.id))}/`;
  return el(
    "div",
    { class: "popup" },
    el("strong", {}, `${p.code} ${p.name}`),
    el("br"),
    text(`${p.count} crimes, harm ${p.harm} days`),
    el("br"),
    text(p.persistence ?? ""),
    el("br"),
    link,
  );
}

function institutionPopup(p) {
  return el("div", { class: "popup" }, el("strong", {}, p.name ?? ""), el("br"), text(p.reason || p.type || ""));
}

function crimeTooltip(p) {
  return el("div", {}, text(p.offence ?? ""), p.location ? el("br") : null, p.location ? text(p.location) : null);
}

let fitted = false;
let hotspotLayers = [];
map.on("zoomend", () => placeLabels(hotspotLayers));

async function loadStatic() {
  const [areas, hs, inst] = await Promise.all([getJSON("areas"), getJSON("hotspots"), getJSON("institutions")]);
  groups.areas.clearLayers();
  groups.hotspots.clearLayers();
  groups.institutions.clearLayers();
  L.geoJSON(areas, {
    style: (f) => ({
      color: f.properties.kind === "lpa" ? "#0b1f33" : "#8a94a6",
      weight: f.properties.kind === "lpa" ? 2.5 : 0.8,
      fill: false,
    }),
    onEachFeature: (f, l) => l.bindTooltip(el("span", {}, f.properties.name ?? "")),
  }).addTo(groups.areas);
  const period = $("f-daynight").value;
  const hl = L.geoJSON(hs, {
    filter: (f) => !period || f.properties.period === period || f.properties.period === "all",
    style: (f) => ({ color: colour(f.properties.rank), weight: 3, fillOpacity: 0.35 }),
    onEachFeature: (f, l) => l.bindPopup(hotspotPopup(f.properties)),
  }).addTo(groups.hotspots);
  L.geoJSON(inst, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillColor: "#6a3d9a", fillOpacity: 0.95 }),
    onEachFeature: (f, l) => l.bindPopup(institutionPopup(f.properties)),
  }).addTo(groups.institutions);
  if (!fitted) {
    const b = L.featureGroup([...groups.areas.getLayers(), hl]).getBounds();
    if (b.isValid()) {
      map.fitBounds(b);
      fitted = true;
    }
  }
  hotspotLayers = hl.getLayers();
  placeLabels(hotspotLayers);
  const db = await getJSON("density", "&format=bounds");
  groups.density.clearLayers();
  L.imageOverlay(`/dashboard/map/density.json?${params()}`, db.bounds, { opacity: 0.75, interactive: false }).addTo(groups.density);
}

/**
 * Hot-spot labels that never hide each other: every hot spot first gets its own label; then, while two
 * labels on screen overlap (a day and a night hot spot on the same cells, or close neighbours at this
 * zoom), the second one's code moves into the first ("D02 · N05") and its own label is removed. Run again
 * after each zoom, from one label per hot spot.
 */
function placeLabels(layers) {
  for (const l of layers) {
    l.unbindTooltip();
    l.labelCodes = [l.feature.properties.code ?? ""];
  }
  const shown = [...layers];
  const bind = (l) => {
    l.unbindTooltip();
    l.bindTooltip(el("span", {}, l.labelCodes.join(" · ")), { permanent: true, direction: "top", className: "hs-label" });
  };
  shown.forEach(bind);
  const box = (l) => l.getTooltip()?.getElement()?.getBoundingClientRect();
  const hit = (a, b) => a && b && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < shown.length && !merged; i++) {
      for (let j = i + 1; j < shown.length && !merged; j++) {
        if (hit(box(shown[i]), box(shown[j]))) {
          shown[i].labelCodes.push(...shown[j].labelCodes);
          shown[j].unbindTooltip();
          shown.splice(j, 1);
          bind(shown[i]);
          merged = true;
        }
      }
    }
  }
}

function clusterIcon(n) {
  return L.divIcon({ className: "cluster", html: el("span", {}, String(n)), iconSize: [26, 26] });
}

let crimesAsked = 0; // each request's number: a slow answer for an earlier view must not replace a newer one

async function loadCrimes() {
  const asked = ++crimesAsked;
  const b = map.getBounds();
  const zoom = map.getZoom();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  const data = await getJSON("crimes", `&bbox=${bbox}&zoom=${zoom}`);
  if (asked !== crimesAsked) return;
  groups.crimes.clearLayers();
  L.geoJSON(data, {
    pointToLayer: (f, ll) =>
      f.properties.n > 1
        ? L.marker(ll, { icon: clusterIcon(f.properties.n), zIndexOffset: -1000 })
        : L.circleMarker(ll, { radius: 4, color: "#0b3d91", weight: 1, fillOpacity: 0.8 }),
    onEachFeature: (f, l) => f.properties.offence && l.bindTooltip(crimeTooltip(f.properties)),
  }).addTo(groups.crimes);
  $("status").textContent = `${data.properties.records} crimes in view${data.properties.clustered ? " (clustered)" : ""}.`;
  $("map").dataset.crimesZoom = String(zoom);
}

async function refresh() {
  try {
    await loadStatic();
    await loadCrimes();
    $("map").dataset.ready = "1";
  } catch (e) {
    $("status").textContent = `Could not load: ${e.message}`;
  }
}
$("filters").addEventListener("change", refresh);
map.on("moveend", () =>
  loadCrimes().catch((e) => {
    $("status").textContent = `Could not load the crimes in view: ${e.message}`;
  }),
);
const q = new URLSearchParams(location.search);
if (q.get("area")) $("f-area").value = q.get("area");
window.rasureMap = map; // for browser tests and the console
window.rasureLayers = groups;
refresh();
