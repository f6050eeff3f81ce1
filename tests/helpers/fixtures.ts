/**
 * Actor types the runtime's tests (and `bench/tell.ts`) share, so each test file does not
 * define its own near-copy: a counter with the handlers those tests exercise (commands that
 * succeed, wait, refuse, crash, tell, set timers and reminders), and a recorder that keeps the
 * messages it got in order. Each is a factory, for a test that needs other options or a second
 * type under another name; `counter` is the counter with default options.
 *
 * @example
 * ```ts
 * import { counter, defineCounter } from "./helpers/fixtures.ts";
 * const { system } = setup([counter]);
 * await system.start();
 * await system.ref(counter, "a").ask("add", 2); // 2
 * const noisy = defineCounter({ emits: true, options: { passivateAfter: 1000 } });
 * ```
 *
 * @module
 */
import {
  type ActorContext,
  type ActorOptions,
  defineActor,
  ValidationError,
} from "../../runtime/mod.ts";

/** A counter's state: its count, and how many times its timers fired (absent: never). */
export interface CounterState {
  n: number;
  ticks?: number;
}

type Counter = ActorContext<CounterState>;

/** Options of {@link defineCounter}. */
export interface CounterOptions {
  /** The type's name. @default "counter" */
  readonly name?: string;
  /** `add` also emits `counter` events `{n}` keyed by the actor's id (a held-back effect). */
  readonly emits?: boolean;
  readonly options?: ActorOptions;
  /** Runs as an actor is passivated. */
  readonly onPassivate?: (ctx: Counter) => void;
}

function add(ctx: Counter, k: number): number {
  ctx.state.n += k;
  return ctx.state.n;
}

function addAndEmit(ctx: Counter, k: number): number {
  ctx.state.n += k;
  ctx.emit("counter", { n: ctx.state.n }, ctx.id);
  return ctx.state.n;
}

/**
 * A counter. Commands: `add(k)` → the new count; `addLater({k, gate})` adds once `gate`
 * resolves (an asynchronous handler); `forward({to, k})` counts 1 and tells counter `to` to add
 * `k`; `bad(k = 0)` adds `k`, emits, tells counter `sink`, then refuses with a
 * `ValidationError` (none of it may stick or leave); `boom` adds 1000 then throws (a crash);
 * `timer({name, after | every})` starts a timer sending `tick`, which counts `ticks`;
 * `cancel(name)` stops it; `remind(name)` sets a reminder due in 1 s, whose `reminder` adds
 * 100. Queries: `get` → the count, `ticks` → the timer firings, `version` → the durable
 * version, `ping` → `"pong"` (and emits `{ping: n}` at once: a query's effects are not held
 * back). Its stored state is `{n}` until a timer fires.
 */
export function defineCounter(o: CounterOptions = {}) {
  return defineActor({
    name: o.name ?? "counter",
    initialState: (): CounterState => ({ n: 0 }),
    handlers: {
      add: o.emits ? addAndEmit : add,
      async addLater(ctx, m: { k: number; gate: Promise<void> }) {
        await m.gate;
        ctx.state.n += m.k;
        return ctx.state.n;
      },
      forward(ctx, m: { to: string; k: number }) {
        ctx.state.n += 1;
        ctx.tell({ type: ctx.type, id: m.to }, "add", m.k);
        return ctx.state.n;
      },
      bad(ctx, k = 0): never {
        ctx.state.n += k;
        ctx.emit("counter", { n: ctx.state.n }, ctx.id);
        ctx.tell({ type: ctx.type, id: "sink" }, "add", k);
        throw new ValidationError("k is not acceptable", [{ path: "", message: "refused" }]);
      },
      boom(ctx): never {
        ctx.state.n += 1000;
        throw new Error("boom");
      },
      timer(ctx, m: { name: string; after?: number; every?: number }) {
        ctx.setTimer(
          m.name,
          m.every === undefined ? { after: m.after! } : { every: m.every },
          "tick",
          m.name,
        );
      },
      cancel(ctx, name: string) {
        ctx.cancelTimer(name);
      },
      tick(ctx) {
        ctx.state.ticks = (ctx.state.ticks ?? 0) + 1;
      },
      remind(ctx, name: string) {
        ctx.setReminder(name, { after: 1000 });
      },
      reminder(ctx) {
        ctx.state.n += 100;
      },
    },
    queries: {
      get: (ctx) => ctx.state.n,
      ticks: (ctx) => ctx.state.ticks ?? 0,
      version: (ctx) => ctx.version,
      ping(ctx) {
        ctx.emit("counter", { ping: ctx.state.n }, ctx.id);
        return "pong";
      },
    },
    onPassivate: o.onPassivate,
    options: o.options,
  });
}

/** The counter with default options (type `counter`). */
export const counter = defineCounter();

/** Options of {@link defineRecorder}. */
export interface RecorderOptions {
  /** The type's name. @default "recorder" */
  readonly name?: string;
  readonly options?: ActorOptions;
}

/**
 * A recorder: command `record(m)` appends `m` to what it has seen and answers how many that
 * is; query `seen` → every message recorded, in order.
 */
export function defineRecorder(o: RecorderOptions = {}) {
  return defineActor({
    name: o.name ?? "recorder",
    initialState: () => ({ seen: [] as number[] }),
    handlers: {
      record(ctx, m: number) {
        ctx.state.seen.push(m);
        return ctx.state.seen.length;
      },
    },
    queries: { seen: (ctx) => ctx.state.seen },
    options: o.options,
  });
}
