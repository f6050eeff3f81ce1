/**
 * zod schemas of request values whose every rule JSON Schema can state, so that the API
 * document (`z.toJSONSchema`) says exactly what the server checks:
 * - {@link text}: a string whose length is counted in characters (code points), as JSON Schema
 *   counts it — zod's `.max()` counts UTF-16 units, which differ for emoji and other astral
 *   characters;
 * - {@link durationMs}: a duration within bounds, as milliseconds or an ISO-8601 duration of one
 *   unit (`PT90S`, `PT5M`, `PT36H`, `P7D`), whose bounds a pattern can state.
 *
 * @module
 */
import { z } from "zod";

/** Characters (code points) of a string. */
export function characters(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A string of `min`–`max` characters (code points), documented with those bounds. */
export function text(min: number, max: number, message?: string) {
  const what = message ??
    (min > 0 ? `must be ${min}-${max} characters long` : `must be at most ${max} characters long`);
  return z.string().refine((s) => {
    const n = characters(s);
    return n >= min && n <= max;
  }, what).meta({ minLength: min, maxLength: max });
}

/**
 * A regular expression source matching the decimal integers `lo`…`hi` (no sign, no leading
 * zeros), e.g. `integerRange(1, 720)`.
 */
export function integerRange(lo: number, hi: number): string {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || lo > hi) {
    throw new RangeError(`integerRange(${lo}, ${hi})`);
  }
  const parts: string[] = [];
  // Split at powers of ten: each piece has one digit count.
  let from = lo;
  while (from <= hi) {
    const digits = String(from).length;
    const top = Math.min(hi, 10 ** digits - 1);
    parts.push(...sameLength(String(from), String(top)));
    from = top + 1;
  }
  return parts.length === 1 ? parts[0]! : `(?:${parts.join("|")})`;
}

/** Patterns for the digit strings `a`…`b` of one length (leading zeros allowed inside). */
function sameLength(a: string, b: string): string[] {
  if (a === b) return [a];
  if (a.length === 1) return [a === "0" && b === "9" ? "\\d" : `[${a}-${b}]`];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((p) => a[0] + p);
  const rest = a.length - 1;
  const zeros = "0".repeat(rest);
  const nines = "9".repeat(rest);
  const out: string[] = [];
  let first = Number(a[0]);
  let last = Number(b[0]);
  if (a.slice(1) !== zeros) {
    out.push(...sameLength(a.slice(1), nines).map((p) => a[0] + p));
    first++;
  }
  const tail = b.slice(1) !== nines;
  if (tail) last--;
  if (first <= last) {
    const head = first === last
      ? String(first)
      : first === 0 && last === 9
      ? "\\d"
      : `[${first}-${last}]`;
    out.push(`${head}\\d{${rest}}`.replace("\\d{1}", "\\d"));
  }
  if (tail) out.push(...sameLength(zeros, b.slice(1)).map((p) => b[0] + p));
  return out;
}

const UNITS = [
  { prefix: "PT", suffix: "S", ms: 1000 },
  { prefix: "PT", suffix: "M", ms: 60_000 },
  { prefix: "PT", suffix: "H", ms: 3_600_000 },
  { prefix: "P", suffix: "D", ms: 86_400_000 },
] as const;

/** The pattern of one-unit ISO-8601 durations between `min` and `max` ms. */
export function durationPattern(min: number, max: number): RegExp {
  const forms = UNITS.flatMap(({ prefix, suffix, ms }) => {
    const lo = Math.max(1, Math.ceil(min / ms));
    const hi = Math.floor(max / ms);
    return lo > hi ? [] : [`${prefix}${integerRange(lo, hi)}${suffix}`];
  });
  return new RegExp(`^(?:${forms.join("|")})$`);
}

/** Milliseconds of a one-unit ISO-8601 duration (`PT90S`), or `null`. */
export function oneUnitMillis(value: string): number | null {
  const match = /^(PT|P)(\d{1,15})([SMHD])$/.exec(value);
  if (match === null) return null;
  const unit = UNITS.find((u) => u.prefix === match[1] && u.suffix === match[3]);
  return unit === undefined ? null : Number(match[2]) * unit.ms;
}

/** How {@link durationMs} reads a number. */
export interface DurationNumbers {
  /** Milliseconds one unit of the number stands for. @default 1 (milliseconds) */
  readonly unitMs?: number;
  /** The unit's name, for messages and the document. @default "milliseconds" */
  readonly unitName?: string;
  /** Whole units only. @default false */
  readonly whole?: boolean;
}

/**
 * A duration from a client, `min`–`max` ms: a number (of milliseconds, or of `unitMs`), or an
 * ISO-8601 duration in one unit of seconds, minutes, hours or days (`"PT90S"`, `"PT5M"`,
 * `"PT36H"`, `"P7D"`). Its output is milliseconds. Both forms state their bounds in the schema.
 */
export function durationMs(min: number, max: number, numbers: DurationNumbers = {}) {
  const { unitMs = 1, unitName = "milliseconds", whole = false } = numbers;
  const pattern = durationPattern(min, max);
  const lo = min / unitMs, hi = max / unitMs;
  const bounds = `${lo} to ${hi} ${unitName}`;
  const message = `must be a duration of ${bounds}: a number of ${unitName}, or ISO-8601 in ` +
    `one unit such as "PT90S", "PT5M", "PT36H" or "P7D"`;
  const number = whole ? z.number(message).int(message) : z.number(message);
  return z.union([
    number.min(lo, message).max(hi, message),
    z.string(message).regex(pattern, message),
  ], { error: message }).transform((value) =>
    typeof value === "number" ? value * unitMs : oneUnitMillis(value)!
  ).describe(
    `${unitName}, or an ISO-8601 duration in one unit (PT90S, PT5M, PT36H, P7D); ${bounds}`,
  );
}
