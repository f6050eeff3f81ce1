/**
 * Measures the fraud model's per-call latency as a terminal sees it: one `score` call (one
 * feature vector, onnxruntime-web WebAssembly, one thread) at a time, after a warm-up. Prints
 * JSON: load time, p50 / p90 / p99 / max per call in microseconds, calls per second.
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

/** Latency percentiles of `calls` sequential model calls, in microseconds. */
export async function measureFraudModel(calls = 10_000) {
  const started = performance.now();
  const model = await OnnxFraudModel.load();
  const loadMs = performance.now() - started;
  const rows = generateExamples(7, 1000).map((e) => fraudFeatures(e.input));
  for (let i = 0; i < 1000; i++) await model.score(rows[i % rows.length]!);
  const micros = new Float64Array(calls);
  const total = performance.now();
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await model.score(rows[i % rows.length]!);
    micros[i] = (performance.now() - t0) * 1000;
  }
  const elapsedMs = performance.now() - total;
  micros.sort();
  const at = (q: number) =>
    Math.round(micros[Math.min(calls - 1, Math.floor(q * calls))]! * 10) / 10;
  return {
    calls,
    loadMs: Math.round(loadMs),
    p50Us: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    maxUs: at(1),
    callsPerSecond: Math.round(calls / (elapsedMs / 1000)),
  };
}

if (import.meta.main) {
  const calls = Number(Deno.args[0] ?? 10_000);
  console.log(JSON.stringify(await measureFraudModel(calls)));
}
