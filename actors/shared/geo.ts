/**
 * Great-circle distance on a spherical Earth: how far a device is from an edge node (routing),
 * and how fast a customer would have travelled between two logins (impossible travel).
 *
 * @module
 */

/** Mean Earth radius (km), as the haversine formula is usually given. */
export const EARTH_RADIUS_KM = 6371;

/** A position in degrees. */
export interface LatLon {
  readonly lat: number;
  readonly lon: number;
}

/**
 * Haversine distance between two positions, in km. The central angle is taken as
 * `2·atan2(√h, √(1−h))`, which stays accurate for nearly antipodal points too (where `asin`
 * of a value near 1 loses digits).
 *
 * @example
 * ```ts
 * haversineKm({ lat: 37.5665, lon: 126.978 }, { lat: 35.1796, lon: 129.0756 }); // ≈ 325 (Seoul–Busan)
 * haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }); // ≈ 20015 (half the circumference)
 * ```
 */
export function haversineKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
}

/**
 * Speed in km/h to cover `km` in `ms` milliseconds: `Infinity` for a distance covered in no
 * time, 0 for none. Computed as `km × 3,600,000 / ms` (one rounding, so a speed of exactly
 * 1,000 km/h comes out as exactly 1000).
 */
export function speedKmh(km: number, ms: number): number {
  if (km === 0) return 0;
  if (ms <= 0) return Infinity;
  return (km * 3_600_000) / ms;
}
