/**
 * Data quality of device telemetry: eight checks on every incoming record, a
 * per-stream quality score kept as an exponential moving average, and a report of failed
 * checks by type.
 *
 * A **stream** is one device's telemetry: its records are what the checks judge (schema,
 * completeness, freshness, duplicates and referential integrity are properties of a whole
 * record; range, pattern and statistical anomaly are checked per reading, with the anomaly
 * statistics kept per sensor).
 *
 * A record that fails `schema` is rejected — not applied, counted, and answered with the
 * reasons. Every other check only flags: the record is applied as usual (nothing valid is
 * dropped). A record's score is the share of the enabled checks it passed (0 when rejected);
 * the stream's score is the EMA of those, starting at 1.
 *
 * @module
 */
import type { FieldIssue } from "../../runtime/mod.ts";
import {
  type DedupMemory,
  emptyDedup,
  type KeyField,
  keyHash,
  minuteOf,
  remember,
  seen,
} from "./dedup.ts";
import { emptyRolling, rollingAdd, rollingMoments, type RollingStats } from "./rolling_stats.ts";
import type { TelemetryRecord } from "./telemetry.ts";
import { absZ } from "./zscore.ts";

/** The eight checks, in the order they run. */
export const CHECKS = [
  "schema",
  "completeness",
  "freshness",
  "range",
  "pattern",
  "duplicates",
  "referential",
  "anomaly",
] as const;

/** A check's name. */
export type CheckName = (typeof CHECKS)[number];

/** A field's expected type: any number, or a whole number. */
export type FieldType = "number" | "integer";

/** A value range rule (all bounds inclusive). */
export interface RangeRule {
  readonly min?: number;
  readonly max?: number;
  /** The only values allowed. */
  readonly allowed?: readonly number[];
}

/**
 * Rules of the eight checks, resolved (times in milliseconds, patterns compiled). Field names
 * in `required`, `types`, `fields` and `range` are sensor names, except `battery` and `rssi`,
 * which name those fields of the record.
 */
export interface QualityRules {
  /** EMA weight of each record's score. @default 0.1 */
  readonly alpha: number;
  readonly schema: {
    readonly enabled: boolean;
    /** Fields every record must carry. @default [] */
    readonly required: readonly string[];
    /** Expected types of fields (checked when present). @default {} */
    readonly types: Readonly<Record<string, FieldType>>;
    /**
     * Strict mode: every reading must be a declared sensor (registered, required or typed).
     * @default false
     */
    readonly strict: boolean;
    /** Most distinct sensors a device may have; a record adding more is rejected. @default 64 */
    readonly maxSensors: number;
  };
  readonly completeness: {
    readonly enabled: boolean;
    /** Fields counted; `null`: the device's registered sensors. @default null */
    readonly fields: readonly string[] | null;
    /** Largest share of those fields that may be missing. @default 0.1 */
    readonly maxNullRatio: number;
  };
  readonly freshness: {
    readonly enabled: boolean;
    /** Largest age (receive time minus event time), ms. @default 300000 */
    readonly maxAge: number;
  };
  readonly range: {
    readonly enabled: boolean;
    readonly rules: Readonly<Record<string, RangeRule>>;
  };
  readonly pattern: {
    readonly enabled: boolean;
    /** The device id must match. @default null (any) */
    readonly deviceId: RegExp | null;
    /** Every sensor name must match. @default null (any) */
    readonly sensor: RegExp | null;
  };
  readonly duplicates: {
    readonly enabled: boolean;
    readonly keyFields: readonly KeyField[];
    /** ms. @default 3600000 */
    readonly window: number;
    /** Most keys remembered per stream. @default 256 */
    readonly maxKeys: number;
  };
  readonly referential: { readonly enabled: boolean };
  readonly anomaly: {
    readonly enabled: boolean;
    /** A reading with |z| above this fails. @default 3.5 */
    readonly z: number;
    /** How many recent values the statistics cover. @default 1000 */
    readonly values: number;
    /** Buckets they are kept in (see rolling_stats.ts). @default 10 */
    readonly buckets: number;
    /** No verdict before this many values. @default 10 */
    readonly minValues: number;
  };
  /** Failures kept in the report (each with at most 4 issues). @default 5 */
  readonly recentFailures: number;
}

/** One failed record, as the report lists it. */
export interface QualityFailure {
  /** The record's event time. */
  readonly ts: number;
  /** When it was received. */
  readonly at: number;
  readonly checks: readonly CheckName[];
  readonly rejected: boolean;
  readonly issues: readonly FieldIssue[];
}

/** A stream's quality state (plain JSON, part of the device's state). */
export interface StreamQuality {
  /** EMA of the record scores, in [0, 1]. */
  score: number;
  /** Records applied (rejected ones not included). */
  records: number;
  /** Records rejected for failing `schema`. */
  rejected: number;
  /** Failed records per check. */
  failed: Record<CheckName, number>;
  /** The last failures, oldest first. */
  recent: QualityFailure[];
  dedup: DedupMemory;
  /** Per sensor: statistics of its last values, for the anomaly check. */
  stats: Record<string, RollingStats>;
}

/** What the checks need to know besides the record. */
export interface RecordContext {
  readonly deviceId: string;
  /** Receive time. */
  readonly now: number;
  readonly registered: boolean;
  /** Registered sensors; `null` when the registration names none (any sensor is fine). */
  readonly sensors: readonly string[] | null;
  /** Sensors the device has reported so far (keys are what matter). */
  readonly known: Readonly<Record<string, unknown>>;
}

/** The verdict on one record. */
export interface QualityVerdict {
  /** Failed `schema`: not to be applied. */
  readonly rejected: boolean;
  readonly failed: readonly CheckName[];
  readonly issues: readonly FieldIssue[];
  /** Share of the enabled checks passed. */
  readonly score: number;
}

/** Issues kept per failure in the report (the state stays small). */
const MAX_ISSUES = 4;

const PASSED: QualityVerdict = Object.freeze({
  rejected: false,
  failed: Object.freeze([]) as readonly CheckName[],
  issues: Object.freeze([]) as readonly FieldIssue[],
  score: 1,
});

/** A stream with no records. */
export function emptyQuality(): StreamQuality {
  return {
    score: 1,
    records: 0,
    rejected: 0,
    failed: {
      schema: 0,
      completeness: 0,
      freshness: 0,
      range: 0,
      pattern: 0,
      duplicates: 0,
      referential: 0,
      anomaly: 0,
    },
    recent: [],
    dedup: emptyDedup(),
    stats: {},
  };
}

function fieldValue(record: TelemetryRecord, name: string): number | undefined {
  if (name === "battery" || name === "rssi") return record[name];
  return record.readings[name];
}

/**
 * The `schema` check alone: required fields present, types right, (strict) only declared
 * sensors, and no more than `maxSensors` distinct sensors. Returns the issues (empty: passed).
 */
export function schemaIssues(
  record: TelemetryRecord,
  ctx: RecordContext,
  rules: QualityRules["schema"],
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const name of rules.required) {
    if (fieldValue(record, name) === undefined) {
      issues.push({ path: pathOf(name), message: "is required" });
    }
  }
  for (const name in rules.types) {
    const v = fieldValue(record, name);
    if (v !== undefined && rules.types[name] === "integer" && !Number.isInteger(v)) {
      issues.push({ path: pathOf(name), message: `must be an integer, got ${v}` });
    }
  }
  let added = 0;
  for (const sensor in record.readings) {
    if (rules.strict && !declared(sensor, ctx, rules)) {
      issues.push({
        path: `readings.${sensor}`,
        message: "is not a declared sensor of this device (strict schema)",
      });
    }
    if (!Object.hasOwn(ctx.known, sensor)) added++;
  }
  if (added > 0) {
    const total = Object.keys(ctx.known).length + added;
    if (total > rules.maxSensors) {
      issues.push({
        path: "readings",
        message: `would give the device ${total} sensors; at most ${rules.maxSensors} are kept`,
      });
    }
  }
  return issues;
}

function declared(sensor: string, ctx: RecordContext, rules: QualityRules["schema"]): boolean {
  return (ctx.sensors?.includes(sensor) ?? false) || rules.required.includes(sensor) ||
    Object.hasOwn(rules.types, sensor);
}

function pathOf(name: string): string {
  return name === "battery" || name === "rssi" ? name : `readings.${name}`;
}

/** Share of `fields` absent from the record; 0 for no fields. */
export function nullRatio(record: TelemetryRecord, fields: readonly string[]): number {
  if (fields.length === 0) return 0;
  let missing = 0;
  for (const f of fields) if (fieldValue(record, f) === undefined) missing++;
  return missing / fields.length;
}

/** Issues of a value against a range rule (bounds inclusive). */
export function rangeIssue(value: number, rule: RangeRule): string | null {
  if (rule.min !== undefined && value < rule.min) {
    return `${value} is below the minimum ${rule.min}`;
  }
  if (rule.max !== undefined && value > rule.max) {
    return `${value} is above the maximum ${rule.max}`;
  }
  if (rule.allowed !== undefined && !rule.allowed.includes(value)) {
    return `${value} is not one of ${rule.allowed.join(", ")}`;
  }
  return null;
}

/**
 * Runs the checks on a record and updates the stream: counters, score, recent failures, the
 * duplicate memory and the per-sensor statistics. A rejected record only counts as rejected.
 *
 * O(readings) per record, plus a scan of the duplicate memory (a native string search over
 * at most `8 * maxKeys` characters).
 */
export function assess(
  q: StreamQuality,
  record: TelemetryRecord,
  ctx: RecordContext,
  rules: QualityRules,
): QualityVerdict {
  let enabled = 0;
  let failed: CheckName[] | null = null;
  let issues: FieldIssue[] | null = null;
  const fail = (check: CheckName, path: string, message: string) => {
    if (failed === null) failed = [];
    if (failed[failed.length - 1] !== check) failed.push(check);
    (issues ??= []).push({ path, message: `${check}: ${message}` });
  };

  if (rules.schema.enabled) {
    enabled++;
    const problems = schemaIssues(record, ctx, rules.schema);
    if (problems.length > 0) {
      const verdict: QualityVerdict = {
        rejected: true,
        failed: ["schema"],
        issues: problems,
        score: 0,
      };
      q.rejected++;
      q.failed.schema++;
      q.score += rules.alpha * (0 - q.score);
      keep(q, record, ctx.now, verdict, rules.recentFailures);
      return verdict;
    }
  }

  if (rules.completeness.enabled) {
    enabled++;
    const fields = rules.completeness.fields ?? ctx.sensors ?? [];
    const ratio = nullRatio(record, fields);
    if (ratio > rules.completeness.maxNullRatio) {
      fail(
        "completeness",
        "readings",
        `${Math.round(ratio * 1000) / 10}% of ${fields.length} expected fields missing ` +
          `(at most ${rules.completeness.maxNullRatio * 100}%)`,
      );
    }
  }

  if (rules.freshness.enabled) {
    enabled++;
    const age = ctx.now - record.ts;
    if (age > rules.freshness.maxAge) {
      fail("freshness", "ts", `${age / 1000} s old (at most ${rules.freshness.maxAge / 1000} s)`);
    }
  }

  if (rules.range.enabled) {
    enabled++;
    const ranges = rules.range.rules;
    for (const name in ranges) {
      const v = fieldValue(record, name);
      if (v === undefined) continue;
      const problem = rangeIssue(v, ranges[name]!);
      if (problem !== null) fail("range", pathOf(name), problem);
    }
  }

  if (rules.pattern.enabled) {
    enabled++;
    const { deviceId, sensor } = rules.pattern;
    if (deviceId !== null && !deviceId.test(ctx.deviceId)) {
      fail("pattern", "id", `device id does not match ${deviceId.source}`);
    }
    if (sensor !== null) {
      for (const name in record.readings) {
        if (!sensor.test(name)) {
          fail("pattern", `readings.${name}`, `sensor name does not match ${sensor.source}`);
        }
      }
    }
  }

  if (rules.duplicates.enabled) {
    enabled++;
    const d = rules.duplicates;
    const hash = keyHash(record, d.keyFields);
    const minute = minuteOf(record.ts);
    const windowMinutes = Math.ceil(d.window / 60_000);
    if (seen(q.dedup, hash, minute, windowMinutes)) {
      fail("duplicates", "", `same ${d.keyFields.join(", ")} as a record within the window`);
    } else remember(q.dedup, hash, minute, windowMinutes, d.maxKeys);
  }

  if (rules.referential.enabled) {
    enabled++;
    if (!ctx.registered) fail("referential", "id", "the device is not registered");
    else if (ctx.sensors !== null) {
      for (const name in record.readings) {
        if (!ctx.sensors.includes(name)) {
          fail("referential", `readings.${name}`, "is not a registered sensor of this device");
        }
      }
    }
  }

  if (rules.anomaly.enabled) {
    enabled++;
    const a = rules.anomaly;
    const size = Math.max(1, Math.ceil(a.values / a.buckets));
    for (const name in record.readings) {
      const v = record.readings[name]!;
      const stats = q.stats[name] ??= emptyRolling();
      const m = rollingMoments(stats);
      if (m.n >= a.minValues) {
        const z = absZ(v, m.mean, m.std);
        if (z > a.z) {
          fail("anomaly", `readings.${name}`, `z-score ${round(z)} exceeds ${a.z}`);
        }
      }
      rollingAdd(stats, v, size, a.buckets);
    }
  }

  q.records++;
  const failedChecks = failed as CheckName[] | null;
  if (failedChecks === null) {
    if (enabled > 0) q.score += rules.alpha * (1 - q.score);
    return PASSED;
  }
  for (const check of failedChecks) q.failed[check]++;
  const score = enabled === 0 ? 1 : (enabled - failedChecks.length) / enabled;
  q.score += rules.alpha * (score - q.score);
  const verdict: QualityVerdict = {
    rejected: false,
    failed: failedChecks,
    issues: issues as FieldIssue[] | null ?? [],
    score,
  };
  keep(q, record, ctx.now, verdict, rules.recentFailures);
  return verdict;
}

function keep(
  q: StreamQuality,
  record: TelemetryRecord,
  at: number,
  verdict: QualityVerdict,
  limit: number,
): void {
  if (limit <= 0) return;
  q.recent.push({
    ts: record.ts,
    at,
    checks: verdict.failed,
    rejected: verdict.rejected,
    issues: verdict.issues.length > MAX_ISSUES
      ? verdict.issues.slice(0, MAX_ISSUES)
      : verdict.issues,
  });
  if (q.recent.length > limit) q.recent.splice(0, q.recent.length - limit);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The quality report of a stream. */
export interface QualityReport {
  readonly stream: string;
  readonly score: number;
  readonly records: number;
  readonly rejected: number;
  readonly failedByType: Readonly<Record<CheckName, number>>;
  readonly recentFailures: readonly QualityFailure[];
}

/** The report of a stream, for the API. */
export function reportOf(stream: string, q: StreamQuality): QualityReport {
  return {
    stream,
    score: q.score,
    records: q.records,
    rejected: q.rejected,
    failedByType: { ...q.failed },
    recentFailures: q.recent,
  };
}
