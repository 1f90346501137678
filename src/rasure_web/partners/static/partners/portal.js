// The partner portal's map (/partners/). An external file: the Content-Security-Policy allows no
// inline script. Names and figures reach the page only as text (tooltips are built from text nodes).
import { baseMap } from "./basemap.js";

const box = document.getElementById("map");
if (box) {
  const map = baseMap(box);
  const status = document.getElementById("map-status");
  const tip = (...lines) => {
    const d = document.createElement("div");
    lines.forEach((line, i) => {
      if (i) d.appendChild(document.createElement("br"));
      d.appendChild(document.createTextNode(line));
    });
    return d;
  };
  const fill = (shade) =>
    shade === null || shade === undefined
      ? { fillColor: "#d8dde6", fillOpacity: 0.55, dashArray: "3 3" }
      : { fillColor: "#0b3d91", fillOpacity: 0.12 + 0.6 * shade };
  fetch(box.dataset.url, { credentials: "same-origin" })
    .then((r) => {
      if (!r.ok) throw new Error(r.status === 403 ? "not shared with you any more (reload the page)" : `error ${r.status}`);
      return r.json();
    })
    .then((data) => {
      const hoods = L.geoJSON(data.neighbourhoods, {
        style: (f) => ({ color: "#33425b", weight: 1, ...fill(f.properties.shade) }),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          layer.bindTooltip(tip(p.name, p.crimes ? `Serious violence, last 12 months: ${p.crimes}` : ""), { sticky: true });
        },
      }).addTo(map);
      L.geoJSON(data.hotspots, {
        style: () => ({ color: "#c8102e", weight: 3, fillOpacity: 0.1 }),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          layer.bindTooltip(tip(`Hot spot: ${p.name}`, `${p.period} hot spot, rank ${p.rank}`));
        },
      }).addTo(map);
      if (hoods.getLayers().length) map.fitBounds(hoods.getBounds(), { padding: [10, 10] });
      status.textContent = `${data.neighbourhoods.features.length} neighbourhoods, ${data.hotspots.features.length} hot spots`;
      box.dataset.ready = "1";
    })
    .catch((e) => {
      status.textContent = `The map could not be loaded: ${e.message}.`;
    });
}
