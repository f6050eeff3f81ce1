/**
 * The in-memory record of one activated actor, and of one registered actor type.
 *
 * An {@link Activation} is also the `ctx` its handlers receive: no context object is
 * allocated per message. It is kept small (a handful of fields; rarely used state lives in
 * `ext`) because a node holds up to millions of them.
 *
 * @module
 */
import type {
  ActorContext,
  Address,
  AnyActorDefinition,
  Handler,
  Persistence,
  TimerSchedule,
} from "./actor.ts";
import { toMillis } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import type { Mailbox } from "./mailbox.ts";
import type { CounterChild, GaugeChild, HistogramChild } from "./metrics.ts";
import type { Schedule } from "./schedule.ts";
import type { JsonValue } from "./store.ts";
import { resolvePolicy, type SupervisedChild, type SupervisorNode } from "./supervisor.ts";
import type { TimerHandle } from "./clock.ts";
import type { PendingReply } from "./reply.ts";
import type { CommandLog, Effect } from "./command_log.ts";
import type { ReminderRecord } from "./reminders.ts";

/** State is being loaded (activation or restart); messages wait. */
export const LOADING = 1;
/** In the dispatcher's run queue. */
export const SCHEDULED = 2;
/** An asynchronous handler is running; messages wait. */
export const BUSY = 4;
/** Holds changes not yet handed to the committer. */
export const DIRTY = 8;
/** In the committer's queue. */
export const IN_COMMIT_QUEUE = 16;
/** A commit of its changes is in flight. */
export const COMMITTING = 32;
/** Crashed or restarting: processes nothing until reloaded. */
export const SUSPENDED = 64;
/** Passivated or discarded: references must resolve a new activation. */
export const STOPPED = 128;
/** A named child of a supervision tree: never passivated. */
export const PINNED = 256;
/** A command of a persisted actor is running: its effects wait for the commit. */
export const IN_COMMAND = 512;
/** Its partition moved to another node: it finishes what it has, takes nothing new, and goes. */
export const RELEASED = 1024;
/** Any of these: the actor processes no message now (they wait in its mailbox). */
export const UNRUNNABLE = LOADING | BUSY | SUSPENDED | STOPPED;

/**
 * A journal event as stored: the event, the command (sequence, writer) that recorded it, and
 * on a command's last event the source position of the message the command came from.
 */
export interface JournalRecord {
  readonly e: JsonValue;
  readonly n: number;
  readonly w: string;
  q?: [source: string, seq: number];
}

/**
 * A snapshot as stored: the state, the sequence number of the last command applied to it,
 * and per writer (an actor system instance) the last command sequence it wrote. The writers
 * map lets a writer tell, after an ambiguous store failure, which of its commands landed.
 */
export interface SnapshotEnvelope {
  readonly s: JsonValue;
  readonly n: number;
  readonly w: Readonly<Record<string, number>>;
  /** Per message source, the last position applied (see `DeliveryOptions.source`). */
  readonly q?: Readonly<Record<string, number>>;
  /** Journaled actors: the journal version the snapshot covers. */
  readonly j?: number;
}

/**
 * The snapshot to store for `a` now: its state, the sequence of its last command, the writers'
 * last sequences (this one's, `writerId`, set to it) and its sources' positions.
 */
export function envelopeOf(a: Activation, writerId: string): SnapshotEnvelope {
  const writers: Record<string, number> = a.ext?.writers === undefined ? {} : { ...a.ext.writers };
  writers[writerId] = a.seq;
  return a.sources === null
    ? { s: a.state as JsonValue, n: a.seq, w: writers }
    : { s: a.state as JsonValue, n: a.seq, w: writers, q: { ...a.sources } };
}

/** What activations and types need from the system that hosts them. */
export interface ActivationHost {
  readonly logger: Logger;
  now(): number;
  emit(a: Activation, topic: string, data: JsonValue, key: string | null): void;
  tellFrom(a: Activation, to: Address, kind: string, payload: unknown): void;
  persistEvent(a: Activation, event: unknown): void;
  setTimer(
    a: Activation,
    name: string,
    schedule: TimerSchedule,
    kind: string,
    payload: unknown,
  ): void;
  cancelTimer(a: Activation, name: string): void;
  setReminder(a: Activation, name: string, record: ReminderRecord | null): void;
  makeReminder(
    a: Activation,
    name: string,
    schedule: Schedule,
    kind: string,
    data: JsonValue,
  ): ReminderRecord;
}

const PERSISTENCE: readonly Persistence[] = ["snapshot", "journal", "none"];

/** A registered actor type with its options resolved and its metrics bound. */
export class ActorType {
  readonly name: string;
  readonly def: AnyActorDefinition;
  /** Commands and queries by kind, in objects without a prototype (no `toString` handler). */
  readonly handlers: Record<string, Handler<unknown, unknown>>;
  readonly queries: Record<string, Handler<unknown, unknown>>;
  readonly persistence: Persistence;
  readonly capacity: number;
  readonly rejectWhenFull: boolean;
  readonly passivateAfterMs: number;
  readonly snapshotEvery: number;
  /** Journaled: compact the journal behind each snapshot. */
  readonly compact: boolean;
  readonly askTimeoutMs: number;
  readonly activations = new Map<string, Activation>();
  readonly host: ActivationHost;
  supervisor!: SupervisorNode;
  /** Counts messages so that one in 16 synchronous handler runs is timed. */
  tick = 0;
  readonly processed: CounterChild;
  readonly queued: GaugeChild;
  readonly active: GaugeChild;
  readonly latency: HistogramChild;
  readonly activated: CounterChild;
  readonly passivated: CounterChild;
  readonly crashes: CounterChild;
  readonly rejections: CounterChild;
  readonly restarts: CounterChild;
  readonly mailboxRejections: CounterChild;

  constructor(
    def: AnyActorDefinition,
    host: ActivationHost,
    m: RuntimeInstruments,
  ) {
    const o = def.options ?? {};
    this.name = def.name;
    this.def = def;
    this.host = host;
    this.handlers = Object.assign(Object.create(null), def.handlers);
    this.queries = Object.assign(Object.create(null), def.queries ?? {});
    this.persistence = o.persistence ?? "snapshot";
    if (!PERSISTENCE.includes(this.persistence)) {
      throw new ConfigError(
        `actor type ${def.name}: persistence must be one of ${PERSISTENCE.join(", ")}`,
      );
    }
    this.capacity = o.mailbox?.capacity ?? 1000;
    this.rejectWhenFull = o.mailbox?.overflow === "reject";
    this.passivateAfterMs = o.passivateAfter === null
      ? Infinity
      : toMillis(o.passivateAfter ?? "PT10M", `${def.name} passivateAfter`);
    this.snapshotEvery = o.snapshotEvery ?? 100;
    this.compact = o.compact ?? true;
    this.askTimeoutMs = toMillis(o.askTimeout ?? "PT5S", `${def.name} askTimeout`);
    resolvePolicy(o.supervision, `actor type ${def.name}`);
    this.processed = m.messages.labels(def.name);
    this.queued = m.mailboxDepth.labels(def.name);
    this.active = m.activeActors.labels(def.name);
    this.latency = m.handlerSeconds.labels(def.name);
    this.activated = m.activations.labels(def.name);
    this.passivated = m.passivations.labels(def.name);
    this.crashes = m.crashes.labels(def.name);
    this.rejections = m.rejections.labels(def.name);
    this.restarts = m.restarts.labels(def.name);
    this.mailboxRejections = m.mailboxRejections.labels(def.name);
  }

  /** Store key of an actor's snapshot (and journal). */
  key(id: string): string {
    return `a/${this.name}/${id}`;
  }
}

/** Rarely needed per-activation state, allocated on first use. */
export interface ActivationExt {
  timers?: Map<string, TimerHandle>;
  /** The named tree's supervisor, when not the type's. */
  supervisor?: SupervisorNode;
  restartLog?: number[] | null;
  /** A pending restart's timer. */
  restartTimer?: TimerHandle;
  /** Reload once the in-flight commit settles. */
  reloadAfterCommit?: boolean;
  /** Whether the pending reload is a supervised restart (counted, reported) or a restore. */
  restarting?: boolean;
  /** Journal version at the last snapshot. */
  snapshotAt?: number;
  /** The compaction of a journal behind its snapshot is being written. */
  snapshotting?: boolean;
  /**
   * Journaled: write a snapshot with the next append whatever its version (the store went back
   * in time, and the state in memory holds events it lost).
   */
  snapshotNext?: boolean;
  /** A restart asked for while an async handler ran. */
  deferredRestart?: { readonly delayMs: number; readonly counted: boolean };
  /** Commands to apply again (or, when durable after all, to release) before the mailbox. */
  replay?: CommandLog | null;
  /** Position in `replay`. */
  replayAt?: number;
  /** The last command sequence of this system known durable, as of the last load. */
  durable?: number;
  /** Other writers' last sequences, carried over into the next snapshots. */
  writers?: Record<string, number>;
}

/** One activated actor; also its handlers' context. */
export class Activation<S = unknown> implements ActorContext<S, unknown>, SupervisedChild {
  readonly t: ActorType;
  readonly id: string;
  state: S;
  version = 0;
  flags = 0;
  mailbox: Mailbox<PendingReply> | null = null;
  lastActive = 0;
  /** Sequence number of the last command applied to `state` (persisted actors). */
  seq = 0;
  /** Per message source, the last position applied (transport deliveries); `null`: none. */
  sources: Record<string, number> | null = null;
  /** Commands applied since the last commit. */
  applied: CommandLog | null = null;
  /** Effects of the command running now; they move into its log entry when it returns. */
  effects: Effect[] | null = null;
  /** Journal records of the commands applied since the last commit. */
  events: JournalRecord[] | null = null;
  ext: ActivationExt | null = null;
  /** Recency order under a cap on live actors (actor_cap.ts): less recently used. */
  lruPrev: Activation | null = null;
  /** Recency order under a cap on live actors (actor_cap.ts): more recently used. */
  lruNext: Activation | null = null;

  constructor(t: ActorType, id: string, state: S) {
    this.t = t;
    this.id = id;
    this.state = state;
  }

  get type(): string {
    return this.t.name;
  }

  get childName(): string {
    return `${this.t.name}/${this.id}`;
  }

  get restartLog(): number[] | null {
    return this.ext?.restartLog ?? null;
  }

  set restartLog(log: number[] | null) {
    (this.ext ??= {}).restartLog = log;
  }

  get log(): Logger {
    return this.t.host.logger.child({ actor: this.childName });
  }

  now(): number {
    return this.t.host.now();
  }

  emit(topic: string, data: JsonValue, key: string | null = null): void {
    this.t.host.emit(this, topic, data, key);
  }

  persist(event: unknown): void {
    this.t.host.persistEvent(this, event);
  }

  tell(target: Address, kind: string, payload?: unknown): void {
    this.t.host.tellFrom(this, target, kind, payload);
  }

  setTimer(name: string, schedule: TimerSchedule, kind: string, payload?: unknown): void {
    this.t.host.setTimer(this, name, schedule, kind, payload);
  }

  cancelTimer(name: string): void {
    this.t.host.cancelTimer(this, name);
  }

  setReminder(
    name: string,
    schedule: Schedule,
    options: { readonly kind?: string; readonly data?: JsonValue } = {},
  ): void {
    const host = this.t.host;
    host.setReminder(
      this,
      name,
      host.makeReminder(this, name, schedule, options.kind ?? "reminder", options.data ?? null),
    );
  }

  cancelReminder(name: string): void {
    this.t.host.setReminder(this, name, null);
  }
}
