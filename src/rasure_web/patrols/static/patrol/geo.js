// Geometry on the phone: distances, "am I inside the hot spot?", and reading the position.
// Display only: the dose that counts is computed on the server from the pings.

const R = 6371008.8;
const rad = (d) => (d * Math.PI) / 180;

export function haversine(lat1, lon1, lat2, lon2) {
  const dp = rad(lat2 - lat1);
  const dl = rad(lon2 - lon1);
  const a = Math.sin(dp / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dl / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

function rings(geojson) {
  if (!geojson) return [];
  if (geojson.type === "Polygon") return [geojson.coordinates];
  if (geojson.type === "MultiPolygon") return geojson.coordinates;
  return [];
}

function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** True when (lon, lat) is inside the GeoJSON Polygon or MultiPolygon (holes respected). */
export function inGeofence(lon, lat, geojson) {
  return rings(geojson).some(
    (poly) => poly.length > 0 && inRing(lon, lat, poly[0]) && !poly.slice(1).some((hole) => inRing(lon, lat, hole)),
  );
}

/** Metres from (lon, lat) to the nearest edge of the geofence (a local flat approximation). */
export function distanceToEdge(lon, lat, geojson) {
  const kx = R * Math.cos(rad(lat)) * (Math.PI / 180);
  const ky = R * (Math.PI / 180);
  let best = Infinity;
  for (const poly of rings(geojson)) {
    for (const ring of poly) {
      for (let i = 1; i < ring.length; i++) {
        const ax = (ring[i - 1][0] - lon) * kx;
        const ay = (ring[i - 1][1] - lat) * ky;
        const bx = (ring[i][0] - lon) * kx;
        const by = (ring[i][1] - lat) * ky;
        const dx = bx - ax;
        const dy = by - ay;
        const len2 = dx * dx + dy * dy;
        const t = len2 > 0 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2)) : 0;
        best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
      }
    }
  }
  return best;
}

export function formatDistance(m) {
  if (!Number.isFinite(m)) return "";
  if (m < 1000) return `${Math.max(10, Math.round(m / 10) * 10)} m`;
  return `${(m / 1000).toFixed(m < 10000 ? 1 : 0)} km`;
}

/** Walking minutes at about 4.8 km/h. */
export function walkMinutes(m) {
  return Math.max(1, Math.round(m / 80));
}

/** Links that open the phone's own maps app with directions to a place. */
export function directionsLinks(lat, lon, name) {
  const ll = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  const web = `https://www.google.com/maps/dir/?api=1&destination=${ll}&travelmode=walking`;
  const ua = navigator.userAgent || "";
  if (/Android/i.test(ua)) {
    return { primary: `geo:${ll}?q=${ll}(${encodeURIComponent(name)})`, external: false, web };
  }
  if (/iPhone|iPad|iPod/i.test(ua)) {
    return { primary: `https://maps.apple.com/?daddr=${ll}&dirflg=w`, external: true, web };
  }
  return { primary: web, external: true, web };
}

const WATCH_OPTIONS = { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 };
const SAMPLE_OPTIONS = { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 };

/** Follows the position for the screens (watchPosition); `onChange(position|null, error|null)`. */
export class Locator {
  constructor(onChange) {
    this.onChange = onChange;
    this.last = null;
    this.error = null;
    this.watchId = null;
  }

  start() {
    if (this.watchId !== null) return;
    if (!("geolocation" in navigator)) {
      this.error = { code: 0, message: "This phone's browser cannot share its location." };
      this.onChange(null, this.error);
      return;
    }
    this.watchId = navigator.geolocation.watchPosition(
      (pos) => {
        this.last = pos;
        this.error = null;
        this.onChange(pos, null);
      },
      (err) => {
        this.error = err;
        this.onChange(this.last, err);
      },
      WATCH_OPTIONS,
    );
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
  }
}

/** One fresh fix (for a ping). Resolves with the position, rejects with the error. */
export function samplePosition() {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) {
      reject(new Error("no geolocation"));
      return;
    }
    navigator.geolocation.getCurrentPosition(resolve, reject, SAMPLE_OPTIONS);
  });
}
