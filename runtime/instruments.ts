/**
 * The runtime's own metrics, created once per actor system on its registry. Hot-path code
 * holds pre-bound children (one per actor type), so counting a message is `child.value++`.
 *
 * @module
 */
import {
  type Counter,
  type Gauge,
  type Histogram,
  LATENCY_BUCKETS,
  type MetricsRegistry,
} from "./metrics.ts";

/** Every metric family the runtime reports. */
export interface RuntimeInstruments {
  readonly messages: Counter;
  readonly mailboxDepth: Gauge;
  readonly mailboxRejections: Counter;
  readonly activeActors: Gauge;
  readonly activations: Counter;
  readonly passivations: Counter;
  readonly evictions: Counter;
  readonly actorCap: Gauge;
  readonly crashes: Counter;
  readonly rejections: Counter;
  readonly restarts: Counter;
  readonly escalations: Counter;
  readonly deadLetters: Counter;
  readonly handlerSeconds: Histogram;
  readonly storeSeconds: Histogram;
  readonly storeBatchOps: Histogram;
  readonly storeErrors: Counter;
  readonly storeConflicts: Counter;
  readonly storeFenced: Counter;
  readonly storeRegressions: Counter;
  readonly remindersFired: Counter;
  readonly remindersMissed: Counter;
  readonly events: Counter;
  readonly duplicates: Counter;
}

/** Registers the runtime's metric families on `registry`. */
export function createInstruments(registry: MetricsRegistry): RuntimeInstruments {
  const type = ["type"] as const;
  return {
    messages: registry.counter({
      name: "flotilla_messages_total",
      help: "Messages processed by actors, by actor type.",
      labels: type,
    }),
    mailboxDepth: registry.gauge({
      name: "flotilla_mailbox_depth",
      help: "Messages queued in mailboxes, by actor type.",
      labels: type,
    }),
    mailboxRejections: registry.counter({
      name: "flotilla_mailbox_rejections_total",
      help: "Sends refused because a mailbox was full.",
      labels: type,
    }),
    activeActors: registry.gauge({
      name: "flotilla_active_actors",
      help: "Actors activated in memory now, by actor type.",
      labels: type,
    }),
    activations: registry.counter({
      name: "flotilla_activations_total",
      help: "Actor activations (state loaded from the store).",
      labels: type,
    }),
    passivations: registry.counter({
      name: "flotilla_passivations_total",
      help: "Idle actors passivated (state flushed, memory freed).",
      labels: type,
    }),
    evictions: registry.counter({
      name: "flotilla_actor_evictions_total",
      help: "Idle actors passivated early to keep the node within its cap on live actors.",
      labels: type,
    }),
    actorCap: registry.gauge({
      name: "flotilla_active_actors_cap",
      help: "Most actors in memory before the least recently used idle ones are evicted " +
        "(+Inf: no cap).",
    }),
    crashes: registry.counter({
      name: "flotilla_actor_crashes_total",
      help: "Handler failures that crashed an actor.",
      labels: type,
    }),
    rejections: registry.counter({
      name: "flotilla_messages_rejected_total",
      help: "Messages a handler refused with a client error (state restored, sender told).",
      labels: type,
    }),
    restarts: registry.counter({
      name: "flotilla_actor_restarts_total",
      help: "Actor restarts by their supervisor.",
      labels: type,
    }),
    escalations: registry.counter({
      name: "flotilla_supervisor_escalations_total",
      help: "Supervisors that exceeded their restart intensity and failed to their parent.",
      labels: ["supervisor"],
    }),
    deadLetters: registry.counter({
      name: "flotilla_dead_letters_total",
      help: "Messages that could not be processed, by actor type and reason.",
      labels: ["type", "reason"],
    }),
    handlerSeconds: registry.histogram({
      name: "flotilla_handler_duration_seconds",
      help: "Handler run time (synchronous handlers sampled 1 in 128, async ones all).",
      labels: type,
      buckets: LATENCY_BUCKETS,
    }),
    storeSeconds: registry.histogram({
      name: "flotilla_store_duration_seconds",
      help: "Store round trips, by store and operation.",
      labels: ["store", "op"],
      buckets: LATENCY_BUCKETS,
    }),
    storeBatchOps: registry.histogram({
      name: "flotilla_store_batch_ops",
      help: "Operations per group commit.",
      labels: ["store"],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    }),
    storeErrors: registry.counter({
      name: "flotilla_store_errors_total",
      help: "Store calls that failed (the work is retried).",
      labels: ["store", "op"],
    }),
    storeConflicts: registry.counter({
      name: "flotilla_store_conflicts_total",
      help: "Compare-and-set writes that lost to another writer.",
      labels: ["store"],
    }),
    storeFenced: registry.counter({
      name: "flotilla_store_fenced_total",
      help: "Writes the store refused because a newer owner holds their partition's fence.",
    }),
    storeRegressions: registry.counter({
      name: "flotilla_store_regressions_total",
      help: "Writes that found the store gone back in time (data loss the node repairs from " +
        "the stream where it can), by kind: actor (a version behind), partition (a fence " +
        "record behind).",
      labels: ["kind"],
    }),
    remindersFired: registry.counter({
      name: "flotilla_reminders_fired_total",
      help: "Durable reminder firings delivered.",
    }),
    remindersMissed: registry.counter({
      name: "flotilla_reminder_missed_ticks_total",
      help: "Reminder firings missed during downtime and coalesced.",
    }),
    events: registry.counter({
      name: "flotilla_events_published_total",
      help: "Events published on the event bus, by topic.",
      labels: ["topic"],
    }),
    duplicates: registry.counter({
      name: "flotilla_duplicates_skipped_total",
      help: "Redelivered messages an actor had already applied, acknowledged without applying.",
      labels: type,
    }),
  };
}
