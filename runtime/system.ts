/**
 * The actor system: the public face of the runtime. It holds the options and the parts, wires
 * them together, and offers what callers use — register types, reference actors, build named
 * supervision trees and projections, start, wait for idle, deliver from a transport, list, and
 * shut down.
 *
 * The work itself is done by the parts, each in the file named for it:
 * - dispatcher.ts — sending, mailboxes and their overflow, the run queue, invoking handlers
 *   (the synchronous hot path);
 * - loader.ts — activation and batched loads of state, journal replay;
 * - committer.ts — group commit of changed state;
 * - effects.ts — what handlers do besides changing state, held back until durable;
 * - recovery.ts — failed handlers, crashes, restarts, refused or lost writes;
 * - passivation.ts — dropping idle actors;
 * - actor_cap.ts — the cap on live actors: least recently used idle actors go first;
 * - handoff.ts — giving partitions to other nodes (cluster mode) and taking them back.
 *
 * @module
 */
import type { Address, AnyActorDefinition, MessagesOf } from "./actor.ts";
import {
  Activation,
  ActorType,
  DIRTY,
  envelopeOf,
  PINNED,
  RELEASED,
  STOPPED,
  SUSPENDED,
} from "./activation.ts";
import { ActorCap } from "./actor_cap.ts";
import { type Clock, SystemClock } from "./clock.ts";
import { type CommitOptions, GroupCommitter } from "./committer.ts";
import { DeadLetters } from "./dead_letters.ts";
import { Dispatcher } from "./dispatcher.ts";
import { type Duration, toMillis } from "./duration.ts";
import { Effects } from "./effects.ts";
import { ConfigError } from "./errors.ts";
import { type EventBus, RingEventBus } from "./events.ts";
import { Handoff } from "./handoff.ts";
import { createInstruments, type RuntimeInstruments } from "./instruments.ts";
import { Loader } from "./loader.ts";
import { createLogger, type Logger } from "./logger.ts";
import { MetricsRegistry } from "./metrics.ts";
import { Passivation } from "./passivation.ts";
import { Projection, type ProjectionDefinition } from "./projection.ts";
import { Recovery } from "./recovery.ts";
import { ActorRef, type AnyMessages } from "./ref.ts";
import { ReminderService } from "./reminders.ts";
import {
  type FenceRecord,
  type JsonValue,
  type KeyPage,
  pageOf,
  type StateStore,
} from "./store.ts";
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
  /**
   * Most actors in memory (all types together). Past it, the least recently used idle actors
   * are passivated (state durable, reminders kept) to make room; busy ones never are, so the
   * cap is soft: when every actor is busy an activation still proceeds. A whole number ≥ 1, or
   * `Infinity`. @default Infinity (no cap)
   */
  readonly maxActiveActors?: number;
}

/** A child of a named supervision tree: an actor, or a nested supervisor. */
export type ChildSpec = { readonly actor: Address } | SupervisorSpec;

/** A named supervisor with its policy and children, for {@link ActorSystem.supervise}. */
export interface SupervisorSpec extends Partial<SupervisionPolicy> {
  readonly name: string;
  /** Children in start order (what rest-for-one's "rest" refers to). */
  readonly children: readonly ChildSpec[];
}

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
  #started = false;
  #stopped = false;

  #idleWaiters: (() => void)[] = [];
  #idleCheck = false;

  #committer: GroupCommitter;
  #reminders: ReminderService;
  #projections = new Map<string, Projection<unknown, unknown>[]>();
  #effects: Effects;
  #recovery: Recovery;
  #passivation: Passivation;
  #handoff: Handoff;
  #dispatcher: Dispatcher;
  #loader: Loader;
  #cap: ActorCap | null;
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
    const maxActive = options.maxActiveActors ?? Infinity;
    if (maxActive !== Infinity && !(Number.isInteger(maxActive) && maxActive >= 1)) {
      throw new ConfigError(
        `maxActiveActors must be a whole number ≥ 1 or Infinity, not ${maxActive}`,
      );
    }
    this.#m.actorCap.set(maxActive);
    this.#cap = maxActive === Infinity ? null : new ActorCap({
      max: maxActive,
      passivate: (a) => this.#passivation.passivate(a),
      evictions: this.#m.evictions,
    });

    this.#supervisionHost = {
      clock: this.clock,
      restartActor: (child, delayMs) => this.#recovery.restart(child as Activation, delayMs, true),
      escalated: (supervisor, child, to, restarts) =>
        this.#recovery.escalated(supervisor, child, to, restarts),
    };
    this.root = new SupervisorNode(
      "root",
      resolvePolicy(options.supervision, "root supervisor"),
      this.#supervisionHost,
    );
    // What most parts run on; each part's host reaches the others when it needs them.
    const base = {
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      instruments: this.#m,
    };
    this.#committer = new GroupCommitter({
      ...base,
      envelope: (a) => envelopeOf(a, this.writerId),
      committed: (entry, version) => this.#effects.committed(entry, version),
      lost: (entry, actual) => this.#recovery.lost(entry, actual),
      refused: (entry, error) => this.#recovery.refused(entry, error),
      putBack: (entry) => this.#recovery.putBack(entry),
      partitionRefused: (entry, error) => this.#recovery.partitionRefused(entry, error),
      regressed: (entry, actual) => this.#recovery.regressed(entry, actual),
      ...(this.transport.fencing === undefined ? {} : { fencing: this.transport.fencing }),
      partitionOf: (a) => this.transport.partitionOf(a.t.name, a.id),
      settled: (a) => this.#settled(a),
      idleCheck: () => this.#checkIdle(),
    }, options.commit);
    this.#dispatcher = new Dispatcher({
      ...base,
      types: this.#types,
      transport: this.transport,
      committer: this.#committer,
      throughput: options.throughput ?? 64,
      recency: this.#cap,
      host: {
        activate: (t, id) => {
          const a = this.#loader.activate(t, id);
          this.#cap?.added(a);
          return a;
        },
        failed: (a, kind, payload, reply, error, persisted) =>
          this.#recovery.failed(a, kind, payload, reply, error, persisted),
        restart: (a, delayMs, counted) => this.#recovery.restart(a, delayMs, counted),
        deadLetter: (a, kind, payload, reason, error) =>
          this.#recovery.deadLetter(a, kind, payload, reason, error),
        releaseDurable: (a, reply, result, effects) =>
          this.#effects.releaseDurable(a, reply, result, effects),
        maybeEvict: (a) => this.#handoff.maybeEvict(a),
        checkIdle: () => this.#checkIdle(),
      },
    });
    this.#loader = new Loader({
      ...base,
      nodeId: this.nodeId,
      writerId: this.writerId,
      host: {
        publish: (topic, data, key) => this.#effects.publish(topic, data, key),
        crashed: (a, during, error) => this.#recovery.crashed(a, during, error),
        resume: (a) => this.#dispatcher.resume(a),
        checkIdle: () => this.#checkIdle(),
      },
    });
    this.#recovery = new Recovery({
      ...base,
      deadLetters: this.deadLetters,
      nodeId: this.nodeId,
      host: {
        publish: (topic, data, key) => this.#effects.publish(topic, data, key),
        cancelTimers: (a) => this.#effects.cancelTimers(a),
        load: (a) => this.#loader.load(a),
        abandon: (a) => this.#handoff.abandon(a),
        ...(this.transport.fencing === undefined ? {} : { fencing: this.transport.fencing }),
      },
    });
    this.#reminders = new ReminderService({
      ...base,
      deliver: (record, tick) => this.#effects.deliverReminder(record, tick),
      ...(this.transport.fencing === undefined
        ? {}
        : { fenceFor: (p: number) => this.transport.fencing!.fenceFor(p) }),
    });
    this.#effects = new Effects({
      ...base,
      events: this.events,
      transport: this.transport,
      writerId: this.writerId,
      types: this.#types,
      projections: this.#projections,
      reminders: this.#reminders,
      sender: this.#dispatcher,
      host: this.#recovery,
    });
    this.#passivation = new Passivation({
      ...base,
      types: this.#types,
      sweepIntervalMs: options.sweepInterval === undefined
        ? null
        : toMillis(options.sweepInterval, "sweepInterval"),
      host: {
        cancelTimers: (a) => this.#effects.cancelTimers(a),
        dropped: (a) => {
          this.#cap?.removed(a);
          this.#loader.dropped(a);
        },
      },
    });
    this.#handoff = new Handoff({
      ...base,
      store: this.store,
      types: this.#types,
      transport: this.transport,
      reminders: this.#reminders,
      passivation: this.#passivation,
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
    const t = new ActorType(definition, this.#effects, this.#m);
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
    this.#passivation.start();
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
  acquired(partition: number, token?: number): Promise<FenceRecord | null> {
    return this.#handoff.acquired(partition, token);
  }

  /**
   * Called by the transport when this node gives `partition` up (after it stopped delivering
   * its messages): its actors take nothing new, finish what they hold, make it durable, and
   * are dropped from memory; resolves when they are gone, or after `timeoutMs`, when the rest
   * are dropped with their pending replies rejected (a durable transport redelivers those
   * messages to the new owner).
   */
  released(
    partition: number,
    timeoutMs = 10_000,
    handover?: { readonly token: number; readonly marks: Readonly<Record<string, number>> },
  ): Promise<void> {
    return this.#handoff.released(partition, timeoutMs, handover);
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
    this.#passivation.stop();
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
      for (const a of t.activations.values()) this.#effects.cancelTimers(a);
    }
    await this.transport.stop();
    this.#dispatcher.deadlines.close();
    this.#stopped = true;
    return flushed;
  }

  /**
   * Ids of the actors of a type that have durable state, ascending, a page at a time (actors
   * activated but never persisted are not listed). A journaled actor is listed by its journal
   * or its snapshot (one written whole by an older version, before its type was journaled).
   */
  async list(type: string, page: KeyPage = {}): Promise<string[]> {
    const t = this.#dispatcher.type(type);
    const prefix = t.key("");
    const after = page.after === undefined ? undefined : prefix + page.after;
    const bounds = { after, limit: page.limit };
    let keys = await this.store.keys(prefix, bounds);
    if (t.persistence === "journal") {
      // The first `limit` of the union are among the first `limit` of each.
      const journals = await this.store.journalKeys(prefix, bounds);
      keys = pageOf([...new Set([...keys, ...journals])].sort(), { limit: page.limit });
    }
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

  // ---------------------------------------------------------------- supervision trees

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

  // ---------------------------------------------------------------- commit outcomes

  /** A commit involving `a` settled: reload it, queue it again, or drop it, as it needs. */

  #settled(a: Activation): void {
    this.#loader.writeSettled(a);
    if (a.ext?.reloadAfterCommit) {
      a.ext.reloadAfterCommit = false;
      this.#loader.load(a);
    } else if ((a.flags & (DIRTY | SUSPENDED | STOPPED)) === DIRTY) {
      this.#committer.mark(a);
    }
    if ((a.flags & RELEASED) !== 0) this.#handoff.maybeEvict(a);
    // Over the cap because every actor was busy: this one may have made room.
    if (this.#cap !== null && this.#cap.size > this.#cap.max) this.#cap.enforce();
    this.#checkIdle();
  }

  // ---------------------------------------------------------------- idle

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
}

/** A type's activations that no named supervision tree owns. */
function* dynamicChildren(t: ActorType): Iterable<SupervisedChild> {
  for (const a of t.activations.values()) if (a.ext?.supervisor === undefined) yield a;
}
