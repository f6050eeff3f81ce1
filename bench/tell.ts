/**
 * `tell`: messages per second through the real runtime API — 1,000 supervised actors with
 * synchronous handlers, metrics on — against a bare array-mailbox loop doing the same work in
 * the same process. The producer respects backpressure and yields once per round, as a
 * real sender does.
 *
 * When `erl` is on PATH, the same shape also runs on Erlang/OTP (`bench/tell.erl`: 1,000
 * processes, one producer, `{add, 1}` messages round by round, counted until every process
 * answered its total), compiled into a temporary directory and killed after 30 s; its best of
 * two repetitions goes into the details as `erlangMsgsPerSec`, and the target asks for twice
 * its rate. The BEAM uses every core (one scheduler each); the runtime runs on one thread.
 *
 * @module
 */
import { ActorSystem, createLogger, MemoryStore, type Persistence } from "../runtime/mod.ts";
import { defineCounter } from "../tests/helpers/fixtures.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { best, machine, report } from "./lib.ts";

const ACTORS = 1000;
const PER_ROUND = 50; // messages per actor per round
const ROUNDS = Number(Deno.env.get("BENCH_TELL_ROUNDS") ?? 200); // 10M messages by default
const TOTAL = ACTORS * PER_ROUND * ROUNDS;

/**
 * The baseline: the least an actor loop does without bounds, supervision, metrics or
 * persistence — each message an object `{kind, payload}` pushed on its actor's array, the
 * actor put on a run queue once, the queue drained by dispatching each message through the
 * actor type's handler table.
 */
async function bareLoop(): Promise<number> {
  type State = { count: number };
  type Message = { kind: string; payload: number };
  const handlers: Record<string, (state: State, n: number) => void> = {
    add(state, n) {
      state.count += n;
    },
  };
  const actors = Array.from({ length: ACTORS }, () => ({
    state: { count: 0 },
    box: [] as Message[],
    queued: false,
  }));
  let runQueue: typeof actors = [];
  const started = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < PER_ROUND; j++) {
      for (let i = 0; i < ACTORS; i++) {
        const actor = actors[i]!;
        actor.box.push({ kind: "add", payload: 1 });
        if (!actor.queued) {
          actor.queued = true;
          runQueue.push(actor);
        }
      }
    }
    for (const actor of runQueue) {
      actor.queued = false;
      const box = actor.box;
      for (let k = 0; k < box.length; k++) handlers[box[k]!.kind]!(actor.state, box[k]!.payload);
      box.length = 0;
    }
    runQueue = [];
    await null;
  }
  const rate = TOTAL / ((performance.now() - started) / 1000);
  if (actors.some((a) => a.state.count !== ROUNDS * PER_ROUND)) {
    throw new Error("bare loop lost messages");
  }
  return rate;
}

async function runtime(persistence: Persistence): Promise<number> {
  const counter = defineCounter({ options: { persistence, passivateAfter: null } });
  const system = new ActorSystem({
    store: new MemoryStore(),
    logger: createLogger({ level: "error" }),
  });
  system.register(counter);
  await system.start();
  const refs = Array.from({ length: ACTORS }, (_, i) => system.ref(counter, `c${i}`));
  for (const ref of refs) await ref.ask("get");
  const started = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < PER_ROUND; j++) {
      for (let i = 0; i < ACTORS; i++) {
        const full = refs[i]!.tell("add", 1);
        if (full !== undefined) await full;
      }
    }
    await null;
  }
  await system.idle();
  const rate = TOTAL / ((performance.now() - started) / 1000);
  for (const ref of refs) {
    if (await ref.ask("get") !== ROUNDS * PER_ROUND) throw new Error("runtime lost messages");
  }
  await system.shutdown();
  return rate;
}

const ERLANG_SOURCE = join(dirname(fileURLToPath(import.meta.url)), "tell.erl");
const ERLANG_TIMEOUT_MS = 30_000;

/** What the Erlang run gave: its best rate, or why there is none. */
type ErlangResult =
  | { readonly rate: number; readonly otp: string; readonly runs: number }
  | { readonly absent: string };

/** Compiles and runs `tell.erl` with the same shape; `absent` when `erl` or `erlc` is missing. */
async function erlang(): Promise<ErlangResult> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-tell-erl-" });
  try {
    const run = async (cmd: string, args: string[], signal?: AbortSignal) => {
      try {
        return await new Deno.Command(cmd, {
          args,
          cwd: dir,
          stdout: "piped",
          stderr: "piped",
          signal,
        })
          .output();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return null;
        throw error;
      }
    };
    const compiled = await run("erlc", ["-o", dir, ERLANG_SOURCE]);
    if (compiled === null) return { absent: "erlc not on PATH: no Erlang baseline" };
    if (!compiled.success) {
      throw new Error(`erlc failed: ${new TextDecoder().decode(compiled.stderr)}`);
    }
    const out = await run(
      "erl",
      [
        "-noshell",
        "-pa",
        dir,
        "-eval",
        `tell:main(${ACTORS}, ${PER_ROUND}, ${ROUNDS}, 2).`,
      ],
      AbortSignal.timeout(ERLANG_TIMEOUT_MS),
    );
    if (out === null) return { absent: "erl not on PATH: no Erlang baseline" };
    const text = new TextDecoder().decode(out.stdout);
    const rates = [...text.matchAll(/^msgs_per_sec ([\d.]+)$/gm)].map((m) => Number(m[1]));
    if (rates.length === 0) {
      throw new Error(
        `erl gave no rate (exit ${out.code}${out.signal ? `, ${out.signal}` : ""}): ${text}` +
          new TextDecoder().decode(out.stderr),
      );
    }
    const otp = /^otp (\S+) schedulers (\d+)$/m.exec(text);
    return {
      rate: Math.max(...rates),
      otp: otp === null ? "unknown" : `OTP ${otp[1]}, ${otp[2]} schedulers`,
      runs: rates.length,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  // Warm both paths up, then keep each one's best of three.
  await bareLoop();
  await runtime("none");
  const baseline = await best(3, bareLoop);
  const value = await best(3, () => runtime("none"));
  const persisted = await best(2, () => runtime("snapshot"));
  const ratio = value / baseline;
  const erl = await erlang();
  const erlangRatio = "rate" in erl ? value / erl.rate : null;
  await report({
    name: "tell",
    value,
    unit: "msgs/s",
    baseline: "bare array-mailbox loop (message objects, run queue, handler table)",
    baselineValue: baseline,
    ratio,
    target: "≥ 0.25 of the bare loop and ≥ 2× Erlang/OTP (when erl is installed)",
    met: ratio >= 0.25 && (erlangRatio === null || erlangRatio >= 2),
    machine: machine(),
    details: {
      actors: ACTORS,
      messages: TOTAL,
      persistence: "none",
      snapshotPersistedMsgsPerSec: Math.round(persisted),
      snapshotRatio: persisted / baseline,
      ...("rate" in erl
        ? {
          erlangMsgsPerSec: Math.round(erl.rate),
          erlangRatio,
          erlang: `${erl.otp}; best of ${erl.runs}, same shape`,
        }
        : { erlang: erl.absent }),
    },
  });
}
