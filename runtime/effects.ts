/**
 * Effects: what a handler does besides changing state — emit an event, tell another actor, set
 * a timer or a reminder, persist a journal event — and when it takes effect. Inside a command of
 * a persisted actor, emits, tells and reminder changes are held back in the command's log entry
 * (see command_log.ts) and released only once the state change is durable; elsewhere (queries,
 * `onActivate`, actors without persistence) they take effect at once. Timers live in memory and
 * die with the activation; reminders are stored, written after the state that set them.
 *
 * {@link Effects} is the {@link ActivationHost} of every activation: the `ctx` methods of a
 * handler land here.
 *
 * @module
 */
import type { Address, TimerSchedule } from "./actor.ts";
import {
  type Activation,
  type ActivationHost,
  type ActorType,
  IN_COMMAND,
  STOPPED,
} from "./activation.ts";
import type { Clock } from "./clock.ts";
import { type Effect, LOG_STRIDE, logEffects, logReply, logResult } from "./command_log.ts";
import type { CommitEntry } from "./committer.ts";
import { toMillis } from "./duration.ts";
import { ConfigError, describeError, FencedError } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import type { Projection } from "./projection.ts";
import type { Recovery } from "./recovery.ts";
import { reminderKey, type ReminderRecord, ReminderService } from "./reminders.ts";
import type { PendingReply } from "./reply.ts";
import { firstDue, type Schedule, validateSchedule } from "./schedule.ts";
import type { JsonValue, StateStore } from "./store.ts";
import type { Transport } from "./transport.ts";

/** How effects reach actors: the dispatcher's sends (see dispatcher.ts). */
export interface EffectSender {
  /** Sends from inside the system: to a local mailbox, or over the transport. */
  send(to: Address, kind: string, payload: unknown): void | Promise<void>;
  /** Queues a message in a local actor's mailbox. */
  enqueue(a: Activation, kind: string, payload: unknown, reply: null): void | Promise<void>;
}

/** What a released effect may need from the rest of the system: dead letters (recovery.ts). */
export type EffectsHost = Pick<Recovery, "deadLetter">;

/** What {@link Effects} runs on. */
export interface EffectsOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventBus;
  readonly transport: Transport;
  readonly instruments: RuntimeInstruments;
  /** This system's writer id, recorded on every journal event. */
  readonly writerId: string;
  /** The registered types by name (the system's own map). */
  readonly types: ReadonlyMap<string, ActorType>;
  /** The projections of each journaled type, fed every durable event. */
  readonly projections: ReadonlyMap<string, readonly Projection<unknown, unknown>[]>;
  readonly reminders: ReminderService;
  readonly sender: EffectSender;
  readonly host: EffectsHost;
}

/** Holds back, releases and carries out what handlers do besides changing state. */
export class Effects implements ActivationHost {
  readonly logger: Logger;
  #store: StateStore;
  #clock: Clock;
  #events: EventBus;
  #transport: Transport;
  #m: RuntimeInstruments;
  #writerId: string;
  #types: ReadonlyMap<string, ActorType>;
  #projections: ReadonlyMap<string, readonly Projection<unknown, unknown>[]>;
  #reminders: ReminderService;
  #sender: EffectSender;
  #host: EffectsHost;

  constructor(options: EffectsOptions) {
    this.logger = options.logger;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#transport = options.transport;
    this.#m = options.instruments;
    this.#writerId = options.writerId;
    this.#types = options.types;
    this.#projections = options.projections;
    this.#reminders = options.reminders;
    this.#sender = options.sender;
    this.#host = options.host;
  }

  // ---------------------------------------------------------------- the handler's ctx

  /** The system clock's time. */
  now(): number {
    return this.#clock.now();
  }

  /** `ctx.emit`: held back inside a command, published at once elsewhere. */
  emit(a: Activation, topic: string, data: JsonValue, key: string | null): void {
    if ((a.flags & IN_COMMAND) !== 0) {
      (a.effects ??= []).push({ kind: "emit", topic, data, key });
    } else this.publish(topic, data, key);
  }

  /** `ctx.tell`: held back inside a command, sent at once elsewhere. */
  tellFrom(a: Activation, to: Address, message: string, payload: unknown): void {
    const effect: Effect = { kind: "tell", to, message, payload };
    if ((a.flags & IN_COMMAND) !== 0) (a.effects ??= []).push(effect);
    else this.#release(a, effect);
  }

  /** `ctx.persist`: records a journal event of the running command and folds it into state. */
  persistEvent(a: Activation, event: unknown): void {
    const t = a.t;
    if (t.persistence !== "journal") {
      throw new ConfigError(`${a.childName}: persist() needs persistence "journal"`);
    }
    if ((a.flags & IN_COMMAND) === 0) {
      throw new ConfigError(
        `${a.childName}: persist() is only allowed inside a command handler`,
      );
    }
    (a.events ??= []).push({ e: event as JsonValue, n: a.seq, w: this.#writerId });
    const next = t.def.apply!(a.state, event, a.id);
    if (next !== undefined) a.state = next;
  }

  /** `ctx.setTimer`: (re)starts an in-memory timer that sends `kind` to the actor. */
  setTimer(
    a: Activation,
    name: string,
    schedule: TimerSchedule,
    kind: string,
    payload: unknown,
  ): void {
    const timers = (a.ext ??= {}).timers ??= new Map();
    const old = timers.get(name);
    if (old !== undefined) this.#clock.clearTimeout(old);
    const every = "every" in schedule;
    const ms = toMillis(every ? schedule.every : schedule.after, `timer ${name}`);
    if (every && ms <= 0) throw new ConfigError(`timer ${name}: period must be positive`);
    const fire = () => {
      if ((a.flags & STOPPED) !== 0) return;
      if (every) timers.set(name, this.#clock.setTimeout(fire, ms));
      else timers.delete(name);
      try {
        const queued = this.#sender.enqueue(a, kind, payload, null);
        if (queued !== undefined) queued.catch(() => {});
      } catch (error) {
        this.#host.deadLetter(a, kind, payload, "undeliverable", error);
      }
    };
    timers.set(name, this.#clock.setTimeout(fire, ms));
  }

  /** `ctx.cancelTimer`. */
  cancelTimer(a: Activation, name: string): void {
    const timers = a.ext?.timers;
    const handle = timers?.get(name);
    if (handle === undefined) return;
    this.#clock.clearTimeout(handle);
    timers!.delete(name);
  }

  /** Stops every timer of `a` (a passivation, a supervised restart, shutdown). */
  cancelTimers(a: Activation): void {
    const timers = a.ext?.timers;
    if (timers === undefined) return;
    for (const handle of timers.values()) this.#clock.clearTimeout(handle);
    timers.clear();
  }

  /** The stored record of a reminder `ctx.setReminder` asks for (its schedule checked). */
  makeReminder(
    a: Activation,
    name: string,
    schedule: Schedule,
    kind: string,
    data: JsonValue,
  ): ReminderRecord {
    const valid = validateSchedule(schedule);
    const now = this.#clock.now();
    return {
      partition: this.#transport.partitionOf(a.t.name, a.id),
      type: a.t.name,
      id: a.id,
      name,
      kind,
      data,
      schedule: valid,
      due: firstDue(valid, now),
    };
  }

  /**
   * `ctx.setReminder` / `ctx.cancelReminder` (`record` null): held back inside a command (the
   * committer writes it after the state), written at once elsewhere.
   */
  setReminder(a: Activation, name: string, record: ReminderRecord | null): void {
    const key = reminderKey(this.#transport.partitionOf(a.t.name, a.id), a.t.name, a.id, name);
    if ((a.flags & IN_COMMAND) !== 0) {
      (a.effects ??= []).push({ kind: "reminder", name, key, record });
      return;
    }
    this.#persistReminder(a, name, key, record);
  }

  // ---------------------------------------------------------------- release

  /**
   * A commit entry is durable at `version`: every command's reply is resolved and its effects
   * released, in command order; the journal events go to the type's projections.
   */
  committed(entry: CommitEntry, version: number): void {
    const a = entry.a;
    if (version > a.version) a.version = version;
    const log = entry.applied;
    if (log !== null) {
      // A partition lost meanwhile (frozen past its lease): its events stay unpublished.
      const quiet = entry.partition >= 0 &&
        this.#transport.fencing?.holds(entry.partition) === false;
      for (let at = 0; at < log.length; at += LOG_STRIDE) {
        logReply(log, at)?.resolve(logResult(log, at));
        const effects = logEffects(log, at);
        if (effects === null) continue;
        for (const effect of effects) {
          if (!quiet || effect.kind !== "emit") this.#release(a, effect);
        }
      }
    }
    if (entry.events !== null) {
      const events = entry.events.map((r) => r.e);
      for (const p of this.#projections.get(a.t.name) ?? []) {
        p.feed(a.id, entry.fromVersion + 1, events);
      }
    }
  }

  /**
   * Releases what a command a replay found durable already had held back: its reply, its
   * effects, and its reminder changes (written now: they were to follow the state's write).
   */
  releaseDurable(
    a: Activation,
    reply: PendingReply | null,
    result: unknown,
    effects: Effect[] | null,
  ): void {
    reply?.resolve(result);
    if (effects === null) return;
    for (const effect of effects) {
      if (effect.kind === "reminder") {
        this.#persistReminder(a, effect.name, effect.key, effect.record);
      } else this.#release(a, effect);
    }
  }

  /** Publishes an event on the bus, counted by topic. */
  publish(topic: string, data: JsonValue, key: string | null): void {
    this.#m.events.labels(topic).inc();
    this.#events.publish(topic, data, key);
  }

  /** Hands a reminder's firing to its actor (activating it if needed). */
  deliverReminder(record: ReminderRecord, tick: unknown): void | Promise<void> {
    const t = this.#types.get(record.type);
    if (t === undefined) {
      this.logger.warn("reminder for an actor type not registered here; skipped", {
        actor: `${record.type}/${record.id}`,
        reminder: record.name,
      });
      return;
    }
    return this.#sender.send({ type: record.type, id: record.id }, record.kind, tick);
  }

  #release(a: Activation, effect: Effect): void {
    switch (effect.kind) {
      case "emit":
        return this.publish(effect.topic, effect.data, effect.key);
      case "reminder":
        return this.#reminders.apply(effect.key, effect.record);
      case "tell":
        try {
          const queued = this.#sender.send(effect.to, effect.message, effect.payload);
          if (queued !== undefined) queued.catch((error) => this.#undeliverable(a, effect, error));
        } catch (error) {
          this.#undeliverable(a, effect, error);
        }
    }
  }

  /** Writes a reminder change (`null`: removal), then schedules it; a failure is logged. */
  /**
   * Writes a reminder change (`null`: removal) — in cluster mode under its partition's fence,
   * or not at all once the partition is not held here — then schedules it; a failure is logged.
   */
  #persistReminder(a: Activation, name: string, key: string, record: ReminderRecord | null): void {
    let op = ReminderService.op(key, record);
    const fencing = this.#transport.fencing;
    if (fencing !== undefined) {
      const fence = fencing.fenceFor(this.#transport.partitionOf(a.t.name, a.id));
      if (fence === null) {
        this.#m.storeFenced.inc();
        return; // the partition moved: its new owner has this actor's reminders
      }
      op = { ...op, fence };
    }
    this.#store.commit([op]).then(
      ([result]) => {
        if (result!.ok) return this.#reminders.apply(key, record);
        if (result!.conflict) return;
        if (result!.error instanceof FencedError) this.#m.storeFenced.inc();
        this.logger.error("could not persist a reminder", {
          actor: a.childName,
          reminder: name,
          error: describeError(result!.error),
        });
      },
      (error) =>
        this.logger.error("could not persist a reminder", {
          actor: a.childName,
          reminder: name,
          error: describeError(error),
        }),
    );
  }

  #undeliverable(from: Activation, effect: Effect & { kind: "tell" }, error: unknown): void {
    this.logger.warn("message from an actor could not be delivered", {
      from: from.childName,
      to: `${effect.to.type}/${effect.to.id}`,
      kind: effect.message,
      error: describeError(error),
    });
    const t = this.#types.get(effect.to.type);
    const target = t?.activations.get(effect.to.id);
    this.#host.deadLetter(target ?? from, effect.message, effect.payload, "undeliverable", error);
  }
}
