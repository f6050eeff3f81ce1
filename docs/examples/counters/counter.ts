/**
 * The counter actor (`counter/<id>`): a thin handler over `counter_state.ts`. Its state is
 * persisted (a snapshot) before the reply of `add` and its `counters` event go out.
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../../runtime/mod.ts";
import { type CountersConfig, DEFAULT_COUNTERS } from "./config.ts";
import { addTo, type CounterState, emptyCounter } from "./counter_state.ts";

/** The actor type's name: counters are addressed as `counter/<id>`. */
export const COUNTER = "counter";

/** What a counter answers: its id and state. */
export interface CounterView extends CounterState {
  readonly id: string;
}

type Ctx = ActorContext<CounterState>;

const view = (ctx: Ctx): CounterView => ({ id: ctx.id, ...ctx.state });

/** The counter actor type, for a configuration. */
export function counterActor(config: CountersConfig) {
  return defineActor({
    name: COUNTER,
    initialState: emptyCounter,
    handlers: {
      /** Adds `n`; replies with the new state once it is durable. */
      add(ctx: Ctx, msg: { n: number }): CounterView {
        addTo(ctx.state, msg.n, config.max, ctx.now());
        ctx.emit("counters", { id: ctx.id, count: ctx.state.count }, ctx.id);
        return view(ctx);
      },
    },
    queries: {
      /** The counter, or `null` for one never added to. */
      get: (ctx: Ctx): CounterView | null => ctx.state.changedAt === null ? null : view(ctx),
    },
    options: { persistence: "snapshot", passivateAfter: "PT10M" },
  });
}

/**
 * The actor type with the default configuration: it types refs (`system.ref(counter, id)`);
 * `actors()` of `mod.ts` gives the configured one to register (both are named `counter`).
 */
export const counter = counterActor(DEFAULT_COUNTERS);
