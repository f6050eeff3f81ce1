// @ts-check
/**
 * How the dashboard writes numbers, times, places and names. Pure: no DOM and no clock (the
 * present is passed in), so it runs, and is tested, in Deno as in the browser. Numbers and
 * dates follow the browser's locale.
 *
 * @module
 */

/** @param {number} digits */
const numberFormat = (digits) =>
  new Intl.NumberFormat(undefined, { maximumFractionDigits: digits });

// Formatters made once: toLocaleString() builds a new one on every call.
const WHOLE = numberFormat(0);
const TENTHS = numberFormat(1);
const HUNDREDTHS = numberFormat(2);
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** The unit written after a sensor's value; a sensor not listed has none. */
const UNITS = /** @type {Readonly<Record<string, string>>} */ ({
  temperature: "°C",
  humidity: "%",
  motorRPM: " rpm",
  vibration: "",
  battery: "%",
});

/**
 * An integer with thousands separators.
 * @param {number} n
 */
export function fmtCount(n) {
  return WHOLE.format(n);
}

/**
 * A measurement: two decimals below 100, one below 1000, none above; exponent notation from a
 * million and below 0.01 (0 stays 0); "—" for anything but a finite number.
 * @param {unknown} v
 */
export function fmtNumber(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "—";
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e6 || abs < 0.01)) return v.toExponential(2);
  return (abs >= 1000 ? WHOLE : abs >= 100 ? TENTHS : HUNDREDTHS).format(v);
}

/**
 * A sensor's value with its unit, as a reading's chip shows it.
 * @param {string} sensor
 * @param {number} value
 */
export function fmtReading(sensor, value) {
  return `${fmtNumber(value)}${UNITS[sensor] ?? ""}`;
}

/**
 * How long before `now` the time `ms` was (both epoch ms): "just now" under 2 s, then seconds,
 * minutes, hours, and the date from two days on; "never" for no time.
 * @param {number | null | undefined} ms
 * @param {number} now
 */
export function fmtAgo(ms, now) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return DATE.format(ms);
}

/**
 * A date and time to the second (epoch ms).
 * @param {number} ms
 */
export function fmtTime(ms) {
  return DATE_TIME.format(ms);
}

/**
 * A grid label on an axis cut every `step`: as many decimals as the step needs (at most 6), and
 * exactly "0" on the axis itself (not a rounding error's "-0.00").
 * @param {number} v
 * @param {number} step
 */
export function fmtTick(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  return (Math.abs(v) < step / 1e6 ? 0 : v).toFixed(Math.min(digits, 6));
}

/**
 * A machine name for people: `"threshold_violation"` → `"Threshold violation"`.
 * @param {string} type
 */
export function humanize(type) {
  const s = String(type).replace(/[_.-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * A device's location: its name as given, or latitude and longitude to four decimals; "" for
 * none.
 * @param {import("./store.js").Place | null | undefined} location
 */
export function placeOf(location) {
  if (typeof location === "string") return location;
  if (location && typeof location.lat === "number" && typeof location.lon === "number") {
    return `${location.lat.toFixed(4)}, ${location.lon.toFixed(4)}`;
  }
  return "";
}
