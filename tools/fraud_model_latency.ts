/**
 * Measures the fraud model's per-call latency as a terminal sees it: one `score` call (one
 * feature vector, onnxruntime-web WebAssembly, one thread) at a time, after a warm-up. Prints
 * JSON: load time, p50 / p90 / p99 / max per call in microseconds, calls per second.
 * `bench/fraud.ts` times the whole decision path (rules and model) with {@link callLatency}.
 *
 * ```sh
 * deno run --allow-read tools/fraud_model_latency.ts [calls=10000]
 * ```
 *
 * @module
 */
import { fraudFeatures } from "../actors/payments/fraud_features.ts";
import { OnnxFraudModel } from "../actors/payments/fraud_model.ts";
import { generateExamples } from "./train_fraud_model.ts";

/** Per-call latency of sequential calls: percentiles in microseconds, and the call rate. */
export interface CallLatency {
  readonly calls: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly callsPerSecond: number;
}

/**
 * Calls `call(i)` `warmup` times, then `calls` times one after another (each awaited when it
 * returns a promise), timing each call.
 */
export async function callLatency(
  calls: number,
  call: (i: number) => unknown,
  warmup = 1000,
): Promise<CallLatency> {
  for (let i = 0; i < warmup; i++) await call(i);
  const micros = new Float64Array(calls);
  const total = performance.now();
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call(i);
    micros[i] = (performance.now() - t0) * 1000;
  }
  const elapsedMs = performance.now() - total;
  micros.sort();
  const at = (q: number) =>
    Math.round(micros[Math.min(calls - 1, Math.floor(q * calls))]! * 10) / 10;
  return {
    calls,
    p50Us: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    maxUs: at(1),
    callsPerSecond: Math.round(calls / (elapsedMs / 1000)),
  };
}

/** Latency percentiles of `calls` sequential model calls, in microseconds. */
export async function measureFraudModel(calls = 10_000): Promise<CallLatency & { loadMs: number }> {
  const started = performance.now();
  const model = await OnnxFraudModel.load();
  const loadMs = Math.round(performance.now() - started);
  const rows = generateExamples(7, 1000).map((e) => fraudFeatures(e.input));
  const { calls: n, ...latency } = await callLatency(
    calls,
    (i) => model.score(rows[i % rows.length]!),
  );
  return { calls: n, loadMs, ...latency };
}

if (import.meta.main) {
  const calls = Number(Deno.args[0] ?? 10_000);
  console.log(JSON.stringify(await measureFraudModel(calls)));
}
