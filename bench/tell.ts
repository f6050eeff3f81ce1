/**
 * `tell`: messages per second through the real runtime API — 1,000 supervised actors with
 * synchronous handlers, metrics on — against a bare array-mailbox loop doing the same work in
 * the same process. The producer respects backpressure and yields once per round, as a
 * real sender does.
 *
 * @module
 */
import {
  ActorSystem,
  createLogger,
  defineActor,
  MemoryStore,
  type Persistence,
} from "../runtime/mod.ts";
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
  const counter = defineActor({
    name: "counter",
    initialState: () => ({ count: 0 }),
    handlers: {
      add(ctx, n: number) {
        ctx.state.count += n;
      },
    },
    queries: { get: (ctx) => ctx.state.count },
    options: { persistence, passivateAfter: null },
  });
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

if (import.meta.main) {
  // Warm both paths up, then keep each one's best of three.
  await bareLoop();
  await runtime("none");
  const baseline = await best(3, bareLoop);
  const value = await best(3, () => runtime("none"));
  const persisted = await best(2, () => runtime("snapshot"));
  const ratio = value / baseline;
  await report({
    name: "tell",
    value,
    unit: "msgs/s",
    baseline: "bare array-mailbox loop (message objects, run queue, handler table)",
    baselineValue: baseline,
    ratio,
    target: "≥ 0.25 of the bare loop",
    met: ratio >= 0.25,
    machine: machine(),
    details: {
      actors: ACTORS,
      messages: TOTAL,
      persistence: "none",
      snapshotPersistedMsgsPerSec: Math.round(persisted),
      snapshotRatio: persisted / baseline,
    },
  });
}
