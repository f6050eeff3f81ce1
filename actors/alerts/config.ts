/**
 * Configuration of the alerts and analytics area: alert rules, webhooks, and the per-minute
 * transaction rollups. Every threshold has a default; a deployment overrides any part.
 *
 * @module
 */
import { ConfigError, type Duration, toMillis } from "../../runtime/mod.ts";
import { SEVERITIES, type Severity } from "../contracts.ts";
import { checkCount, checkRange } from "../shared/config_checks.ts";
import { ENTITY_ID } from "../shared/ids.ts";
import type { Backoff } from "./outbox.ts";
import { type AlertRule, checkRules } from "./rules.ts";

/** A webhook channel. */
export interface WebhookConfig {
  /** Where announcements are POSTed (http or https). */
  readonly url: string;
  /** Extra request headers (an `Authorization` for the receiver, say). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Delay after the first failure. @default "PT1S" */
  readonly initialBackoff?: Duration;
  /** Growth of the delay per failure. @default 2 */
  readonly backoffFactor?: number;
  /** Longest delay. @default "PT5M" */
  readonly maxBackoff?: Duration;
  /** Attempts per delivery, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** Deadline of one request. @default "PT10S" */
  readonly timeout?: Duration;
  /** Deliveries the outbox holds before giving up the oldest. @default 1000 */
  readonly outboxLimit?: number;
}

/** The per-minute transaction rollups: the operational view of payments, and its two alerts. */
export interface RollupConfig {
  /** Rollup window (tumbling, event time). @default "PT1M" */
  readonly window: Duration;
  /** Watermark lag behind the newest transaction. @default "PT5S" */
  readonly outOfOrderness: Duration;
  /** How long after its window closed a late transaction still updates it. @default "PT1M" */
  readonly allowedLateness: Duration;
  /** Statuses that count as failures. @default ["rejected"] */
  readonly failedStatuses: readonly string[];
  /** A failure rate above this raises HIGH_FAILURE_RATE. @default 0.05 */
  readonly failureRateAbove: number;
  /** Fewer transactions than this in a window never count as a high failure rate. @default 1 */
  readonly failureMinTransactions: number;
  /** @default "critical" */
  readonly failureSeverity: Severity;
  /** Throughput (transactions per minute) below this raises LOW_THROUGHPUT. @default 100 */
  readonly throughputBelow: number;
  /** Low throughput is a warning: severity medium. @default "medium" */
  readonly throughputSeverity: Severity;
  /** Empty windows reported after transactions stop, before the rollup goes quiet. @default 5 */
  readonly idleWindows: number;
  /** Closed windows kept for queries. @default 60 */
  readonly keepWindows: number;
}

/** Configuration of this area: every threshold and weight, each with its default. */
export interface AlertsConfig {
  /** Rules applied to every signal, in order (see `rules.ts`). @default [] */
  readonly rules: readonly AlertRule[];
  /** Webhook channels by name (1–128 letters, digits, `_` or `-`). @default {} */
  readonly webhooks: Readonly<Record<string, WebhookConfig>>;
  /** Cleared alerts kept in each source's book (its journal keeps all). @default 50 */
  readonly closedPerSource: number;
  /** How webhooks are called (injectable for tests). @default globalThis.fetch */
  readonly fetch: typeof fetch;
  /** Per-minute transaction rollups. */
  readonly rollup: Partial<RollupConfig>;
}

/** A webhook with its defaults filled in. */
export interface ResolvedWebhook {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly backoff: Backoff;
  readonly timeoutMs: number;
  readonly outboxLimit: number;
}

/** The rollup settings, durations in milliseconds. */
export interface ResolvedRollup
  extends Omit<RollupConfig, "window" | "outOfOrderness" | "allowedLateness"> {
  readonly windowMs: number;
  readonly outOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
}

/** The configuration with every default filled in and checked. */
export interface ResolvedAlertsConfig {
  readonly rules: readonly AlertRule[];
  readonly webhooks: Readonly<Record<string, ResolvedWebhook>>;
  readonly closedPerSource: number;
  readonly fetch: typeof fetch;
  readonly rollup: ResolvedRollup;
}

/**
 * The rollup defaults: one-minute windows, 5 s out-of-orderness, a minute of allowed lateness;
 * a failure rate above 5 % is critical, fewer than 100 transactions a minute a warning.
 */
export const DEFAULT_ROLLUP: RollupConfig = {
  window: "PT1M",
  outOfOrderness: "PT5S",
  allowedLateness: "PT1M",
  failedStatuses: ["rejected"],
  failureRateAbove: 0.05,
  failureMinTransactions: 1,
  failureSeverity: "critical",
  throughputBelow: 100,
  throughputSeverity: "medium",
  idleWindows: 5,
  keepWindows: 60,
};

/**
 * Fills in defaults and checks everything.
 * @throws {ConfigError} naming the setting that is wrong
 */
export function resolveAlertsConfig(config: Partial<AlertsConfig> = {}): ResolvedAlertsConfig {
  const webhooks: Record<string, ResolvedWebhook> = {};
  for (const [name, hook] of Object.entries(config.webhooks ?? {})) {
    webhooks[name] = resolveWebhook(name, hook);
  }
  const rules = checkRules(config.rules ?? [], Object.keys(webhooks));
  const r = { ...DEFAULT_ROLLUP, ...config.rollup };
  const severity = (v: Severity, what: string) => {
    if (!SEVERITIES.includes(v)) {
      throw new ConfigError(`${what} must be one of ${SEVERITIES.join(", ")}, got ${v}`);
    }
    return v;
  };
  const windowMs = toMillis(r.window, "alerts.rollup.window");
  if (windowMs <= 0) throw new ConfigError("alerts.rollup.window must be positive");
  return {
    rules,
    webhooks,
    closedPerSource: checkCount(config.closedPerSource ?? 50, 0, "alerts.closedPerSource"),
    fetch: config.fetch ?? ((input, init) => fetch(input, init)),
    rollup: {
      windowMs,
      outOfOrdernessMs: toMillis(r.outOfOrderness, "alerts.rollup.outOfOrderness"),
      allowedLatenessMs: toMillis(r.allowedLateness, "alerts.rollup.allowedLateness"),
      failedStatuses: [...r.failedStatuses],
      failureRateAbove: checkRange(r.failureRateAbove, 0, 1, "alerts.rollup.failureRateAbove"),
      failureMinTransactions: checkCount(
        r.failureMinTransactions,
        1,
        "alerts.rollup.failureMinTransactions",
      ),
      failureSeverity: severity(r.failureSeverity, "alerts.rollup.failureSeverity"),
      throughputBelow: checkRange(r.throughputBelow, 0, 1e12, "alerts.rollup.throughputBelow"),
      throughputSeverity: severity(r.throughputSeverity, "alerts.rollup.throughputSeverity"),
      idleWindows: checkCount(r.idleWindows, 0, "alerts.rollup.idleWindows"),
      keepWindows: checkCount(r.keepWindows, 1, "alerts.rollup.keepWindows"),
    },
  };
}

function resolveWebhook(name: string, hook: WebhookConfig): ResolvedWebhook {
  const what = `alerts.webhooks.${name}`;
  if (!ENTITY_ID.test(name)) {
    throw new ConfigError(`${what}: webhook names hold 1-128 letters, digits, _ or -`);
  }
  let url: URL;
  try {
    url = new URL(hook.url);
  } catch {
    throw new ConfigError(`${what}.url ${JSON.stringify(hook.url)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${what}.url must be http or https, got ${url.protocol}`);
  }
  const initialMs = toMillis(hook.initialBackoff ?? "PT1S", `${what}.initialBackoff`);
  const maxMs = toMillis(hook.maxBackoff ?? "PT5M", `${what}.maxBackoff`);
  if (maxMs < initialMs) throw new ConfigError(`${what}.maxBackoff is below initialBackoff`);
  return {
    url: url.href,
    headers: { ...hook.headers },
    backoff: {
      initialMs,
      maxMs,
      factor: checkRange(hook.backoffFactor ?? 2, 1, 100, `${what}.backoffFactor`),
      maxAttempts: checkCount(hook.maxAttempts ?? 8, 1, `${what}.maxAttempts`),
    },
    timeoutMs: toMillis(hook.timeout ?? "PT10S", `${what}.timeout`),
    outboxLimit: checkCount(hook.outboxLimit ?? 1000, 1, `${what}.outboxLimit`),
  };
}
