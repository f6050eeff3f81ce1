/**
 * Shared parts of the benchmarks: the result format, the machine description, and output.
 * Every benchmark measures its own baseline in the same run and reports the ratio, so its
 * figures survive a noisy machine.
 *
 * @module
 */
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One benchmark's result, as written to `bench/results/<name>.json`. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the baseline is, in words. */
  readonly baseline: string;
  readonly baselineValue: number;
  /** value / baselineValue. */
  readonly ratio: number;
  /** The target, in words, and whether this run met it. */
  readonly target: string;
  readonly met: boolean;
  readonly machine: Machine;
  /** Further figures of the run. */
  readonly details?: Record<string, unknown>;
}

/** Where a benchmark ran. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly deno: string;
  readonly v8: string;
  readonly os: string;
}

/** Describes this machine. */
export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
  };
}

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results");

/**
 * Where results go: `$BENCH_RESULTS_DIR` when set (the smoke test points it at a temporary
 * directory), else `bench/results`.
 */
export function resultsDir(): string {
  return Deno.env.get("BENCH_RESULTS_DIR") || RESULTS;
}

/**
 * Writes the result's JSON file and prints its one-line summary; `more`, when given, is added
 * to that line (figures of the details that belong in the summary).
 */
export async function report(result: BenchResult, more?: string): Promise<void> {
  const dir = resultsDir();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, `${result.name}.json`),
    JSON.stringify(result, null, 2) + "\n",
  );
  console.log(
    `${result.met ? "PASS" : "MISS"} ${result.name}: ${fmt(result.value)} ${result.unit} ` +
      `vs ${result.baseline} ${fmt(result.baselineValue)} (ratio ${
        result.ratio.toFixed(3)
      }; target ${result.target})${more ? `; ${more}` : ""}`,
  );
}

function fmt(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n < 10 ? 2 : 1);
}

/** Runs `fn` `times` times and returns the best (highest) result: the least disturbed run. */
export async function best(times: number, fn: () => Promise<number> | number): Promise<number> {
  let top = -Infinity;
  for (let i = 0; i < times; i++) top = Math.max(top, await fn());
  return top;
}

/** Forces a full garbage collection (needs `--v8-flags=--expose-gc`). */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error("run with --v8-flags=--expose-gc");
  collect();
  collect();
}
