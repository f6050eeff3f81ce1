/**
 * The requests a payment terminal accepts over HTTP (and, later, NATS): its settings, its
 * card status cache, and a payment. Validation only; every problem is reported with its path,
 * and a card token is never echoed back in an error.
 *
 * @module
 */
import { z } from "zod";
import { eventTime, TimeOutOfRangeError } from "../shared/event_time.ts";
import { ENTITY_ID } from "../shared/ids.ts";
import { characters } from "../shared/schemas.ts";
import { canonicalTimeZone, timeZoneName } from "../shared/time_zone.ts";
import { parseOrThrow } from "../shared/validation.ts";
import { CARD_STATUSES, type CardStatus } from "./decision.ts";

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

/** Card tokens: no control characters (C0 and DEL). */
// deno-lint-ignore no-control-regex
const CARD_TOKEN = /^[^\u0000-\u001f\u007f]*$/;

/** A card token's constraints, as the document states them. */
const TOKEN_SCHEMA = { minLength: 1, maxLength: MAX_CARD_TOKEN, pattern: CARD_TOKEN.source };

/** A type error's message: "is required" when the field is missing, else `message`. */
function expected(message: string) {
  return {
    error: (issue: { input?: unknown }) => issue.input === undefined ? "is required" : message,
  };
}

/** A terminal's settings body (`PUT /api/terminals/:id`); the time zone comes out canonical. */
export const SETTINGS_SCHEMA = z.strictObject({
  timezone: timeZoneName.transform((zone) => canonicalTimeZone(zone)!),
  online: z.boolean(expected("must be true or false")).describe(
    "going online flushes the offline queue",
  ),
});

/**
 * Validates `{timezone, online}`.
 * @throws {ValidationError} listing every problem
 */
export function parseTerminalSettings(body: unknown): TerminalSettings {
  const shape = '{"timezone": "<IANA zone, e.g. Asia/Seoul>", "online": true | false}';
  return parseOrThrow(SETTINGS_SCHEMA, body, `terminal settings must look like ${shape}`);
}

const CARDS_SHAPE = '{"cards": {"<cardToken>": "valid" | "blocked" | "expired", ...}}';

/**
 * A card cache update body (`PUT /api/terminals/:id/cards`), out as a list of entries. Problems
 * with an entry are reported by its position (`cards[3]`), never by the token itself.
 */
export const CARDS_SCHEMA = z.strictObject({
  cards: z.record(z.string(), z.unknown(), {
    error: "must be an object of card token to status",
  }).meta({
    description: `card token to status, at most ${MAX_CARDS}; replaces the whole cache`,
    propertyNames: { type: "string", ...TOKEN_SCHEMA },
    additionalProperties: { type: "string", enum: [...CARD_STATUSES] },
    maxProperties: MAX_CARDS,
  }),
}).superRefine(({ cards }, ctx) => {
  const entries = Object.entries(cards);
  if (entries.length > MAX_CARDS) {
    ctx.addIssue({
      code: "custom",
      path: ["cards"],
      message: `must hold at most ${MAX_CARDS} cards`,
    });
  }
  entries.forEach(([token, status], i) => {
    const problem = tokenProblem(token);
    if (problem !== null) {
      ctx.addIssue({ code: "custom", path: [`cards[${i}]`], message: `card token ${problem}` });
    }
    if (!(CARD_STATUSES as readonly unknown[]).includes(status)) {
      ctx.addIssue({
        code: "custom",
        path: [`cards[${i}]`],
        message: 'status must be "valid", "blocked" or "expired"',
      });
    }
  });
}).transform(({ cards }): CardEntry[] =>
  Object.entries(cards).map(([token, status]) => ({ token, status: status as CardStatus }))
);

/**
 * Validates `{cards: {<token>: status}}`. Problems with an entry are reported by its position
 * (`cards[3]`), never by the token itself.
 * @throws {ValidationError} listing every problem
 */
export function parseCardList(body: unknown): CardEntry[] {
  return parseOrThrow(CARDS_SCHEMA, body, `a card cache update must look like ${CARDS_SHAPE}`);
}

const PAYMENT_SHAPE =
  '{"transactionId": "<id>", "amount": <KRW, whole>, "currency": "KRW", "cardToken": "<token>", "ts"?: epoch-ms | ISO-8601}';

/**
 * A payment body (`POST /api/terminals/:id/payments`); `ts` comes out in epoch milliseconds.
 * Whether `ts` lies close enough to the receive time is {@link paymentRequest}'s check.
 */
export const PAYMENT_SCHEMA = z.strictObject({
  transactionId: z.string(expected("must be a string")).regex(
    ENTITY_ID,
    "transaction ids hold 1-128 letters, digits, _ or -",
  ).describe("makes the payment idempotent: a retry gets the first result"),
  amount: z.number(expected("must be a number (KRW)"))
    .int("must be a whole number of won: KRW has no minor unit")
    .min(1, "must be at least 1 KRW")
    .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT} KRW`),
  currency: z.string(expected("must be a currency code such as KRW")).refine(
    (c) => (CURRENCIES as readonly string[]).includes(c),
    { error: (i) => `unsupported currency ${show(i.input)}: only KRW is accepted` },
  ).meta({ enum: [...CURRENCIES] }),
  cardToken: z.string(expected("must be a string")).refine((t) => tokenProblem(t) === null, {
    error: (i) => `card token ${tokenProblem(String(i.input))}`,
  }).meta({
    description: "hashed at the edge; never stored or echoed",
    ...TOKEN_SCHEMA,
  }),
  ts: eventTime.optional().describe(
    "transaction time: epoch ms or ISO-8601; within 7 days before and 5 minutes after now",
  ),
});

/**
 * Validates a payment request and fills in its time.
 *
 * @param receivedAt the receive time (epoch ms): `ts` defaults to it, and must lie within
 * {@link MAX_AGE_MS} before and {@link MAX_FUTURE_MS} after it
 * @throws {ValidationError} listing every problem
 */
export function parsePaymentRequest(body: unknown, receivedAt: number): PaymentRequest {
  return paymentRequest(
    parseOrThrow(PAYMENT_SCHEMA, body, `a payment must look like ${PAYMENT_SHAPE}`),
    receivedAt,
  );
}

/**
 * A payment from a body that passed {@link PAYMENT_SCHEMA}: `ts` defaults to `receivedAt` and
 * must lie within {@link MAX_AGE_MS} before and {@link MAX_FUTURE_MS} after it.
 * @throws {TimeOutOfRangeError} (HTTP 422) otherwise
 */
export function paymentRequest(
  body: z.output<typeof PAYMENT_SCHEMA>,
  receivedAt: number,
): PaymentRequest {
  const ts = body.ts ?? receivedAt;
  if (ts > receivedAt + MAX_FUTURE_MS || ts < receivedAt - MAX_AGE_MS) {
    throw new TimeOutOfRangeError(
      `the payment's ts must lie within 7 days before and 5 minutes after the server's time ` +
        `(${new Date(receivedAt).toISOString()}); check the terminal's clock`,
    );
  }
  return {
    transactionId: body.transactionId,
    amount: body.amount,
    currency: body.currency as Currency,
    cardToken: body.cardToken,
    ts,
  };
}

function tokenProblem(token: string): string | null {
  const length = characters(token);
  if (length === 0) return "must not be empty";
  if (length > MAX_CARD_TOKEN) return `must be at most ${MAX_CARD_TOKEN} characters`;
  if (!CARD_TOKEN.test(token)) return "must not hold control characters";
  return null;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
