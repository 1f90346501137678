// The partner pages' base map (the portal's and the analysts' partner data map): a Leaflet map in
// `box` (the #map element) with the tiles its data-tiles names, if any, and their attribution as text.

/** The map in `box`, centred where the points will be drawn over it. */
export function baseMap(box) {
  const map = L.map(box.id, { zoomSnap: 0.25 }).setView([51.5, -1.0], 12);
  if (box.dataset.tiles) {
    const span = document.createElement("span");
    span.textContent = box.dataset.attribution || "";
    L.tileLayer(box.dataset.tiles, { maxZoom: 18, attribution: span.innerHTML }).addTo(map);
  }
  return map;
}
