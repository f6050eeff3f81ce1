/**
 * Alert rules — configurable conditions and the actions they trigger: a small declarative
 * format, checked when the configuration is built and applied to every signal.
 *
 * Rules run in order; each sees the signal as the rules before it left it (so a rule can match
 * a severity an earlier rule re-mapped). A rule whose `when` matches applies its `then`:
 * `suppress` drops the signal (nothing is raised or merged, and no later rule runs),
 * `severity` re-maps the severity, `webhooks` routes the alert's announcements to webhooks,
 * `stop` ends the evaluation. An empty `when` matches everything.
 *
 * Announcements of an acknowledgement or a clear are routed by running the rules again over the
 * alert as it stands (its severity as raised, after any re-mapping).
 *
 * @example
 * ```ts
 * const rules: AlertRule[] = [
 *   // Door sensors of the test bench are noise.
 *   { name: "bench", when: { source: "device/bench-*" }, then: { suppress: true } },
 *   // A very hot reading is critical, not just high.
 *   {
 *     name: "hot",
 *     when: { type: "threshold_violation", data: { "value": { gt: 80 } } },
 *     then: { severity: "critical" },
 *   },
 *   // Everything high or worse pages the on-call webhook, also when acknowledged and cleared.
 *   {
 *     name: "page",
 *     when: { minSeverity: "high" },
 *     then: { webhooks: ["oncall"], notifyOn: ["raised", "escalated", "acknowledged", "cleared"] },
 *   },
 * ];
 * ```
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, type JsonValue } from "../../runtime/mod.ts";
import { SEVERITIES, type Severity } from "../contracts.ts";
import { ALERT_EVENTS, type AlertEventName, rank } from "./alert.ts";

/** A comparison of one `data` field (a dotted path, e.g. `"reading.value"`). */
export interface Comparison {
  readonly eq?: string | number | boolean | null;
  readonly ne?: string | number | boolean | null;
  readonly gt?: number;
  readonly gte?: number;
  readonly lt?: number;
  readonly lte?: number;
  readonly in?: readonly (string | number | boolean | null)[];
  /** The field is present (true) or absent (false). */
  readonly exists?: boolean;
}

/** When a rule applies: every given part must match. */
export interface RuleCondition {
  /** Alert type, or any of several. */
  readonly type?: string | readonly string[];
  /** Source pattern(s): `*` matches any run of characters, e.g. `device/*`, `session/vip-*`. */
  readonly source?: string | readonly string[];
  /** Exactly one of these severities. */
  readonly severity?: Severity | readonly Severity[];
  /** At least this severity. */
  readonly minSeverity?: Severity;
  /** Comparisons of `data` fields, all of which must hold. */
  readonly data?: Readonly<Record<string, Comparison>>;
}

/** What a matching rule does. */
export interface RuleAction {
  /** Drop the signal: no alert is raised or merged. */
  readonly suppress?: boolean;
  /** Re-map the severity. */
  readonly severity?: Severity;
  /** Names of configured webhooks to send the alert's announcements to. */
  readonly webhooks?: readonly string[];
  /** Which announcements go to those webhooks. @default ["raised", "escalated"] */
  readonly notifyOn?: readonly AlertEventName[];
  /** Evaluate no later rule. */
  readonly stop?: boolean;
}

/** A rule: a name (for logs and the alert's trail), a condition, an action. */
export interface AlertRule {
  readonly name: string;
  readonly when?: RuleCondition;
  readonly then: RuleAction;
}

/** What a rule sees: the signal (or, for ack/clear announcements, the alert). */
export interface RuleSubject {
  readonly source: string;
  readonly type: string;
  readonly severity: Severity;
  readonly data: JsonValue;
}

/** The outcome of the rules for one subject. */
export interface RuleOutcome {
  readonly suppressed: boolean;
  readonly severity: Severity;
  /** Webhook names by announcement. */
  readonly webhooks: Readonly<Record<AlertEventName, readonly string[]>>;
  /** Names of the rules that matched, in order. */
  readonly matched: readonly string[];
}

const DEFAULT_NOTIFY: readonly AlertEventName[] = ["raised", "escalated"];

const severity = z.enum(SEVERITIES);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);
const comparison = z.strictObject({
  eq: scalar.optional(),
  ne: scalar.optional(),
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
  in: z.array(scalar).optional(),
  exists: z.boolean().optional(),
}).refine((c) => Object.keys(c).length > 0, "needs at least one comparison");
const ruleSchema = z.strictObject({
  name: z.string().min(1).max(64),
  when: z.strictObject({
    type: oneOrMany(z.string().min(1)).optional(),
    source: oneOrMany(z.string().min(1)).optional(),
    severity: oneOrMany(severity).optional(),
    minSeverity: severity.optional(),
    data: z.record(z.string().min(1), comparison).optional(),
  }).optional(),
  then: z.strictObject({
    suppress: z.boolean().optional(),
    severity: severity.optional(),
    webhooks: z.array(z.string()).optional(),
    notifyOn: z.array(z.enum(ALERT_EVENTS)).optional(),
    stop: z.boolean().optional(),
  }),
});

/**
 * Checks rules from configuration: shape, and that every webhook they name is configured.
 * @throws {ConfigError} naming the rule and what is wrong
 */
export function checkRules(rules: unknown, webhooks: readonly string[]): AlertRule[] {
  const parsed = z.array(ruleSchema).safeParse(rules);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new ConfigError(
      `alerts.rules[${first.path.map(String).join(".")}]: ${first.message}`,
    );
  }
  for (const rule of parsed.data) {
    for (const name of rule.then.webhooks ?? []) {
      if (!webhooks.includes(name)) {
        throw new ConfigError(
          `alert rule ${JSON.stringify(rule.name)} names webhook ${JSON.stringify(name)}, ` +
            `which is not configured (configured: ${webhooks.join(", ") || "none"})`,
        );
      }
    }
  }
  return parsed.data as AlertRule[];
}

/** Runs the rules over a subject. */
export function applyRules(rules: readonly AlertRule[], subject: RuleSubject): RuleOutcome {
  let current: RuleSubject = subject;
  const webhooks: Record<AlertEventName, string[]> = {
    raised: [],
    escalated: [],
    acknowledged: [],
    cleared: [],
  };
  const matched: string[] = [];
  for (const rule of rules) {
    if (!matches(rule.when ?? {}, current)) continue;
    matched.push(rule.name);
    const then = rule.then;
    if (then.suppress === true) {
      return { suppressed: true, severity: current.severity, webhooks, matched };
    }
    if (then.severity !== undefined) current = { ...current, severity: then.severity };
    for (const event of then.notifyOn ?? DEFAULT_NOTIFY) {
      for (const name of then.webhooks ?? []) {
        if (!webhooks[event].includes(name)) webhooks[event].push(name);
      }
    }
    if (then.stop === true) break;
  }
  return { suppressed: false, severity: current.severity, webhooks, matched };
}

/** Does a condition hold for a subject? */
export function matches(when: RuleCondition, s: RuleSubject): boolean {
  if (when.type !== undefined && !list(when.type).includes(s.type)) return false;
  if (when.source !== undefined && !list(when.source).some((p) => glob(p, s.source))) {
    return false;
  }
  if (when.severity !== undefined && !list(when.severity).includes(s.severity)) return false;
  if (when.minSeverity !== undefined && rank(s.severity) < rank(when.minSeverity)) return false;
  for (const [path, c] of Object.entries(when.data ?? {})) {
    if (!compare(field(s.data, path), c)) return false;
  }
  return true;
}

function list<T>(v: T | readonly T[]): readonly T[] {
  return Array.isArray(v) ? v : [v as T];
}

/** `*` matches any run of characters; everything else literally. */
function glob(pattern: string, value: string): boolean {
  const parts = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(value);
}

const ABSENT = Symbol("absent");

function field(data: JsonValue, path: string): JsonValue | typeof ABSENT {
  let v: JsonValue | typeof ABSENT = data;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, key)) {
      return ABSENT;
    }
    v = (v as Record<string, JsonValue>)[key]!;
  }
  return v;
}

function compare(v: JsonValue | typeof ABSENT, c: Comparison): boolean {
  if (c.exists !== undefined && (v !== ABSENT) !== c.exists) return false;
  if (v === ABSENT) return c.exists === false;
  if (c.eq !== undefined && v !== c.eq) return false;
  if (c.ne !== undefined && v === c.ne) return false;
  if (c.in !== undefined && !c.in.includes(v as string | number | boolean | null)) return false;
  const numeric = c.gt !== undefined || c.gte !== undefined || c.lt !== undefined ||
    c.lte !== undefined;
  if (numeric) {
    if (typeof v !== "number") return false;
    if (c.gt !== undefined && !(v > c.gt)) return false;
    if (c.gte !== undefined && !(v >= c.gte)) return false;
    if (c.lt !== undefined && !(v < c.lt)) return false;
    if (c.lte !== undefined && !(v <= c.lte)) return false;
  }
  return true;
}
