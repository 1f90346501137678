// The analysts' map of partner data (/partners/data/): emergency-department assaults as points.
// Values reach the page only as text (tooltips built from text nodes).
import { baseMap } from "./basemap.js";

const box = document.getElementById("map");
if (box) {
  const map = baseMap(box);
  const status = document.getElementById("map-status");
  // the force's boundaries, for context (the dashboard's own layer)
  fetch("/dashboard/map/areas.json", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((areas) => {
      if (areas)
        L.geoJSON(areas, {
          style: (f) => ({ color: "#33425b", weight: f.properties.kind === "lpa" ? 2.5 : 0.8, fillOpacity: 0.03 }),
          interactive: false,
        }).addTo(map);
    });
  fetch(box.dataset.url, { credentials: "same-origin" })
    .then((r) => {
      if (!r.ok) throw new Error(`error ${r.status}`);
      return r.json();
    })
    .then((data) => {
      const layer = L.geoJSON(data, {
        pointToLayer: (f, ll) =>
          L.circleMarker(ll, { radius: 5, color: "#8a0015", weight: 1, fillColor: "#c8102e", fillOpacity: 0.7 }),
        onEachFeature: (f, l) => {
          const d = document.createElement("div");
          d.appendChild(document.createTextNode(`${f.properties.date}, weapon: ${f.properties.weapon}`));
          d.appendChild(document.createElement("br"));
          d.appendChild(document.createTextNode("Partner data: emergency department"));
          l.bindTooltip(d);
        },
      }).addTo(map);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
      status.textContent = `${data.features.length} emergency-department assaults placed on the map (partner data)`;
      box.dataset.ready = "1";
    })
    .catch((e) => {
      status.textContent = `The map could not be loaded: ${e.message}.`;
    });
}
