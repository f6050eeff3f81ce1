/**
 * Helpers for the payments tests: a system running the payment actors with a scripted fraud
 * model and stand-ins for the alert book and the transaction rollup (which record what they
 * are told), and a dump of everything a store holds (to look for raw card tokens).
 *
 * @module
 */
import {
  ALERT_BOOK,
  type AlertSignal,
  TRANSACTION_ROLLUP,
  type TransactionRecord,
} from "../../actors/contracts.ts";
import {
  actors,
  type FraudScorer,
  GATEWAY,
  type PaymentsConfig,
  TERMINAL,
} from "../../actors/payments/mod.ts";
import {
  type BusEvent,
  defineActor,
  ManualClock,
  MemoryStore,
  type StateStore,
} from "../../runtime/mod.ts";
import { setup } from "./system.ts";

/** 12:00 in Seoul (03:00 UTC), 23 November 2026: daytime for the night rule. */
export const NOON_KST = Date.UTC(2026, 10, 23, 3, 0, 0);

/** A fraud model that answers what the test says: a number, or an error to throw. */
export class ScriptedScorer implements FraudScorer {
  /** The next answers; a number, or an Error to reject with. */
  value: number | Error = 0;
  /** Every feature vector scored. */
  readonly calls: number[][] = [];
  score(features: readonly number[]): Promise<number> {
    this.calls.push([...features]);
    return this.value instanceof Error ? Promise.reject(this.value) : Promise.resolve(this.value);
  }
}

/** Options of {@link paymentsSystem}. */
export interface PaymentsSystemOptions {
  readonly store?: StateStore;
  readonly clock?: ManualClock;
  readonly scorer?: FraudScorer;
  readonly config?: Partial<PaymentsConfig>;
}

/**
 * A system (not started) with the payment actors, a {@link ScriptedScorer} (unless one is
 * given), and recording stand-ins for the alert book and the transaction rollup.
 */
export function paymentsSystem(options: PaymentsSystemOptions = {}) {
  const scorer = options.scorer ?? new ScriptedScorer();
  const alerts: AlertSignal[] = [];
  const transactions: TransactionRecord[] = [];
  const alertBook = defineActor({
    name: ALERT_BOOK,
    initialState: () => ({}),
    handlers: {
      raise: (_ctx, signal: AlertSignal) => void alerts.push(signal),
      resolve: () => {},
    },
    options: { persistence: "none" },
  });
  const rollup = defineActor({
    name: TRANSACTION_ROLLUP,
    initialState: () => ({}),
    handlers: { record: (_ctx, r: TransactionRecord) => void transactions.push(r) },
    options: { persistence: "none" },
  });
  const events: BusEvent[] = [];
  const { system, clock, store } = setup(
    [...actors({ ...options.config, scorer }), alertBook, rollup],
    {
      store: options.store ?? (new MemoryStore() as StateStore),
      clock: options.clock ?? new ManualClock(NOON_KST),
      logs: "discard",
    },
  );
  system.events.subscribe({}, (e) => {
    if (!("reset" in e)) events.push(e);
  });
  return {
    system,
    clock,
    store,
    scorer,
    alerts,
    transactions,
    /** Events published on the bus (all topics). */
    events,
    terminal: (id: string) => system.ref(TERMINAL, id),
    gateway: (id: string) => system.ref(GATEWAY, id),
  };
}

/** Everything a store holds — snapshots, journals, reminders — as one JSON text. */
export async function dumpStore(store: StateStore): Promise<string> {
  const parts: unknown[] = [];
  for (const key of await store.keys("")) parts.push(key, (await store.get(key))?.value);
  for (const key of await store.journalKeys("")) parts.push(key, await store.readJournal(key, 0));
  return JSON.stringify(parts);
}
