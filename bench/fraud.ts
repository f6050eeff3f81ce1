/**
 * `fraud`: payment scorings per second, and per-call latency, of a terminal's decision path
 * with the ONNX model (rules + model, the larger score wins) against the same path with the
 * rules alone, in the same run.
 *
 * The path is the one `terminal.pay` runs once a payment is known to be new (see
 * `actors/payments/terminal.ts`), with the same functions: local time in the terminal's zone
 * (Temporal), the card's activity in a terminal history of a few hundred uses, the rule score,
 * the five model features, the process's shared ONNX model (`SharedFraudModel`, onnxruntime-web
 * WebAssembly, one thread), the rounded max, and the decision. Not included, the same for
 * both: the idempotency check, journaling, events. Calls are sequential (one payment at a
 * time, as one terminal actor decides them), after a warm-up; each arm is measured three
 * times, alternately, and its best round kept (`tools/fraud_model_latency.ts` times each call).
 *
 * Env: `BENCH_FRAUD_CALLS` (default 50,000 per round).
 *
 * @module
 */
import {
  type CardStatus,
  decidePayment,
  type Decision,
  DEFAULT_PAYMENT_RULES,
  fraudFeatures,
  roundScore,
  ruleScore,
  SharedFraudModel,
} from "../actors/payments/mod.ts";
import { cardActivity, type CardUse } from "../actors/payments/card_history.ts";
import { localTime } from "../actors/shared/time_zone.ts";
import { type CallLatency, callLatency } from "../tools/fraud_model_latency.ts";
import { generateExamples, prng } from "../tools/train_fraud_model.ts";
import { machine, report } from "./lib.ts";

const CALLS = Number(Deno.env.get("BENCH_FRAUD_CALLS") ?? 50_000);
const ROUNDS = 3;
const TIMEZONE = "Asia/Seoul";
const CARDS = 200;
const HISTORY = 300;
const TARGET_P99_US = 2000;

/** A payment as the terminal sees it after validation (card already hashed). */
interface Payment {
  readonly card: string;
  readonly amount: number;
  readonly ts: number;
}

/** A terminal's state as far as the decision reads it. */
const random = prng(42);
const now = Date.UTC(2026, 10, 22, 12, 0);
const cards: Record<string, CardStatus> = {};
for (let c = 0; c < CARDS; c++) {
  const r = random();
  cards[`card-${c}`] = r < 0.9 ? "valid" : r < 0.95 ? "blocked" : "expired";
}
const history: CardUse[] = Array.from({ length: HISTORY }, (_, i) => ({
  c: `card-${Math.floor(random() * CARDS * 1.2)}`, // some cards the cache does not know
  t: now - 86_400_000 + i * (86_400_000 / HISTORY),
  a: Math.round(5_000 + random() * 100_000),
}));
const payments: Payment[] = generateExamples(7, 1000).map((e, i) => ({
  card: `card-${Math.floor(random() * CARDS * 1.2)}`,
  amount: Math.round(e.input.amount),
  ts: now + i * 37_000 + Math.round(e.input.localHours * 3_600_000),
}));

const rules = DEFAULT_PAYMENT_RULES;
const model = new SharedFraudModel();

/** Rules (and, with a scorer, the model) → the decision, as `terminal.pay` computes it. */
function decide(p: Payment, withModel: boolean): Decision | Promise<Decision> {
  const local = localTime(p.ts, TIMEZONE);
  const activity = cardActivity(history, p.card, p.ts, rules.velocityWindowMs);
  const rule = ruleScore(
    { amount: p.amount, localHour: local.hour, recentCount: activity.recentCount },
    rules,
  );
  const conclude = (modelScore: number | null): Decision =>
    decidePayment({
      cardStatus: Object.hasOwn(cards, p.card) ? cards[p.card]! : null,
      fraudScore: roundScore(Math.max(rule.score, modelScore ?? 0)),
      online: true,
      amount: p.amount,
      offlineQueued: 0,
    }, rules);
  if (!withModel) return conclude(null);
  const features = fraudFeatures({
    amount: p.amount,
    localHours: local.hour + local.minute / 60,
    recentCount: activity.recentCount,
    priorMean: activity.priorMean,
  });
  return model.score(features).then(conclude, () => conclude(null));
}

function measure(withModel: boolean): Promise<CallLatency> {
  return callLatency(CALLS, (i) => decide(payments[i % payments.length]!, withModel), 2000);
}

if (import.meta.main) {
  const loadStarted = performance.now();
  await model.ready();
  const loadMs = Math.round(performance.now() - loadStarted);
  // The two paths must decide alike where the model does not tip the score.
  let fraudByModel = 0;
  for (const p of payments) {
    const a = decide(p, false) as Decision;
    const b = await decide(p, true);
    if (a.reason !== b.reason && b.reason === "fraud_detected") fraudByModel++;
    else if (a.status !== b.status) throw new Error("rules + model changed a non-fraud decision");
  }
  let withModel: CallLatency | null = null;
  let rulesOnly: CallLatency | null = null;
  for (let r = 0; r < ROUNDS; r++) {
    const a = await measure(false);
    if (rulesOnly === null || a.callsPerSecond > rulesOnly.callsPerSecond) rulesOnly = a;
    const b = await measure(true);
    if (withModel === null || b.callsPerSecond > withModel.callsPerSecond) withModel = b;
  }
  const value = withModel!.callsPerSecond;
  const baseline = rulesOnly!.callsPerSecond;
  const strip = ({ calls: _, ...rest }: CallLatency) => rest;
  await report({
    name: "fraud",
    value,
    unit: "scorings/s",
    baseline: "the same decision path with the rules alone",
    baselineValue: baseline,
    ratio: value / baseline,
    target: "p99 ≤ 2 ms per scoring (rules + model)",
    met: withModel!.p99Us <= TARGET_P99_US,
    machine: machine(),
    details: {
      callsPerRound: CALLS,
      rounds: ROUNDS,
      kept: "each arm's best round (highest rate)",
      modelLoadMs: loadMs,
      rulesAndModel: strip(withModel!),
      rulesAlone: strip(rulesOnly!),
      p99Us: withModel!.p99Us,
      terminalHistory: HISTORY,
      timezone: TIMEZONE,
      sampleRejectedByModelOnly: `${fraudByModel} of ${payments.length}`,
    },
  });
}
