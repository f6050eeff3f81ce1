/**
 * Response schemas of the alert and rollup routes.
 *
 * @module
 */
import { z } from "zod";
import { SITE_FIELDS } from "./sites.ts";
import { SEVERITIES } from "../../actors/contracts.ts";
import { anyJson, count, epochMs, maybeEpochMs } from "./common.ts";

/** An alert. */
export const ALERT = z.object({
  id: z.string().describe("<source type>.<source id>.<n>"),
  source: z.string().describe("the reporting actor, type/id"),
  type: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(["raised", "acknowledged", "cleared"]),
  message: z.string().describe("the latest signal's message"),
  data: anyJson,
  raisedAt: epochMs,
  count: count.describe("signals merged into this alert"),
  lastAt: epochMs,
  acknowledgedAt: maybeEpochMs,
  clearedAt: maybeEpochMs,
  clearedBy: z.enum(["source", "operator"]).nullable(),
  ...SITE_FIELDS,
});

/** An alert cleared so long ago that only its id is known. */
export const CLEARED_LONG_AGO = z.object({
  id: z.string(),
  source: z.string(),
  status: z.literal("cleared"),
});

const nullableNumber = z.number().nullable();

const rollup = z.object({
  start: epochMs,
  end: epochMs,
  count,
  byStatus: z.record(z.string(), count),
  byMethod: z.record(z.string(), count),
  failed: count,
  failureRate: z.number().min(0).max(1),
  throughput: z.number().describe("transactions per minute"),
  amount: z.object({
    count,
    sum: z.number(),
    min: nullableNumber,
    max: nullableNumber,
    avg: nullableNumber,
    p50: nullableNumber,
    p95: nullableNumber,
    p99: nullableNumber,
  }),
  terminals: count.describe("approximate distinct terminals"),
  late: z.boolean(),
});

/** `GET /api/rollups`. */
export const ROLLUPS = z.object({
  watermark: maybeEpochMs,
  recent: z.array(rollup),
  open: z.array(rollup).describe("windows not closed yet (provisional)"),
  records: count,
  late: count,
  dropped: count,
  rejected: count,
});
