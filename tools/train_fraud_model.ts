/**
 * Trains the fraud model and exports it as ONNX: `actors/payments/fraud_model.onnx`.
 *
 * ```sh
 * deno run --allow-read --allow-write tools/train_fraud_model.ts          # (re)write the model
 * deno run --allow-read tools/train_fraud_model.ts --check                # exit 1 if it differs
 * ```
 *
 * The data is synthetic, generated here with a fixed seed: card payments at a terminal, 10 %
 * of them fraudulent, described by what the terminal knows — amount, local time of day, how
 * often the card was used in the last hour, and how the amount compares with the card's
 * earlier amounts (see `actors/payments/fraud_features.ts`, shared with the terminal). The
 * model is a logistic regression with a standard scaler in front, trained by full-batch
 * gradient descent in float64 and exported as float32. Everything is deterministic — seeded
 * PRNG, fixed iteration count, fixed summation order, parameters rounded to 7 significant
 * digits before export — so the same script writes the same bytes on any machine; a test
 * checks the committed file against a fresh run.
 *
 * The model graph: `features [N,5]` → Sub(mean) → Mul(1/std) → Gemm(weights, bias) → Sigmoid →
 * `fraud_probability [N,1]` (opset 13).
 *
 * @module
 */
import {
  FEATURE_NAMES,
  type FeatureInput,
  fraudFeatures,
} from "../actors/payments/fraud_features.ts";
import { encodeModel } from "./onnx_writer.ts";
import { seededRandom } from "./prng.ts";

/**
 * The PRNG the training data is drawn from (the project's seeded generator, as a function):
 * exported for tests and benchmarks that want the same kind of data.
 */
export { seededRandom as prng } from "./prng.ts";

/** The seed of the committed model's training data. */
export const SEED = 20_261_123;
/** Training examples. */
export const SAMPLES = 20_000;
/** Share of fraudulent examples. */
export const FRAUD_RATE = 0.1;
/** Gradient descent steps and rate, L2 penalty. */
export const EPOCHS = 1500;
export const LEARNING_RATE = 0.5;
export const L2 = 1e-4;
/** Version written into the model (bump when the recipe changes). */
export const MODEL_VERSION = "1";

/** Where the committed model lives. */
export const MODEL_PATH: URL = new URL("../actors/payments/fraud_model.onnx", import.meta.url);

function normal(random: () => number, mean: number, sd: number): number {
  const u1 = 1 - random(); // (0, 1]
  const u2 = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function poisson(random: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

function wrapHours(h: number): number {
  const w = h % 24;
  return w < 0 ? w + 24 : w;
}

function amountKrw(random: () => number, median: number, sd: number): number {
  const raw = Math.exp(normal(random, Math.log(median), sd));
  return Math.min(5_000_000, Math.max(100, Math.round(raw / 10) * 10));
}

/** One synthetic transaction and whether it was fraud. */
export interface Example {
  readonly input: FeatureInput;
  readonly fraud: boolean;
}

/**
 * Synthetic transactions. Legitimate ones: amounts around 25,000 KRW, mostly daytime, the
 * card seldom used twice within the hour, amounts like the card's usual ones. Fraudulent
 * ones: amounts around 350,000 KRW, often at night, bursts of uses, amounts far above the
 * card's usual ones.
 */
export function generateExamples(seed: number, count: number): Example[] {
  const random = seededRandom(seed);
  const out: Example[] = [];
  for (let i = 0; i < count; i++) {
    const fraud = random() < FRAUD_RATE;
    let input: FeatureInput;
    if (!fraud) {
      const amount = amountKrw(random, 25_000, 0.9);
      const localHours = random() < 0.05 ? random() * 24 : wrapHours(normal(random, 14, 3.5));
      input = {
        amount,
        localHours,
        recentCount: 1 + poisson(random, 0.4),
        priorMean: random() < 0.65 ? amount * Math.exp(normal(random, 0, 0.5)) : null,
      };
    } else {
      const amount = amountKrw(random, 350_000, 1.0);
      const localHours = random() < 0.45 ? wrapHours(normal(random, 3, 2)) : random() * 24;
      input = {
        amount,
        localHours,
        recentCount: 1 + poisson(random, 2.5),
        priorMean: random() < 0.5 ? amount * Math.exp(normal(random, -1.6, 0.7)) : null,
      };
    }
    out.push({ input, fraud });
  }
  return out;
}

/** The trained parameters, as exported (float32-representable, rounded). */
export interface FraudModelParams {
  readonly mean: number[];
  /** 1 / standard deviation, per feature. */
  readonly scale: number[];
  readonly weights: number[];
  readonly bias: number;
}

/** Rounds to 7 significant digits, then to float32: what the model file stores. */
function exportable(x: number): number {
  return Math.fround(Number(x.toPrecision(7)));
}

/** Fits a standard scaler and a logistic regression by full-batch gradient descent. */
export function trainLogisticRegression(examples: readonly Example[]): FraudModelParams {
  const x = examples.map((e) => fraudFeatures(e.input));
  const y = examples.map((e) => (e.fraud ? 1 : 0));
  const d = FEATURE_NAMES.length;
  const n = x.length;
  const mean = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]! / n;
  const variance = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) variance[j]! += (row[j]! - mean[j]!) ** 2 / n;
  const scale = variance.map((v) => 1 / Math.sqrt(v > 0 ? v : 1));
  const m = mean.map(exportable);
  const s = scale.map(exportable);
  const z = x.map((row) => row.map((v, j) => (v - m[j]!) * s[j]!));

  const w = new Array<number>(d).fill(0);
  let b = 0;
  const grad = new Array<number>(d);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    grad.fill(0);
    let gradB = 0;
    for (let i = 0; i < n; i++) {
      const row = z[i]!;
      let logit = b;
      for (let j = 0; j < d; j++) logit += w[j]! * row[j]!;
      const error = 1 / (1 + Math.exp(-logit)) - y[i]!;
      for (let j = 0; j < d; j++) grad[j]! += error * row[j]!;
      gradB += error;
    }
    for (let j = 0; j < d; j++) w[j]! -= LEARNING_RATE * (grad[j]! / n + L2 * w[j]!);
    b -= LEARNING_RATE * (gradB / n);
  }
  return { mean: m, scale: s, weights: w.map(exportable), bias: exportable(b) };
}

/** The model's probability for one feature vector, computed here in float64 (for checks). */
export function predict(params: FraudModelParams, features: readonly number[]): number {
  let logit = params.bias;
  features.forEach((v, j) => {
    logit += params.weights[j]! * (v - params.mean[j]!) * params.scale[j]!;
  });
  return 1 / (1 + Math.exp(-logit));
}

/** Area under the ROC curve of `params` on `examples` (ties count half). */
export function auc(params: FraudModelParams, examples: readonly Example[]): number {
  const scored = examples.map((e) => ({ p: predict(params, fraudFeatures(e.input)), y: e.fraud }))
    .sort((a, b) => a.p - b.p);
  let positives = 0, negatives = 0, rankSum = 0;
  for (let i = 0; i < scored.length;) {
    let j = i;
    while (j < scored.length && scored[j]!.p === scored[i]!.p) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (scored[k]!.y) {
        positives++;
        rankSum += rank;
      } else negatives++;
    }
    i = j;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The ONNX bytes of a trained model. */
export function exportModel(
  params: FraudModelParams,
  metadata: readonly (readonly [string, string])[] = [],
): Uint8Array {
  const d = FEATURE_NAMES.length;
  return encodeModel({
    irVersion: 8,
    opset: 13,
    producerName: "flotilla-train-fraud-model",
    producerVersion: MODEL_VERSION,
    docString: "Fraud probability of a card payment: standard scaler + logistic regression, " +
      "trained by tools/train_fraud_model.ts on seeded synthetic data.",
    graph: {
      name: "fraud_lr",
      nodes: [
        { op: "Sub", name: "center", inputs: ["features", "feature_mean"], outputs: ["centered"] },
        { op: "Mul", name: "scale", inputs: ["centered", "feature_scale"], outputs: ["scaled"] },
        {
          op: "Gemm",
          name: "linear",
          inputs: ["scaled", "weights", "bias"],
          outputs: ["logit"],
        },
        { op: "Sigmoid", name: "probability", inputs: ["logit"], outputs: ["fraud_probability"] },
      ],
      initializers: [
        { name: "feature_mean", dims: [d], values: params.mean },
        { name: "feature_scale", dims: [d], values: params.scale },
        { name: "weights", dims: [d, 1], values: params.weights },
        { name: "bias", dims: [1], values: [params.bias] },
      ],
      inputs: [{ name: "features", dims: ["N", d] }],
      outputs: [{ name: "fraud_probability", dims: ["N", 1] }],
    },
    metadata,
  });
}

/** A trained and exported model with how well it does on held-out data. */
export interface TrainedModel {
  readonly bytes: Uint8Array;
  readonly params: FraudModelParams;
  /** AUC on {@link SAMPLES} / 4 examples generated with `seed + 1`. */
  readonly holdoutAuc: number;
}

/** Generates the data, trains, evaluates and exports: the whole recipe. */
export function trainFraudModel(seed = SEED): TrainedModel {
  const params = trainLogisticRegression(generateExamples(seed, SAMPLES));
  const holdoutAuc = auc(params, generateExamples(seed + 1, SAMPLES / 4));
  const bytes = exportModel(params, [
    ["features", FEATURE_NAMES.join(",")],
    ["training_seed", String(seed)],
    ["training_samples", String(SAMPLES)],
    ["fraud_rate", String(FRAUD_RATE)],
    ["holdout_auc", holdoutAuc.toFixed(4)],
  ]);
  return { bytes, params, holdoutAuc };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const started = performance.now();
  const model = trainFraudModel();
  const summary = {
    path: MODEL_PATH.pathname,
    bytes: model.bytes.length,
    holdoutAuc: Number(model.holdoutAuc.toFixed(4)),
    params: model.params,
    trainMs: Math.round(performance.now() - started),
  };
  if (check) {
    let committed: Uint8Array | null = null;
    try {
      committed = await Deno.readFile(MODEL_PATH);
    } catch {
      // reported below
    }
    const same = committed !== null && sameBytes(committed, model.bytes);
    console.log(JSON.stringify({ ...summary, reproducible: same }));
    if (!same) {
      console.error(
        "the committed model differs from what the script produces; re-run without --check",
      );
      Deno.exit(1);
    }
  } else {
    await Deno.writeFile(MODEL_PATH, model.bytes);
    console.log(JSON.stringify(summary));
  }
}
