/**
 * The requests a payment terminal accepts over HTTP (and, later, NATS): its settings, its
 * card status cache, and a payment. Validation only; every problem is reported with its path,
 * and a card token is never echoed back in an error.
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { z } from "zod";
import { type FieldIssue, ValidationError } from "../../runtime/mod.ts";
import { CARD_STATUSES, type CardStatus } from "./decision.ts";
import { canonicalTimeZone } from "./fraud_rules.ts";

/** Terminal and transaction ids: 1–128 letters, digits, `_` or `-`. */
export const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Currencies accepted: the rules' amounts are KRW, and KRW has no minor unit. */
export const CURRENCIES = ["KRW"] as const;
export type Currency = (typeof CURRENCIES)[number];

/** Largest amount of one payment, KRW (one billion). */
export const MAX_AMOUNT = 1_000_000_000;

/** Longest card token, in characters. */
export const MAX_CARD_TOKEN = 256;

/** Most cards one cache update may hold (a cache update replaces the whole cache). */
export const MAX_CARDS = 5000;

/** How far a payment's `ts` may lie ahead of the receive time (clock skew), ms. */
export const MAX_FUTURE_MS = 5 * 60_000;

/** How far a payment's `ts` may lie behind the receive time, ms (7 days). */
export const MAX_AGE_MS = 7 * 86_400_000;

/** A terminal's settings. */
export interface TerminalSettings {
  /** IANA time zone, canonical spelling. */
  readonly timezone: string;
  readonly online: boolean;
}

/** A payment as the client sent it (the card token still raw: hash it before it goes further). */
export interface PaymentRequest {
  readonly transactionId: string;
  /** KRW, a positive whole number. */
  readonly amount: number;
  readonly currency: Currency;
  readonly cardToken: string;
  /** Transaction time (epoch ms); the receive time when the client sent none. */
  readonly ts: number;
}

/** One entry of a card cache update, the token still raw. */
export interface CardEntry {
  readonly token: string;
  readonly status: CardStatus;
}

/** Checks a terminal id from a URL. @throws {ValidationError} */
export function checkTerminalId(id: string): string {
  if (!ID.test(id)) {
    throw new ValidationError("invalid terminal id", [{
      path: "id",
      message: "terminal ids hold 1-128 letters, digits, _ or -",
    }]);
  }
  return id;
}

/** A type error's message: "is required" when the field is missing, else `message`. */
function expected(message: string) {
  return {
    error: (issue: { input?: unknown }) => issue.input === undefined ? "is required" : message,
  };
}

const settingsSchema = z.strictObject({
  timezone: z.string(expected("must be an IANA time zone such as Asia/Seoul")).min(1).max(64),
  online: z.boolean(expected("must be true or false")),
});

/**
 * Validates `{timezone, online}`.
 * @throws {ValidationError} listing every problem
 */
export function parseTerminalSettings(body: unknown): TerminalSettings {
  const shape = '{"timezone": "<IANA zone, e.g. Asia/Seoul>", "online": true | false}';
  const raw = field(body, "timezone");
  const timezone = typeof raw === "string" ? canonicalTimeZone(raw) : null;
  const extra: FieldIssue[] = typeof raw === "string" && raw.length <= 64 && timezone === null
    ? [{
      path: "timezone",
      message: `${show(raw)} is not a time zone; use an IANA name such as Asia/Seoul`,
    }]
    : [];
  const data = check(settingsSchema, body, `terminal settings must look like ${shape}`, extra);
  return { timezone: timezone!, online: data.online };
}

const CARDS_SHAPE = '{"cards": {"<cardToken>": "valid" | "blocked" | "expired", ...}}';

/**
 * Validates `{cards: {<token>: status}}`. Problems with an entry are reported by its position
 * (`cards[3]`), never by the token itself.
 * @throws {ValidationError} listing every problem
 */
export function parseCardList(body: unknown): CardEntry[] {
  const fail = (issues: FieldIssue[]) => {
    throw new ValidationError(`a card cache update must look like ${CARDS_SHAPE}`, issues);
  };
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail([{ path: "", message: "must be a JSON object" }]);
  }
  const extra = Object.keys(body).filter((k) => k !== "cards");
  const cards = (body as Record<string, unknown>).cards;
  const issues: FieldIssue[] = extra.map((k) => ({
    path: k,
    message: "unknown field",
  }));
  if (typeof cards !== "object" || cards === null || Array.isArray(cards)) {
    issues.push({ path: "cards", message: "must be an object of card token to status" });
    return fail(issues);
  }
  const entries = Object.entries(cards);
  if (entries.length > MAX_CARDS) {
    issues.push({ path: "cards", message: `must hold at most ${MAX_CARDS} cards` });
  }
  const out: CardEntry[] = [];
  entries.forEach(([token, status], i) => {
    const problem = tokenProblem(token);
    if (problem !== null) issues.push({ path: `cards[${i}]`, message: `card token ${problem}` });
    if (!(CARD_STATUSES as readonly unknown[]).includes(status)) {
      issues.push({
        path: `cards[${i}]`,
        message: 'status must be "valid", "blocked" or "expired"',
      });
    }
    out.push({ token, status: status as CardStatus });
  });
  if (issues.length > 0) fail(issues);
  return out;
}

const PAYMENT_SHAPE =
  '{"transactionId": "<id>", "amount": <KRW, whole>, "currency": "KRW", "cardToken": "<token>", "ts"?: epoch-ms | ISO-8601}';

const paymentSchema = z.strictObject({
  transactionId: z.string(expected("must be a string")).regex(
    ID,
    "transaction ids hold 1-128 letters, digits, _ or -",
  ),
  amount: z.number(expected("must be a number (KRW)"))
    .int("must be a whole number of won: KRW has no minor unit")
    .min(1, "must be at least 1 KRW")
    .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT} KRW`),
  currency: z.string(expected("must be a currency code such as KRW")).refine(
    (c) => (CURRENCIES as readonly string[]).includes(c),
    { error: (i) => `unsupported currency ${show(i.input)}: only KRW is accepted` },
  ),
  cardToken: z.string(expected("must be a string")).refine((t) => tokenProblem(t) === null, {
    error: (i) => `card token ${tokenProblem(String(i.input))}`,
  }),
  ts: z.union([
    z.number().int("must be whole epoch milliseconds").min(0).max(8.64e15),
    z.string().max(64),
  ], { error: "must be epoch milliseconds or an ISO-8601 instant" }).optional(),
});

/**
 * Validates a payment request and fills in its time.
 *
 * @param receivedAt the receive time (epoch ms): `ts` defaults to it, and must lie within
 * {@link MAX_AGE_MS} before and {@link MAX_FUTURE_MS} after it
 * @throws {ValidationError} listing every problem
 */
export function parsePaymentRequest(body: unknown, receivedAt: number): PaymentRequest {
  const raw = field(body, "ts");
  let ts = receivedAt;
  const extra: FieldIssue[] = [];
  if (typeof raw === "string" || typeof raw === "number") {
    const parsed = toEpochMillis(raw);
    if (parsed === null) {
      extra.push({
        path: "ts",
        message: `${
          show(raw)
        } is not an ISO-8601 instant with an offset, e.g. 2026-05-01T02:00:00Z`,
      });
    } else if (parsed > receivedAt + MAX_FUTURE_MS || parsed < receivedAt - MAX_AGE_MS) {
      extra.push({
        path: "ts",
        message: `must lie within 7 days before and 5 minutes after the server's time (${
          new Date(receivedAt).toISOString()
        })`,
      });
    } else ts = parsed;
  }
  const data = check(paymentSchema, body, `a payment must look like ${PAYMENT_SHAPE}`, extra);
  return {
    transactionId: data.transactionId,
    amount: data.amount,
    currency: data.currency as Currency,
    cardToken: data.cardToken,
    ts,
  };
}

function tokenProblem(token: string): string | null {
  if (token.length === 0) return "must not be empty";
  if (token.length > MAX_CARD_TOKEN) return `must be at most ${MAX_CARD_TOKEN} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(token)) return "must not hold control characters";
  return null;
}

function toEpochMillis(ts: number | string): number | null {
  if (typeof ts === "number") return ts;
  try {
    return Temporal.Instant.from(ts).epochMilliseconds;
  } catch {
    return null;
  }
}

/** Parses by `schema`; throws with its issues and the `extra` ones found by hand, if any. */
function check<T>(
  schema: z.ZodType<T>,
  body: unknown,
  message: string,
  extra: readonly FieldIssue[] = [],
): T {
  const parsed = schema.safeParse(body);
  const issues: FieldIssue[] = parsed.success ? [] : parsed.error.issues.map((i) => ({
    path: i.path.map(String).join("."),
    message: i.message,
  }));
  issues.push(...extra);
  if (issues.length > 0 || !parsed.success) throw new ValidationError(message, issues);
  return parsed.data;
}

/** A field of a parsed JSON object, or `undefined`. */
function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null && !Array.isArray(body) &&
      Object.hasOwn(body, name)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
