/**
 * Response schemas of the device routes: twins, telemetry receipts, history, quality reports.
 *
 * @module
 */
import { z } from "zod";
import { CHECKS } from "../../actors/devices/mod.ts";
import { pageOf } from "../params.ts";
import { count, epochMs } from "./common.ts";
import { SITE_FIELDS } from "./sites.ts";

const byCheck = z.object(
  Object.fromEntries(CHECKS.map((c) => [c, count])) as Record<
    (typeof CHECKS)[number],
    typeof count
  >,
).describe("records that failed each check");

/** A stream's full quality report. */
export const QUALITY_REPORT = z.object({
  stream: z.string().describe("the device id"),
  score: z.number().min(0).max(1).describe("moving average of the share of checks passed"),
  records: count,
  rejected: count,
  failedByType: byCheck,
  recentFailures: z.array(z.object({
    ts: epochMs.describe("the record's event time"),
    at: epochMs.describe("when it was received"),
    checks: z.array(z.enum(CHECKS)),
    rejected: z.boolean(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })),
  })),
});

/** Every stream's score, a page at a time. */
export const QUALITY_PAGE = pageOf(z.object({
  stream: z.string(),
  score: z.number().min(0).max(1),
  records: count,
  rejected: count,
}));

const TRENDS = [
  "rapidly_increasing",
  "increasing",
  "stable",
  "decreasing",
  "rapidly_decreasing",
] as const;

const location = z.union([z.string(), z.object({ lat: z.number(), lon: z.number() })])
  .nullable();

const reported = z.record(z.string(), z.object({ value: z.number(), ts: epochMs }))
  .describe("per sensor: the latest value and its event time");

const desiredValue = z.union([z.number(), z.string(), z.boolean()]);

const nullableNumber = z.number().nullable();

/** A device in a list. */
export const DEVICE_SUMMARY = z.object({
  id: z.string(),
  type: z.string().nullable(),
  location,
  status: z.enum(["online", "offline"]),
  lastSeen: epochMs.nullable(),
  messageCount: count,
  battery: nullableNumber,
  rssi: nullableNumber,
  reported,
  ...SITE_FIELDS,
});

/** `GET /api/devices`. */
export const DEVICE_PAGE = pageOf(DEVICE_SUMMARY);

/** A device's twin. */
export const DEVICE = DEVICE_SUMMARY.extend({
  registered: z.boolean(),
  sensors: z.array(z.string()).nullable(),
  heartbeatTimeout: z.number().describe("effective heartbeat timeout, ms"),
  statusSince: epochMs.nullable(),
  desired: z.record(z.string(), desiredValue),
  delta: z.record(z.string(), desiredValue).describe("desired keys that differ from reported"),
  desiredVersion: count.describe("+1 per change of the desired state; the twin's ETag"),
  desiredUpdatedAt: z.record(z.string(), epochMs).describe("per desired key, when it was set"),
  reportedVersion: count.describe("+1 per change of the reported state"),
  thresholds: z.record(
    z.string(),
    z.object({ min: z.number().optional(), max: z.number().optional() }),
  ),
  analytics: z.record(
    z.string(),
    z.object({
      trend: z.enum(TRENDS),
      anomalyScore: z.number().min(0).max(1),
      window: z.object({
        count,
        mean: nullableNumber,
        std: nullableNumber,
        min: nullableNumber,
        max: nullableNumber,
      }),
    }),
  ),
  quality: z.object({ score: z.number().min(0).max(1), failedByType: byCheck }),
});

/** `POST /api/devices/:id/telemetry`. */
export const TELEMETRY_RECEIPT = z.object({
  device: z.string(),
  messageCount: count.describe("telemetry records applied to the twin so far"),
});

/** `PATCH /api/devices/:id/desired`. */
export const DESIRED_RESULT = z.object({
  device: z.string(),
  desired: z.record(z.string(), desiredValue),
  delta: z.record(z.string(), desiredValue),
  version: count.describe("the desired state's new version (also the ETag)"),
});

/** `GET /api/devices/:id/history`. */
export const HISTORY = z.object({
  device: z.string(),
  sensor: z.string().nullable(),
  from: epochMs,
  to: epochMs,
  items: z.array(z.object({ ts: epochMs, sensor: z.string(), value: z.number() })),
  truncated: z.boolean().describe("the limit cut the answer short"),
});
