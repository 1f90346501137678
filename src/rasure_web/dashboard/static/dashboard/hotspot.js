// The geofence mini-map on a hot-spot page (an external file: the CSP allows no inline script).
const box = document.getElementById("hsmap");
const gf = JSON.parse(JSON.parse(document.getElementById("geofence").textContent));
const m = L.map(box, { scrollWheelZoom: false });
const layer = L.geoJSON(gf, { style: { color: "#c8102e", weight: 3, fillOpacity: 0.15 } }).addTo(m);
m.fitBounds(layer.getBounds(), { maxZoom: 17, padding: [20, 20] });
if (box.dataset.tiles) {
  const a = document.createElement("span");
  a.textContent = box.dataset.attribution || "";
  L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: a.innerHTML }).addTo(m);
}
box.dataset.ready = "1";
