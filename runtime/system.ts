/**
 * The actor system: registers actor types, activates actors on their first message,
 * dispatches messages one at a time per actor, persists state by group commit, supervises,
 * passivates idle actors, and fires timers and reminders.
 *
 * Dispatch: a message to an idle actor puts the actor on a run queue drained in a microtask;
 * each actor runs up to `throughput` messages per turn. Synchronous handlers cost no promise
 * and no `await`; an asynchronous handler makes its actor wait (turn-based) while the others run.
 *
 * @module
 */
import { type Address, type AnyActorDefinition, type MessagesOf } from "./actor.ts";
import {
  Activation,
  type ActivationHost,
  ActorType,
  BUSY,
  COMMITTING,
  DIRTY,
  IN_COMMAND,
  IN_COMMIT_QUEUE,
  LOADING,
  PINNED,
  RELEASED,
  SCHEDULED,
  type SnapshotEnvelope,
  STOPPED,
  SUSPENDED,
  UNRUNNABLE,
} from "./activation.ts";
import { type Clock, SystemClock } from "./clock.ts";
import {
  type Effect,
  LOG_STRIDE,
  logEffects,
  logKind,
  logPayload,
  logReply,
  logResult,
} from "./command_log.ts";
import { type CommitEntry, type CommitOptions, GroupCommitter } from "./committer.ts";
import { type DeadLetterReason, DeadLetters } from "./dead_letters.ts";
import { type Duration, toMillis } from "./duration.ts";
import {
  ActorCrashedError,
  ConfigError,
  describeError,
  FlotillaError,
  ShutdownError,
} from "./errors.ts";
import { type EventBus, RingEventBus } from "./events.ts";
import { createInstruments, type RuntimeInstruments } from "./instruments.ts";
import { createLogger, type Logger } from "./logger.ts";
import { MetricsRegistry } from "./metrics.ts";
import { Projection, type ProjectionDefinition } from "./projection.ts";
import { ActorRef, type AnyMessages } from "./ref.ts";
import { reminderKey, type ReminderRecord, ReminderService } from "./reminders.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Loader } from "./loader.ts";
import { PendingReply } from "./reply.ts";
import { firstDue, validateSchedule } from "./schedule.ts";
import { type JsonValue, type KeyPage, pageOf, type StateStore } from "./store.ts";
import { MemoryStore } from "./stores/memory.ts";
import {
  resolvePolicy,
  type SupervisedChild,
  type SupervisionHost,
  type SupervisionPolicy,
  SupervisorNode,
} from "./supervisor.ts";
import {
  type DeliveryOptions,
  type Envelope,
  InProcessTransport,
  type LocalDelivery,
  type Transport,
} from "./transport.ts";

/** Options of {@link ActorSystem}. Every part has an in-memory default. */
export interface ActorSystemOptions {
  /** Where state lives. @default a new MemoryStore */
  readonly store?: StateStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default an InProcessTransport (every actor local) */
  readonly transport?: Transport;
  /** @default a RingEventBus keeping 10,000 events */
  readonly events?: EventBus;
  /** @default a new registry */
  readonly metrics?: MetricsRegistry;
  /** @default JSON logs at level info */
  readonly logger?: Logger;
  /** This node's name in logs and events. @default "local" */
  readonly nodeId?: string;
  /** Messages an actor processes per turn before others get theirs. @default 64 */
  readonly throughput?: number;
  /** How often idle actors are looked for. @default half the shortest passivation time, 1 s … 60 s */
  readonly sweepInterval?: Duration;
  readonly commit?: CommitOptions;
  /** Policy of the root supervisor (which supervises each type's supervisor). */
  readonly supervision?: Partial<SupervisionPolicy>;
  /** Dead letters kept for inspection. @default 1000 */
  readonly deadLetterCapacity?: number;
}

/** A child of a named supervision tree: an actor, or a nested supervisor. */
export type ChildSpec = { readonly actor: Address } | SupervisorSpec;

/** A named supervisor with its policy and children, for {@link ActorSystem.supervise}. */
export interface SupervisorSpec extends Partial<SupervisionPolicy> {
  readonly name: string;
  /** Children in start order (what rest-for-one's "rest" refers to). */
  readonly children: readonly ChildSpec[];
}

const NOT_PASSIVATABLE = UNRUNNABLE | SCHEDULED | DIRTY | IN_COMMIT_QUEUE | COMMITTING | PINNED;

/**
 * A running actor system.
 *
 * @example
 * ```ts
 * const system = new ActorSystem();
 * system.register(counter);
 * await system.start();
 * await system.ref(counter, "a").ask("add", 1);
 * await system.shutdown();
 * ```
 */
export class ActorSystem implements LocalDelivery {
  readonly nodeId: string;
  /**
   * Identifies this system instance in the snapshots it writes, so that after an ambiguous
   * store failure it can tell which of its commands landed.
   */
  readonly writerId: string;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly transport: Transport;
  readonly events: EventBus;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly deadLetters: DeadLetters;
  /** The root of the supervision tree. */
  readonly root: SupervisorNode;

  #m: RuntimeInstruments;
  #types = new Map<string, ActorType>();
  #sweepIntervalMs: number | null;
  #started = false;
  #stopped = false;

  /** Actors of released partitions, draining, by partition; and who waits for each to empty. */
  #releasing = new Map<number, Set<Activation>>();
  #releaseDone = new Map<number, () => void>();
  #idleWaiters: (() => void)[] = [];
  #idleCheck = false;
  #sweepTimer: ReturnType<Clock["setTimeout"]> | null = null;

  #committer: GroupCommitter;
  #reminders: ReminderService;
  #projections = new Map<string, Projection<unknown, unknown>[]>();
  #activationHost: ActivationHost;
  #dispatcher: Dispatcher;
  #loader: Loader;
  #supervisionHost: SupervisionHost;

  constructor(options: ActorSystemOptions = {}) {
    this.nodeId = options.nodeId ?? "local";
    this.writerId = `${this.nodeId}:${crypto.randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? new SystemClock();
    this.store = options.store ?? new MemoryStore();
    this.transport = options.transport ?? new InProcessTransport();
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.logger = options.logger ?? createLogger();
    this.events = options.events ??
      new RingEventBus({ now: () => this.clock.now() });
    this.deadLetters = new DeadLetters(options.deadLetterCapacity);
    this.#m = createInstruments(this.metrics);
    this.#sweepIntervalMs = options.sweepInterval === undefined
      ? null
      : toMillis(options.sweepInterval, "sweepInterval");

    this.#supervisionHost = {
      clock: this.clock,
      restartActor: (child, delayMs) => this.#restart(child as Activation, delayMs, true),
      escalated: (supervisor, child, to, restarts) =>
        this.#escalated(supervisor, child, to, restarts),
    };
    this.root = new SupervisorNode(
      "root",
      resolvePolicy(options.supervision, "root supervisor"),
      this.#supervisionHost,
    );
    this.#activationHost = this.#makeActivationHost();
    this.#committer = new GroupCommitter({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      instruments: this.#m,
      envelope: (a) => this.#envelope(a),
      committed: (entry, version) => this.#committed(entry, version),
      lost: (entry, actual) => this.#lost(entry, actual),
      refused: (entry, error) => this.#refused(entry, error),
      putBack: (entry) => this.#putBack(entry),
      settled: (a) => this.#settled(a),
      idleCheck: () => this.#checkIdle(),
    }, options.commit);
    this.#dispatcher = new Dispatcher({
      types: this.#types,
      transport: this.transport,
      clock: this.clock,
      committer: this.#committer,
      instruments: this.#m,
      throughput: options.throughput ?? 64,
      host: {
        activate: (t, id) => this.#loader.activate(t, id),
        failed: (a, kind, payload, reply, error, persisted) =>
          this.#failed(a, kind, payload, reply, error, persisted),
        restart: (a, delayMs, counted) => this.#restart(a, delayMs, counted),
        deadLetter: (a, kind, payload, reason, error) =>
          this.#deadLetter(a, kind, payload, reason, error),
        releaseDurable: (a, reply, result, effects) =>
          this.#releaseDurable(a, reply, result, effects),
        maybeEvict: (a) => this.#maybeEvict(a),
        checkIdle: () => this.#checkIdle(),
      },
    });
    this.#loader = new Loader({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      instruments: this.#m,
      nodeId: this.nodeId,
      writerId: this.writerId,
      host: {
        publish: (topic, data, key) => this.#publish(topic, data, key),
        crashed: (a, during, error) => this.#crashed(a, during, error),
        resume: (a) => this.#dispatcher.resume(a),
        checkIdle: () => this.#checkIdle(),
      },
    });
    this.#reminders = new ReminderService({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      instruments: this.#m,
      deliver: (record, tick) => this.#deliverReminder(record, tick),
    });
  }

  // ---------------------------------------------------------------- public API

  /**
   * Registers an actor type. Its actors are activated on their first message.
   * @throws {ConfigError} when a type of that name is already registered.
   */
  register(definition: AnyActorDefinition): this {
    if (this.#types.has(definition.name)) {
      throw new ConfigError(`actor type ${definition.name} is already registered`);
    }
    const t = new ActorType(definition, this.#activationHost, this.#m);
    const supervisor = new SupervisorNode(
      `type:${t.name}`,
      resolvePolicy(definition.options?.supervision, `actor type ${t.name}`),
      this.#supervisionHost,
      () => dynamicChildren(t),
    );
    t.supervisor = supervisor;
    this.root.adopt(supervisor);
    this.#types.set(t.name, t);
    return this;
  }

  /** The names of the registered actor types. */
  get types(): string[] {
    return [...this.#types.keys()];
  }

  /** A reference to the actor `id` of a registered type, typed by its definition. */
  ref<D extends AnyActorDefinition>(
    definition: D,
    id: string,
  ): ActorRef<MessagesOf<D>>;
  /** A reference to the actor `id` of the type registered under `type` (untyped). */
  ref(type: string, id: string): ActorRef;
  ref(type: string | AnyActorDefinition, id: string): ActorRef<AnyMessages> {
    const t = this.#dispatcher.type(typeof type === "string" ? type : type.name);
    return new ActorRef(this.#dispatcher, t, id);
  }

  /**
   * Builds a named supervision tree under the root. Its actors are activated now and pinned
   * (never passivated); their crashes are handled by this tree's strategies.
   */
  supervise(spec: SupervisorSpec): SupervisorNode {
    return this.#supervise(spec, this.root);
  }

  /**
   * Creates a projection of a journaled type's events. Call before {@link ActorSystem.start},
   * which builds the view from the journals; afterwards the view follows every durable event.
   */
  project<V, E = JsonValue>(definition: ProjectionDefinition<V, E>): Projection<V, E> {
    const t = this.#dispatcher.type(definition.source);
    if (t.persistence !== "journal") {
      throw new ConfigError(`projection ${definition.name}: actor type ${t.name} is not journaled`);
    }
    const projection = new Projection(definition, this.store, this.logger);
    const list = this.#projections.get(t.name) ?? [];
    list.push(projection as Projection<unknown, unknown>);
    this.#projections.set(t.name, list);
    return projection;
  }

  /** Starts reminders, the transport, projections and the passivation sweep. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#reminders.start();
    await this.transport.start(this);
    for (const list of this.#projections.values()) {
      for (const p of list) await p.rebuild();
    }
    this.#armSweep();
  }

  /**
   * Resolves when nothing can progress without time passing: every mailbox drained, every
   * change durable, no load or asynchronous handler in flight. Timers, reminders, restart
   * backoffs and store retries wait for the clock and do not count.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  /**
   * Delivers a message from a transport to a local actor; resolves with the reply once the
   * state change is durable (see {@link LocalDelivery}).
   */
  deliver(envelope: Envelope, options: DeliveryOptions = {}): Promise<unknown> {
    return this.#dispatcher.deliver(envelope, options);
  }

  /**
   * Called by the transport when this node starts hosting `partition`: loads its reminders and
   * takes back actors of it that were still draining from an earlier release.
   */
  async acquired(partition: number): Promise<void> {
    for (const a of this.#releasing.get(partition) ?? []) a.flags &= ~RELEASED;
    this.#releasing.delete(partition);
    await this.#reminders.load(partition);
  }

  /**
   * Called by the transport when this node gives `partition` up (after it stopped delivering
   * its messages): its actors take nothing new, finish what they hold, make it durable, and
   * are dropped from memory; resolves when they are gone, or after `timeoutMs`, when the rest
   * are dropped with their pending replies rejected (a durable transport redelivers those
   * messages to the new owner).
   */
  async released(partition: number, timeoutMs = 10_000): Promise<void> {
    this.#reminders.unload(partition);
    const leaving = new Set<Activation>();
    for (const t of this.#types.values()) {
      for (const a of t.activations.values()) {
        if (this.transport.partitionOf(t.name, a.id) !== partition) continue;
        a.flags |= RELEASED;
        leaving.add(a);
      }
    }
    if (leaving.size === 0) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#releasing.set(partition, leaving);
    this.#releaseDone.set(partition, resolve);
    for (const a of [...leaving]) this.#maybeEvict(a);
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
    this.#releaseDone.delete(partition);
    if (this.#releasing.get(partition) === leaving) this.#releasing.delete(partition);
    for (const a of [...leaving]) this.#evict(a, true);
  }

  /**
   * Stops the system gracefully: refuses new messages, drains every mailbox, waits until every
   * change is durable (at most `timeoutMs`), then stops timers, reminders and the transport.
   * The store is left open for its owner to close.
   *
   * @returns whether everything was drained and flushed in time.
   */
  async shutdown(timeoutMs = 10_000): Promise<boolean> {
    if (this.#stopped) return true;
    this.#dispatcher.stopAccepting();
    this.#reminders.stop();
    if (this.#sweepTimer !== null) this.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = null;
    this.#committer.retryNow();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flushed = await Promise.race([
      this.idle().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const t of this.#types.values()) {
      for (const a of t.activations.values()) this.#cancelTimers(a);
    }
    await this.transport.stop();
    this.#dispatcher.deadlines.close();
    this.#stopped = true;
    return flushed;
  }

  /**
   * Ids of the actors of a type that have durable state, ascending, a page at a time (actors
   * activated but never persisted are not listed).
   */
  async list(type: string, page: KeyPage = {}): Promise<string[]> {
    const t = this.#dispatcher.type(type);
    const prefix = t.key("");
    const after = page.after === undefined ? undefined : prefix + page.after;
    const keys = t.persistence === "journal"
      ? pageOf(await this.store.journalKeys(prefix), { after, limit: page.limit })
      : await this.store.keys(prefix, { after, limit: page.limit });
    return keys.map((k) => k.slice(prefix.length));
  }

  /** Activations and queued messages per type, for health pages. */
  stats(): Record<string, { active: number; queued: number }> {
    const out: Record<string, { active: number; queued: number }> = {};
    for (const t of this.#types.values()) {
      out[t.name] = { active: t.activations.size, queued: t.queued.value };
    }
    return out;
  }

  /** Releases what a command found durable on replay had held back. */
  #releaseDurable(
    a: Activation,
    reply: PendingReply | null,
    result: unknown,
    effects: Effect[] | null,
  ) {
    reply?.resolve(result);
    if (effects === null) return;
    for (const effect of effects) {
      if (effect.kind !== "reminder") {
        this.#release(a, effect);
        continue;
      }
      // Its record was to be written after the state: write it now.
      const key = effect.key;
      this.store.commit([ReminderService.op(key, effect.record)]).then(
        () => this.#reminders.apply(key, effect.record),
        (error) =>
          this.logger.error("could not persist a reminder", {
            actor: a.childName,
            reminder: effect.name,
            error: describeError(error),
          }),
      );
    }
  }

  /**
   * A handler threw. A client error (a `FlotillaError` with a 4xx status) rejects the message:
   * the sender is told and the actor's state is restored from the store. Anything else is a
   * crash: the message is dead-lettered and the supervisor decides.
   */
  #failed(
    a: Activation,
    kind: string,
    payload: unknown,
    reply: PendingReply | null,
    error: unknown,
    persisted: boolean,
  ): void {
    const t = a.t;
    if (error instanceof FlotillaError && error.status < 500) {
      t.rejections.inc();
      if (reply !== null) reply.reject(error);
      else this.#deadLetter(a, kind, payload, "rejected", error);
      if (persisted) this.#restart(a, 0, false);
      return;
    }
    t.crashes.inc();
    this.#deadLetter(a, kind, payload, "crashed", error);
    if (reply !== null) {
      reply.reject(
        new ActorCrashedError(`${a.childName} crashed handling ${kind}: ${describeError(error)}`, {
          cause: error,
        }),
      );
    }
    this.#crashed(a, `handling ${kind}`, error);
  }

  /** Reports a crash and hands the actor to its supervisor. */
  #crashed(a: Activation, during: string, error: unknown): void {
    a.flags |= SUSPENDED;
    this.logger.warn("actor crashed", { actor: a.childName, during, error: describeError(error) });
    this.#publish("system", {
      type: "actor.crashed",
      actor: a.childName,
      during,
      error: describeError(error),
      node: this.nodeId,
    }, a.id);
    (a.ext?.supervisor ?? a.t.supervisor).childFailed(a);
  }

  #deadLetter(
    a: Activation,
    kind: string,
    payload: unknown,
    reason: DeadLetterReason,
    error: unknown,
  ) {
    const text = describeError(error);
    this.deadLetters.add({
      actor: a.childName,
      kind,
      payload,
      reason,
      error: text,
      time: this.clock.now(),
    });
    this.#m.deadLetters.labels(a.t.name, reason).inc();
    this.#publish("system", {
      type: "message.dead_lettered",
      actor: a.childName,
      kind,
      reason,
      error: text,
      payload: jsonPreview(payload),
    }, a.id);
  }

  #publish(topic: string, data: JsonValue, key: string | null): void {
    this.#m.events.labels(topic).inc();
    this.events.publish(topic, data, key);
  }

  // ---------------------------------------------------------------- restarts

  /**
   * Restarts an actor after `delayMs`: its unpersisted commands go back to the front of its
   * mailbox, their effects are dropped, and once the in-flight commit (if any) settles its
   * state is reloaded and the commands re-applied. `counted` restarts (supervision) are
   * reported; uncounted ones restore state after a rejected command or a lost write race.
   */
  #restart(a: Activation, delayMs: number, counted: boolean): void {
    if ((a.flags & STOPPED) !== 0) return;
    a.flags |= SUSPENDED;
    const ext = a.ext ??= {};
    if ((a.flags & BUSY) !== 0) {
      // An async handler is running: restart once it settled, so its command is re-applied
      // in arrival order with the others.
      const deferred = ext.deferredRestart;
      ext.deferredRestart = {
        delayMs: Math.max(delayMs, deferred?.delayMs ?? 0),
        counted: counted || deferred?.counted === true,
      };
      return;
    }
    // A supervised restart starts the actor afresh; restoring state after a refused command
    // or a lost write race keeps the timers earlier commands set.
    if (counted) this.#cancelTimers(a);
    // Commands applied since the last durable state go back to be applied again (those of a
    // replay in progress after them); their effects are dropped with them.
    const remaining = ext.replay ? ext.replay.slice(ext.replayAt ?? 0) : null;
    ext.replay = concat(a.applied, remaining);
    ext.replayAt = 0;
    a.applied = null;
    a.effects = null;
    a.events = null;
    a.flags &= ~DIRTY;
    ext.restarting = ext.restarting === true || counted;
    if (ext.restartTimer !== undefined) this.clock.clearTimeout(ext.restartTimer);
    ext.restartTimer = undefined;
    const reload = () => {
      ext.restartTimer = undefined;
      if ((a.flags & COMMITTING) !== 0) ext.reloadAfterCommit = true;
      else if ((a.flags & LOADING) === 0) this.#loader.load(a);
    };
    if (delayMs <= 0) reload();
    else ext.restartTimer = this.clock.setTimeout(reload, delayMs);
  }

  #escalated(supervisor: string, child: string, to: string | null, restarts: number): void {
    this.#m.escalations.labels(supervisor).inc();
    this.logger.error("supervisor exceeded its restart intensity", {
      supervisor,
      child,
      to,
      restarts,
    });
    this.#publish(
      "system",
      { type: "supervisor.escalated", supervisor, child, to, restarts },
      null,
    );
  }

  #supervise(spec: SupervisorSpec, parent: SupervisorNode): SupervisorNode {
    const node = new SupervisorNode(
      spec.name,
      resolvePolicy(spec, `supervisor ${spec.name}`),
      this.#supervisionHost,
    );
    parent.adopt(node);
    for (const child of spec.children) {
      if ("children" in child) {
        this.#supervise(child, node);
        continue;
      }
      const t = this.#dispatcher.type(child.actor.type);
      const a = this.#dispatcher.local(t, child.actor.id);
      a.flags |= PINNED;
      (a.ext ??= {}).supervisor = node;
      node.adopt(a);
    }
    return node;
  }

  // ---------------------------------------------------------------- commits

  #committed(entry: CommitEntry, version: number): void {
    const a = entry.a;
    if (version > a.version) a.version = version;
    const log = entry.applied;
    if (log !== null) {
      for (let at = 0; at < log.length; at += LOG_STRIDE) {
        logReply(log, at)?.resolve(logResult(log, at));
        const effects = logEffects(log, at);
        if (effects !== null) { for (const effect of effects) this.#release(a, effect); }
      }
    }
    if (entry.events !== null) {
      const events = entry.events.map((r) => r.e);
      for (const p of this.#projections.get(a.t.name) ?? []) {
        p.feed(a.id, entry.fromVersion + 1, events);
      }
    }
  }

  /** The snapshot to store for `a` now. */
  #envelope(a: Activation): SnapshotEnvelope {
    const writers: Record<string, number> = a.ext?.writers === undefined
      ? {}
      : { ...a.ext.writers };
    writers[this.writerId] = a.seq;
    return a.sources === null
      ? { s: a.state as JsonValue, n: a.seq, w: writers }
      : { s: a.state as JsonValue, n: a.seq, w: writers, q: { ...a.sources } };
  }

  #release(a: Activation, effect: Effect): void {
    switch (effect.kind) {
      case "emit":
        return this.#publish(effect.topic, effect.data, effect.key);
      case "reminder":
        return this.#reminders.apply(effect.key, effect.record);
      case "tell":
        try {
          const queued = this.#dispatcher.send(effect.to, effect.message, effect.payload);
          if (queued !== undefined) queued.catch((error) => this.#undeliverable(a, effect, error));
        } catch (error) {
          this.#undeliverable(a, effect, error);
        }
    }
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
    this.#deadLetter(target ?? from, effect.message, effect.payload, "undeliverable", error);
  }

  #lost(entry: CommitEntry, actualVersion: number): void {
    const a = entry.a;
    this.logger.warn("another writer changed this actor's state; reloading and re-applying", {
      actor: a.childName,
      expectedVersion: entry.fromVersion,
      actualVersion,
    });
    a.applied = concat(entry.applied, a.applied);
    this.#restart(a, 0, false);
  }

  /**
   * The store refused the state these commands produced (not serialisable, say). Re-applying
   * them would produce it again, so they are dead-lettered and their senders told; the actor
   * restarts from its last durable state.
   */
  #refused(entry: CommitEntry, error: Error): void {
    const a = entry.a;
    const log = entry.applied ?? [];
    for (let at = 0; at < log.length; at += LOG_STRIDE) {
      const kind = logKind(log, at);
      const reply = logReply(log, at);
      this.#deadLetter(a, kind, logPayload(log, at), "crashed", error);
      reply?.reject(
        new ActorCrashedError(
          `the state ${a.childName} reached by ${kind} cannot be stored: ${error.message}`,
          {
            cause: error,
          },
        ),
      );
    }
    a.t.crashes.inc();
    this.#crashed(a, "persisting its state", error);
  }

  #putBack(entry: CommitEntry): void {
    const a = entry.a;
    if ((a.flags & (SUSPENDED | STOPPED)) !== 0) {
      // A restart already took newer commands back for replay; these go before them.
      const ext = a.ext ??= {};
      const remaining = ext.replay ? ext.replay.slice(ext.replayAt ?? 0) : null;
      ext.replay = concat(entry.applied, remaining);
      ext.replayAt = 0;
      return;
    }
    a.applied = concat(entry.applied, a.applied);
    a.events = concat(entry.events, a.events);
    a.flags |= DIRTY;
  }

  #settled(a: Activation): void {
    this.#loader.writeSettled(a);
    if (a.ext?.reloadAfterCommit) {
      a.ext.reloadAfterCommit = false;
      this.#loader.load(a);
    } else if ((a.flags & (DIRTY | SUSPENDED | STOPPED)) === DIRTY) {
      this.#committer.mark(a);
    }
    if ((a.flags & RELEASED) !== 0) this.#maybeEvict(a);
    this.#checkIdle();
  }

  // ---------------------------------------------------------------- idle, passivation

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#idleCheck || !this.#isIdle()) return;
    this.#idleCheck = true;
    // Confirm after a macrotask: replies released just now may make their callers send more.
    setTimeout(() => {
      this.#idleCheck = false;
      if (!this.#isIdle()) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }, 0);
  }

  #isIdle(): boolean {
    return !this.#dispatcher.busy && !this.#loader.busy && !this.#committer.busy;
  }

  #armSweep(): void {
    let interval = this.#sweepIntervalMs;
    if (interval === null) {
      let shortest = Infinity;
      for (const t of this.#types.values()) shortest = Math.min(shortest, t.passivateAfterMs);
      interval = Math.min(60_000, Math.max(1000, shortest / 2));
    }
    this.#sweepTimer = this.clock.setTimeout(() => {
      this.#sweep();
      this.#armSweep();
    }, interval);
  }

  /** Passivates every actor idle for longer than its type's passivation time. */
  #sweep(): void {
    const now = this.clock.now();
    for (const t of this.#types.values()) {
      if (t.passivateAfterMs === Infinity) continue;
      for (const a of t.activations.values()) {
        if (
          (a.flags & NOT_PASSIVATABLE) === 0 && now - a.lastActive >= t.passivateAfterMs &&
          (a.mailbox === null || a.mailbox.size === 0) && !a.ext?.replay
        ) {
          this.#passivate(a);
        }
      }
    }
  }

  /** Drops a released actor once it has nothing left to do (called as its work finishes). */
  #maybeEvict(a: Activation): void {
    if ((a.flags & RELEASED) === 0 || (a.flags & STOPPED) !== 0) return;
    if ((a.flags & SUSPENDED) !== 0) {
      this.#evict(a, true);
      return;
    }
    const quiet =
      (a.flags & (LOADING | SCHEDULED | BUSY | DIRTY | IN_COMMIT_QUEUE | COMMITTING)) === 0 &&
      (a.mailbox === null || a.mailbox.size === 0) && !a.ext?.replay;
    if (quiet) this.#evict(a, false);
  }

  /**
   * Drops a released actor. `abandon`: it still holds work (a restart pending, a timeout):
   * its waiting senders are told, and its durable state is what the next owner gets.
   */
  #evict(a: Activation, abandon: boolean): void {
    const p = this.transport.partitionOf(a.t.name, a.id);
    const leaving = this.#releasing.get(p);
    if (leaving !== undefined && leaving.delete(a) && leaving.size === 0) {
      this.#releasing.delete(p);
      this.#releaseDone.get(p)?.();
    }
    if ((a.flags & STOPPED) !== 0) return;
    if (abandon) {
      const error = new ShutdownError(`${a.childName} moved to another node; retry`);
      const ext = a.ext;
      if (ext?.restartTimer !== undefined) this.clock.clearTimeout(ext.restartTimer);
      const log = concat(a.applied, ext?.replay ? ext.replay.slice(ext.replayAt ?? 0) : null) ?? [];
      for (let at = 0; at < log.length; at += LOG_STRIDE) logReply(log, at)?.reject(error);
      const mb = a.mailbox;
      while (mb !== null && mb.shift()) {
        mb.reply?.reject(error);
        a.t.queued.value--;
      }
      for (const w of mb?.waiters ?? []) {
        w.reply?.reject(error);
        w.wake();
      }
      // Its unpersisted changes go with it: the next owner gets the messages again.
      a.applied = null;
      a.effects = null;
      a.events = null;
      if (ext !== null) ext.replay = null;
      a.flags &= ~DIRTY;
    }
    this.#passivate(a);
  }

  /** Drops an activation from memory (its durable state stays in the store). */
  #passivate(a: Activation): void {
    // Dropped with a write in flight (a partition given up in a hurry): a new activation of
    // the actor waits for that write.
    this.#loader.dropped(a);
    const t = a.t;
    if (t.def.onPassivate !== undefined && (a.flags & LOADING) === 0) {
      try {
        t.def.onPassivate(a);
      } catch (error) {
        this.logger.warn("onPassivate threw", { actor: a.childName, error: describeError(error) });
      }
    }
    this.#cancelTimers(a);
    a.flags |= STOPPED;
    t.activations.delete(a.id);
    t.active.value--;
    t.passivated.value++;
  }

  // ---------------------------------------------------------------- timers, reminders

  #cancelTimers(a: Activation): void {
    const timers = a.ext?.timers;
    if (timers === undefined) return;
    for (const handle of timers.values()) this.clock.clearTimeout(handle);
    timers.clear();
  }

  #deliverReminder(record: ReminderRecord, tick: unknown): void | Promise<void> {
    const t = this.#types.get(record.type);
    if (t === undefined) {
      this.logger.warn("reminder for an actor type not registered here; skipped", {
        actor: `${record.type}/${record.id}`,
        reminder: record.name,
      });
      return;
    }
    return this.#dispatcher.send({ type: record.type, id: record.id }, record.kind, tick);
  }

  #makeActivationHost(): ActivationHost {
    return {
      logger: this.logger,
      now: () => this.clock.now(),
      emit: (a, topic, data, key) => {
        if ((a.flags & IN_COMMAND) !== 0) {
          (a.effects ??= []).push({ kind: "emit", topic, data, key });
        } else this.#publish(topic, data, key);
      },
      tellFrom: (a, to, message, payload) => {
        const effect: Effect = { kind: "tell", to, message, payload };
        if ((a.flags & IN_COMMAND) !== 0) (a.effects ??= []).push(effect);
        else this.#release(a, effect);
      },
      persistEvent: (a, event) => {
        const t = a.t;
        if (t.persistence !== "journal") {
          throw new ConfigError(`${a.childName}: persist() needs persistence "journal"`);
        }
        if ((a.flags & IN_COMMAND) === 0) {
          throw new ConfigError(
            `${a.childName}: persist() is only allowed inside a command handler`,
          );
        }
        (a.events ??= []).push({ e: event as JsonValue, n: a.seq, w: this.writerId });
        const next = t.def.apply!(a.state, event);
        if (next !== undefined) a.state = next;
      },
      setTimer: (a, name, schedule, kind, payload) => {
        const timers = (a.ext ??= {}).timers ??= new Map();
        const old = timers.get(name);
        if (old !== undefined) this.clock.clearTimeout(old);
        const every = "every" in schedule;
        const ms = toMillis(every ? schedule.every : schedule.after, `timer ${name}`);
        if (every && ms <= 0) throw new ConfigError(`timer ${name}: period must be positive`);
        const fire = () => {
          if ((a.flags & STOPPED) !== 0) return;
          if (every) timers.set(name, this.clock.setTimeout(fire, ms));
          else timers.delete(name);
          try {
            const queued = this.#dispatcher.enqueue(a, kind, payload, null);
            if (queued !== undefined) queued.catch(() => {});
          } catch (error) {
            this.#deadLetter(a, kind, payload, "undeliverable", error);
          }
        };
        timers.set(name, this.clock.setTimeout(fire, ms));
      },
      cancelTimer: (a, name) => {
        const timers = a.ext?.timers;
        const handle = timers?.get(name);
        if (handle === undefined) return;
        this.clock.clearTimeout(handle);
        timers!.delete(name);
      },
      makeReminder: (a, name, schedule, kind, data) => {
        const valid = validateSchedule(schedule);
        const now = this.clock.now();
        return {
          partition: this.transport.partitionOf(a.t.name, a.id),
          type: a.t.name,
          id: a.id,
          name,
          kind,
          data,
          schedule: valid,
          due: firstDue(valid, now),
        };
      },
      setReminder: (a, name, record) => {
        const key = reminderKey(this.transport.partitionOf(a.t.name, a.id), a.t.name, a.id, name);
        if ((a.flags & IN_COMMAND) !== 0) {
          (a.effects ??= []).push({ kind: "reminder", name, key, record });
          return;
        }
        this.store.commit([ReminderService.op(key, record)]).then(
          () => this.#reminders.apply(key, record),
          (error) =>
            this.logger.error("could not persist a reminder", {
              actor: a.childName,
              reminder: name,
              error: describeError(error),
            }),
        );
      },
    };
  }
}

/** A type's activations that no named supervision tree owns. */
function* dynamicChildren(t: ActorType): Iterable<SupervisedChild> {
  for (const a of t.activations.values()) if (a.ext?.supervisor === undefined) yield a;
}

function concat<T>(first: T[] | null, second: T[] | null): T[] | null {
  if (first === null) return second;
  if (second === null) return first;
  return first.concat(second);
}

/** A payload as JSON for an event, cut short when large or not serialisable. */
function jsonPreview(payload: unknown): JsonValue {
  try {
    const text = JSON.stringify(payload);
    if (text === undefined) return null;
    return text.length <= 2048 ? JSON.parse(text) as JsonValue : `${text.slice(0, 2048)}…`;
  } catch {
    return String(payload);
  }
}
