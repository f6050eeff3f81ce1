/**
 * The fault suite's shared harness: its mode (short or full), its scale, a `Deno.test` wrapper,
 * the load every scenario runs, and the checks every scenario ends with.
 *
 * Mode: `--full` or `--short` after `--` on the `deno test` command line (what
 * `deno task faults --short` passes), else `FLOTILLA_FAULTS=full|short`, else short — the
 * form `deno task test` runs.
 *
 * @module
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { assert, assertEquals, AssertionError } from "../helpers/assert.ts";
import { type Cluster, type ClusterOptions, startCluster } from "../helpers/cluster.ts";
import { appliedEvents, deliveryCheck } from "../helpers/failover.ts";
import type { NodeProcess } from "../helpers/process.ts";
import { AckedLoad } from "./acked_load.ts";
import { checkOrder, type OrderOptions } from "./applied_order.ts";

function mode(): "short" | "full" {
  if (Deno.args.includes("--full")) return "full";
  if (Deno.args.includes("--short")) return "short";
  const env = Deno.env.get("FLOTILLA_FAULTS") ?? "short";
  if (env !== "short" && env !== "full") {
    throw new Error(`FLOTILLA_FAULTS=${env}: use short or full`);
  }
  return env;
}

/** `"short"` (CI, part of `deno task test`) or `"full"` (`deno task faults`). */
export const MODE = mode();

/** `short` in the short form, `full` in the full one. */
export function scale<T>(short: T, full: T): T {
  return MODE === "full" ? full : short;
}

/** Lease length of the suite's clusters: the production default. */
export const LEASE_MS = 2000;

/** Load of a scenario: devices, their pace, and how many readings before and after the fault. */
export const LOAD = {
  devices: scale(24, 150),
  /** Pause between a device's readings, ms. */
  intervalMs: scale(40, 20),
  /** Readings acknowledged before the fault. */
  before: scale(300, 4000),
  /** Readings acknowledged after recovery, before the load stops. */
  after: scale(300, 4000),
} as const;

/** How long a server stays down in the outage scenarios, ms. */
export const OUTAGE_MS = scale(1000, 5000);

/** Options of {@link faultTest}. */
export interface FaultTestOptions {
  /** The scenario's letter in the issue and the README. */
  readonly id: string;
  readonly name: string;
  readonly fn: () => Promise<void>;
}

/** Declares a scenario (real servers and processes: the sanitizers are off). */
export function faultTest({ id, name, fn }: FaultTestOptions): void {
  Deno.test({
    name: `faults ${MODE} (${id}) ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** Device ids `<prefix>-0 … <prefix>-<n-1>`. */
export function deviceIds(prefix: string, n: number = LOAD.devices): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

/** Starts {@link AckedLoad} on a client of `cluster`. */
export async function startLoad(
  cluster: Cluster,
  devices: readonly string[],
  intervalMs: number = LOAD.intervalMs,
): Promise<AckedLoad> {
  const js = jetstream(await cluster.client());
  return new AckedLoad(js, { devices, intervalMs }).start();
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than `undefined`/`false`;
 * fails after `timeoutMs`, saying `what` it waited for and the last thing `probe` threw.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? "" : `; last error: ${(last as Error).message ?? last}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether `node`'s process is still running (it has not exited). */
export async function isRunning(node: NodeProcess): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const running = await Promise.race([
    node.child.status.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 20))),
  ]);
  clearTimeout(timer);
  return running;
}

/** Problems with the nodes that should be up: exited, or `/healthz` not 200. */
export async function nodesDown(
  cluster: Cluster,
  except: readonly NodeProcess[] = [],
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, node] of cluster.nodes.entries()) {
    if (except.includes(node)) continue;
    const name = cluster.names[i];
    if (!(await isRunning(node))) {
      const status = await node.child.status;
      problems.push(`${name} exited (code ${status.code}, signal ${status.signal})`);
      continue;
    }
    try {
      const res = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (res.status !== 200) problems.push(`${name} /healthz ${res.status}`);
    } catch (error) {
      problems.push(`${name} /healthz failed: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** The last sequence in the events stream (for {@link OrderOptions.rewindsAfter}). */
export async function eventsSeq(cluster: Cluster): Promise<number> {
  const jsm = await jetstreamManager(await cluster.client());
  return (await jsm.streams.info("FLOTILLA_EVENTS")).state.last_seq;
}

/** What a scenario's final check found. */
export interface Outcome {
  /** Readings JetStream acknowledged. */
  readonly messages: number;
  readonly lost: number;
  readonly doubled: number;
  /** Readings applied twice or out of order, per the events stream. */
  readonly outOfOrder: number;
  /** Distinct acknowledged readings whose events were found (the rest lost in a crash). */
  readonly eventsSeen: number;
  readonly rewinds: number;
  /** Events of a thawed node that came late (see {@link OrderOptions.lateEvents}). */
  readonly late: number;
  readonly retries: number;
  readonly problems: string[];
}

/** Options of {@link verify}. */
export interface VerifyOptions extends OrderOptions {
  /** Nodes killed on purpose and not restarted: not expected up, not asked for twins. */
  readonly killed?: readonly NodeProcess[];
  /** Least share of acknowledged readings whose events must be in the events stream. @default 0.9 */
  readonly minEventShare?: number;
}

/**
 * The check every scenario ends with, once its load has stopped: the streams drain; each
 * device's twin counts exactly its acknowledged readings; its events apply them in order, none
 * twice, none never acknowledged; the nodes not killed on purpose still run and answer
 * `/healthz`. Returns the numbers; {@link assertOutcome} asserts them.
 */
export async function verify(
  cluster: Cluster,
  load: AckedLoad,
  options: VerifyOptions = {},
): Promise<Outcome> {
  const killed = options.killed ?? [];
  const readers = cluster.nodes.filter((n) => !killed.includes(n));
  await cluster.drained();
  const delivery = await deliveryCheck(cluster, readers, load.counts());
  const events = await appliedEvents(cluster);
  const order = checkOrder(load.acked, events, options);

  const problems = await nodesDown(cluster, killed);
  if (delivery.wrong.length > 0) {
    problems.push(
      `twins counting wrong [device, counted, acknowledged]: ${
        JSON.stringify(delivery.wrong.slice(0, 10))
      }${delivery.wrong.length > 10 ? ` and ${delivery.wrong.length - 10} more` : ""}`,
    );
  }
  if (order.violations.length > 0) problems.push(...order.violations.slice(0, 10));
  if (order.phantoms.length > 0) problems.push(...order.phantoms.slice(0, 10));
  const minShare = options.minEventShare ?? 0.9;
  if (order.seen < load.total * minShare) {
    problems.push(
      `events of only ${order.seen} of ${load.total} acknowledged readings found ` +
        `(at least ${Math.ceil(minShare * 100)} % expected)`,
    );
  }
  return {
    messages: load.total,
    lost: delivery.lost,
    doubled: delivery.doubled,
    outOfOrder: order.violations.length,
    eventsSeen: order.seen,
    rewinds: order.rewinds,
    late: order.late,
    retries: load.retries,
    problems,
  };
}

/** Prints a scenario's summary line: messages, lost, doubled, out of order, time. */
export function summary(id: string, name: string, outcome: Outcome, startedAt: number): void {
  const n = (x: number) => x.toLocaleString("en-US");
  console.log(
    `faults ${MODE} (${id}) ${name}: ${n(outcome.messages)} acknowledged (${n(outcome.retries)} ` +
      `retries), lost ${n(outcome.lost)}, doubled ${n(outcome.doubled)}, out of order ` +
      `${n(outcome.outOfOrder)}; events of ${n(outcome.eventsSeen)} seen` +
      `${outcome.rewinds > 0 ? `, ${n(outcome.rewinds)} devices replayed` : ""}` +
      `${outcome.late > 0 ? `, ${n(outcome.late)} late` : ""}; ` +
      `${((performance.now() - startedAt) / 1000).toFixed(1)} s`,
  );
}

/** Asserts an {@link Outcome}: nothing lost, doubled or out of order; every node up. */
export function assertOutcome(outcome: Outcome): void {
  assertEquals(
    { lost: outcome.lost, doubled: outcome.doubled, outOfOrder: outcome.outOfOrder },
    { lost: 0, doubled: 0, outOfOrder: 0 },
    `every acknowledged reading applied exactly once, in order:\n${outcome.problems.join("\n")}`,
  );
  assertEquals(outcome.problems, [], "no problem found");
  assert(outcome.messages > 0, "the load acknowledged readings");
}

/** What a scenario's steps get. */
export interface ScenarioContext {
  readonly cluster: Cluster;
  readonly load: AckedLoad;
}

/** A scenario for {@link runScenario}. */
export interface ScenarioOptions {
  readonly id: string;
  readonly name: string;
  /** The cluster (3 nodes, the default lease, a Redis without AOF unless said otherwise). */
  readonly cluster?: ClusterOptions;
  /**
   * The fault, injected once {@link LOAD.before} readings are acknowledged while the load goes
   * on; returns once the cluster has recovered, with options for the final check.
   */
  fault(ctx: ScenarioContext): Promise<VerifyOptions | void>;
  /** The scenario's own assertions, after the common ones. */
  check?(ctx: ScenarioContext, outcome: Outcome): Promise<void> | void;
}

/**
 * Runs a scenario: a cluster, the load, the fault, {@link LOAD.after} more readings, the load
 * stopped, {@link verify}, the summary line, {@link assertOutcome}, the scenario's own check;
 * everything stopped at the end, whatever happened.
 */
export async function runScenario(options: ScenarioOptions): Promise<void> {
  const startedAt = performance.now();
  const cluster = await startCluster({ nodes: 3, leaseMs: LEASE_MS, ...options.cluster });
  let load: AckedLoad | undefined;
  try {
    await cluster.settled();
    load = await startLoad(cluster, deviceIds(options.id));
    const ctx = { cluster, load };
    await load.until(LOAD.before, "readings before the fault");
    const verifyOptions = (await options.fault(ctx)) ?? {};
    await load.until(load.total + LOAD.after, "readings after the fault");
    await load.stop();
    const outcome = await verify(cluster, load, verifyOptions).catch((error) => {
      throw new AssertionError(`${(error as Error).message}\n${cluster.warnings().join("\n")}`);
    });
    summary(options.id, options.name, outcome, startedAt);
    // Both, so that a failing scenario says everything that is wrong at once.
    const failures: string[] = [];
    for (const step of [() => assertOutcome(outcome), () => options.check?.(ctx, outcome)]) {
      try {
        await step();
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    if (failures.length > 0) {
      throw new AssertionError(`${failures.join("\n\n")}\n${cluster.warnings(40).join("\n")}`);
    }
  } finally {
    load?.abort();
    await cluster.stop();
  }
}
