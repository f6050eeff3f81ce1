// @ts-check
/**
 * The geometry of the canvases, pure: the extent that fits the robots, the transform from map
 * units to pixels (one scale for both axes, y growing upwards), round grid steps, the easing of
 * moving things, and colours with an alpha.
 *
 * @module
 */

/** @typedef {{ minX: number, maxX: number, minY: number, maxY: number }} Extent */

/**
 * From map units to CSS pixels within the canvas, and back.
 * @typedef {object} Transform
 * @property {number} scale pixels per unit, on both axes
 * @property {{ left: number, right: number, top: number, bottom: number }} margin room for
 *   the axes' labels, in pixels
 * @property {(x: number) => number} toX
 * @property {(y: number) => number} toY
 * @property {(px: number) => number} fromX
 * @property {(py: number) => number} fromY
 */

/** The margin of the map's plot, for the axes' labels. */
const MAP_MARGIN = Object.freeze({ left: 44, right: 18, top: 16, bottom: 30 });

/**
 * A round step (1, 2 or 5 times a power of ten) that cuts `span` into about `target` parts.
 * @param {number} span
 * @param {number} target
 */
export function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/**
 * The extent that shows every point with room around it: each side padded by 12 % of the
 * larger of its width and height (taken as at least 2 units); [-1, 1] on both axes for no
 * points.
 * @param {Iterable<readonly [number, number]>} points
 * @returns {Extent}
 */
export function fitExtent(points) {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (minX === Infinity) return { minX: -1, maxX: 1, minY: -1, maxY: 1 };
  const span = Math.max(maxX - minX, maxY - minY, 2);
  const pad = span * 0.12;
  return { minX: minX - pad, maxX: maxX + pad, minY: minY - pad, maxY: maxY + pad };
}

/**
 * The map's transform for an extent drawn in `width` × `height` CSS pixels: the extent fits
 * both axes at one scale, centred, inside the margin for the labels.
 * @param {Extent} v
 * @param {number} width
 * @param {number} height
 * @returns {Transform}
 */
export function transformFor(v, width, height) {
  const margin = MAP_MARGIN;
  const w = Math.max(10, width - margin.left - margin.right);
  const h = Math.max(10, height - margin.top - margin.bottom);
  const scale = Math.min(w / (v.maxX - v.minX), h / (v.maxY - v.minY));
  const cx = (v.minX + v.maxX) / 2;
  const cy = (v.minY + v.maxY) / 2;
  const ox = margin.left + w / 2;
  const oy = margin.top + h / 2;
  return {
    scale,
    margin,
    toX: (x) => ox + (x - cx) * scale,
    toY: (y) => oy - (y - cy) * scale,
    fromX: (px) => cx + (px - ox) / scale,
    fromY: (py) => cy - (py - oy) / scale,
  };
}

/**
 * One frame's step of a value easing towards `to`: 22 % of the way, or `to` itself once within
 * a thousandth of it (relative to `to`, absolute below 1), so that easing ends.
 * @param {number} from
 * @param {number} to
 */
export function approach(from, to) {
  const next = from + (to - from) * 0.22;
  return Math.abs(to - next) > 1e-3 * Math.max(1, Math.abs(to)) ? next : to;
}

/**
 * A `#rrggbb` colour (as the style sheet's variables hold them) with an alpha, as `rgba()`;
 * any other colour as it is.
 * @param {string} color
 * @param {number} alpha
 */
export function withAlpha(color, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (m === null || m[1] === undefined) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
