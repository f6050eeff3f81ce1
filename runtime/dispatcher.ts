/**
 * Dispatch: how a message reaches its handler. A message to an idle actor puts the actor on a
 * run queue, drained in a microtask; each actor runs up to `throughput` messages per turn, and a
 * turn longer than {@link SLICE_MS} yields to I/O. Synchronous handlers cost no promise and no
 * `await`; an asynchronous handler makes its own actor wait (turn-based) while the others run.
 *
 * This is the synchronous hot path, kept in one module: sending (`tell`, `ask`, deliveries from
 * a transport, the system's own sends), mailbox overflow, the run queue, and invoking handlers
 * with the bookkeeping of persisted commands. Nothing here allocates, awaits or calls back per
 * message beyond the mailbox slot, the log entry and (for an `ask`) the reply; what is rare —
 * activating an actor, a handler that throws, a replay, a released actor — goes to the
 * {@link DispatchHost}.
 *
 * @module
 */
import type { Address } from "./actor.ts";
import {
  type Activation,
  type ActorType,
  BUSY,
  COMMITTING,
  DIRTY,
  IN_COMMAND,
  RELEASED,
  SCHEDULED,
  STOPPED,
  SUSPENDED,
  UNRUNNABLE,
} from "./activation.ts";
import type { Clock } from "./clock.ts";
import {
  LOG_STRIDE,
  logCommand,
  logEffects,
  logKind,
  logPayload,
  logReply,
  logResult,
  logSeq,
} from "./command_log.ts";
import { Deadlines } from "./deadlines.ts";
import type { Effects } from "./effects.ts";
import { toMillis } from "./duration.ts";
import {
  MailboxFullError,
  ShutdownError,
  UnknownActorTypeError,
  UnknownMessageError,
} from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import { Mailbox } from "./mailbox.ts";
import type { ActorRef, AskOptions, RefHost } from "./ref.ts";
import type { Recovery } from "./recovery.ts";
import { PendingReply } from "./reply.ts";
import type { JsonValue } from "./store.ts";
import type { DeliveryOptions, Envelope, Transport } from "./transport.ts";

/** A dispatcher turn yields to I/O after this long. */
const SLICE_MS = 10;
/** One in 128 synchronous handler runs is timed (`performance.now()` costs ~100 ns). */
const SAMPLE_MASK = 127;
/** Empty mailboxes kept for reuse, so busy actors do not regrow one per burst. */
const SPARE_MAILBOXES = 1024;

/**
 * What the dispatcher hands to the rest of the system: the rare cases, never per message — a
 * handler that threw or a restart asked for meanwhile, a message nobody can take (recovery.ts),
 * a replayed command found durable already (effects.ts), and the following.
 */
export interface DispatchHost
  extends Pick<Recovery, "failed" | "restart" | "deadLetter">, Pick<Effects, "releaseDurable"> {
  /** Activates `t/id`: its state starts loading, and its messages wait for it. */
  activate(t: ActorType, id: string): Activation;
  /** A released actor (its partition moved) finished some work: drop it once it has none. */
  maybeEvict(a: Activation): void;
  /** Something `idle()` may wait for has finished. */
  checkIdle(): void;
}

/** What a {@link Dispatcher} runs on. */
export interface DispatcherOptions {
  /** The registered types by name (the system's own map: registrations show at once). */
  readonly types: ReadonlyMap<string, ActorType>;
  readonly transport: Transport;
  readonly clock: Clock;
  /** Where changed actors go (the group committer). */
  readonly committer: { mark(a: Activation): void };
  readonly instruments: RuntimeInstruments;
  /** Messages an actor processes per turn before others get theirs. */
  readonly throughput: number;
  /** Told each time an actor runs (the cap on live actors' recency order); `null`: no cap. */
  readonly recency: { touch(a: Activation): void } | null;
  readonly host: DispatchHost;
}

/**
 * Sends messages to actors and runs their handlers, one message at a time per actor. Also the
 * {@link RefHost} of every {@link ActorRef} of the system.
 */
export class Dispatcher implements RefHost {
  /** Deadlines of pending asks (a few shared timers instead of one per ask). */
  readonly deadlines: Deadlines;
  #types: ReadonlyMap<string, ActorType>;
  #transport: Transport;
  #clock: Clock;
  #committer: { mark(a: Activation): void };
  #m: RuntimeInstruments;
  #throughput: number;
  #recency: { touch(a: Activation): void } | null;
  #host: DispatchHost;
  #accepting = true;
  #spareMailboxes: Mailbox<PendingReply>[] = [];
  #runQueue: Activation[] = [];
  #runHead = 0;
  #drainScheduled = false;
  /** Asynchronous handlers in flight. */
  #pending = 0;

  constructor(options: DispatcherOptions) {
    this.#types = options.types;
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#committer = options.committer;
    this.#m = options.instruments;
    this.#throughput = options.throughput;
    this.#recency = options.recency;
    this.#host = options.host;
    this.deadlines = new Deadlines(options.clock);
  }

  /** Whether a drain is due or an asynchronous handler runs. */
  get busy(): boolean {
    return this.#drainScheduled || this.#pending > 0;
  }

  /** Refuses messages from outside from now on (`ShutdownError`); the system's own still go. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * Delivers a message from a transport to a local actor; resolves with the reply once the
   * state change is durable (see `LocalDelivery`).
   */
  deliver(envelope: Envelope, options: DeliveryOptions = {}): Promise<unknown> {
    try {
      this.#open();
      const t = this.type(envelope.type);
      const a = this.local(t, envelope.id);
      const reply = new PendingReply(
        this.deadlines,
        options.timeoutMs ?? Infinity,
        () => `${t.name}/${envelope.id}`,
      );
      if (options.source !== undefined) {
        reply.source = options.source;
        reply.seq = options.seq ?? 0;
      }
      return this.#enqueueAsk(a, envelope.kind, envelope.payload, reply);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #open(): void {
    if (!this.#accepting) throw new ShutdownError();
  }

  /**
   * The registered type `name`.
   * @throws {UnknownActorTypeError} when no type of that name is registered.
   */
  type(name: string): ActorType {
    const t = this.#types.get(name);
    if (t === undefined) throw new UnknownActorTypeError(name);
    return t;
  }

  /** The local activation of `t/id`, activating it if needed. */
  local(t: ActorType, id: string): Activation {
    return t.activations.get(id) ?? this.#host.activate(t, id);
  }

  /** `ref.tell`: queues at once when the actor is here, else hands it to the transport. */
  tellRef(ref: ActorRef, kind: string, payload: unknown): void | Promise<void> {
    this.#open();
    let a = ref.act;
    if (a === null || (a.flags & (STOPPED | RELEASED)) !== 0) {
      if (!this.#transport.isLocal(ref.type, ref.id)) {
        return this.#transport.send({
          type: ref.type,
          id: ref.id,
          kind,
          payload: payload as JsonValue,
        });
      }
      a = ref.act = this.local(ref.t, ref.id);
    }
    return this.enqueue(a, kind, payload, null);
  }

  /** `ref.ask`: queues with a reply slot when the actor is here, else asks over the transport. */
  askRef(ref: ActorRef, kind: string, payload: unknown, options?: AskOptions): Promise<unknown> {
    try {
      this.#open();
      const t = ref.t;
      const timeoutMs = options?.timeout === undefined
        ? t.askTimeoutMs
        : toMillis(options.timeout, "ask timeout");
      if (!this.#transport.isLocal(t.name, ref.id)) {
        return this.#transport.request(
          { type: t.name, id: ref.id, kind, payload: payload as JsonValue },
          timeoutMs,
        );
      }
      let a = ref.act;
      if (a === null || (a.flags & (STOPPED | RELEASED)) !== 0) {
        a = ref.act = this.local(t, ref.id);
      }
      const reply = new PendingReply(this.deadlines, timeoutMs, () => ref.path);
      return this.#enqueueAsk(a, kind, payload, reply);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends from inside the system (effects, timers): never refused for shutdown. */
  send(to: Address, kind: string, payload: unknown): void | Promise<void> {
    const t = this.type(to.type);
    if (!this.#transport.isLocal(t.name, to.id)) {
      return this.#transport.send({ type: t.name, id: to.id, kind, payload: payload as JsonValue });
    }
    return this.enqueue(this.local(t, to.id), kind, payload, null);
  }

  /**
   * Queues a message with its reply slot; the reply's promise settles with the answer, or with
   * whatever refused the message (which also frees the reply's deadline).
   */
  #enqueueAsk(
    a: Activation,
    kind: string,
    payload: unknown,
    reply: PendingReply,
  ): Promise<unknown> {
    try {
      const queued = this.enqueue(a, kind, payload, reply);
      if (queued !== undefined) queued.catch((e) => reply.reject(e));
    } catch (error) {
      reply.reject(error);
    }
    return reply.promise;
  }

  /**
   * Queues a message in `a`'s mailbox and schedules `a` if it can run. A full mailbox returns a
   * promise that resolves once the message is in (backpressure), or throws
   * `MailboxFullError` (`reject`, or too many senders waiting).
   */
  enqueue(
    a: Activation,
    kind: string,
    payload: unknown,
    reply: PendingReply | null,
  ): void | Promise<void> {
    const t = a.t;
    const mb = a.mailbox ??= this.#spareMailboxes.pop() ?? new Mailbox();
    if (mb.size >= t.capacity) return this.#overflow(a, mb, kind, payload, reply);
    mb.push(kind, payload, reply);
    t.queued.value++;
    if ((a.flags & (SCHEDULED | UNRUNNABLE)) === 0) this.#schedule(a);
  }

  #overflow(
    a: Activation,
    mb: Mailbox<PendingReply>,
    kind: string,
    payload: unknown,
    reply: PendingReply | null,
  ): Promise<void> {
    const t = a.t;
    const waiting = mb.waiters?.length ?? 0;
    // A delivery from a stream position always waits: refused, it would come back only as a
    // redelivery, after later positions for the same actor were applied — and then be skipped
    // as one of them. The consumer's ack-pending limit bounds how many wait.
    if ((t.rejectWhenFull || waiting >= t.capacity) && reply?.source == null) {
      t.mailboxRejections.inc();
      throw new MailboxFullError(
        `mailbox of ${a.childName} is full (${t.capacity} messages` +
          (t.rejectWhenFull ? ")" : ` and ${waiting} senders waiting)`) + "; retry later",
      );
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    (mb.waiters ??= []).push({ kind, payload, reply, wake: resolve });
    return promise;
  }

  /** Moves the oldest waiting sender's message into the mailbox (room was made). */
  #admitWaiter(a: Activation, mb: Mailbox<PendingReply>): void {
    const waiters = mb.waiters!;
    const w = waiters.shift()!;
    if (waiters.length === 0) mb.waiters = null;
    mb.push(w.kind, w.payload, w.reply);
    a.t.queued.value++;
    w.wake();
  }

  // ---------------------------------------------------------------- dispatch

  #schedule(a: Activation): void {
    a.flags |= SCHEDULED;
    this.#runQueue.push(a);
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  #drain = (): void => {
    const queue = this.#runQueue;
    const now = this.#clock.now();
    const started = performance.now();
    const recency = this.#recency;
    let i = this.#runHead;
    while (i < queue.length) {
      const a = queue[i++]!;
      a.flags &= ~SCHEDULED;
      a.lastActive = now;
      if (recency !== null) recency.touch(a);
      this.#run(a);
      if ((i & 127) === 0) {
        if (i > 4096) {
          queue.splice(0, i);
          i = 0;
        }
        if (performance.now() - started > SLICE_MS) {
          // Let I/O (HTTP, store replies) in before the next slice.
          this.#runHead = i;
          setTimeout(this.#drain, 0);
          return;
        }
      }
    }
    this.#runQueue = [];
    this.#runHead = 0;
    this.#drainScheduled = false;
    this.#host.checkIdle();
  };

  #run(a: Activation): void {
    let budget = this.#throughput;
    if (a.ext?.replay) budget = this.#replay(a, budget);
    const mb = a.mailbox;
    if (mb === null || budget === 0) {
      if (a.ext?.replay && (a.flags & (SCHEDULED | UNRUNNABLE)) === 0) this.#schedule(a);
      return;
    }
    const t = a.t;
    while ((a.flags & UNRUNNABLE) === 0 && mb.shift()) {
      const kind = mb.kind, payload = mb.payload, reply = mb.reply;
      mb.release();
      t.queued.value--;
      if (mb.waiters !== null) this.#admitWaiter(a, mb);
      this.#invoke(a, kind, payload, reply);
      if (--budget === 0) break;
    }
    if (mb.size > 0) {
      if ((a.flags & (SCHEDULED | UNRUNNABLE)) === 0) this.#schedule(a);
    } else if (a.mailbox === mb && mb.waiters === null) {
      // An idle actor holds no mailbox; the next burst takes a spare one of the right size.
      a.mailbox = null;
      if (this.#spareMailboxes.length < SPARE_MAILBOXES) this.#spareMailboxes.push(mb);
    }
    if ((a.flags & RELEASED) !== 0) this.#host.maybeEvict(a);
  }

  #invoke(a: Activation, kind: string, payload: unknown, reply: PendingReply | null): void {
    const t = a.t;
    let fn = t.handlers[kind];
    let command = true;
    if (fn === undefined) {
      fn = t.queries[kind];
      command = false;
      if (fn === undefined) return this.#unknownMessage(a, kind, payload, reply);
    }
    const persisted = command && t.persistence !== "none";
    if (persisted) {
      const source = reply?.source;
      if (source != null && reply!.seq <= (a.sources?.[source] ?? 0)) {
        // Applied before (a redelivery): not applied twice. If the state holding it may not be
        // durable yet, the acknowledgement waits for the next commit like a command's would.
        this.#m.duplicates.labels(t.name).inc();
        if (a.applied === null && (a.flags & COMMITTING) === 0) {
          reply!.resolve(undefined);
        } else {
          logCommand(a.applied ??= [], kind, payload, reply, undefined, a.seq, null);
          if ((a.flags & DIRTY) === 0) {
            a.flags |= DIRTY;
            this.#committer.mark(a);
          }
        }
        return;
      }
      a.flags |= IN_COMMAND;
      a.seq++;
    }
    const eventsBefore = a.events === null ? 0 : a.events.length;
    const sampled = (++t.tick & SAMPLE_MASK) === 0;
    const started = sampled ? performance.now() : 0;
    let result: unknown;
    try {
      result = fn(a, payload);
    } catch (error) {
      a.flags &= ~IN_COMMAND;
      return this.#host.failed(a, kind, payload, reply, error, persisted);
    }
    if (
      result !== null && typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      return this.#awaitHandler(
        a,
        kind,
        payload,
        reply,
        result as PromiseLike<unknown>,
        persisted,
        eventsBefore,
      );
    }
    a.flags &= ~IN_COMMAND;
    if (sampled) t.latency.observe((performance.now() - started) / 1000);
    t.processed.value++;
    if (persisted) this.#applied(a, kind, payload, reply, result, eventsBefore);
    else if (reply !== null) reply.resolve(result);
  }

  #awaitHandler(
    a: Activation,
    kind: string,
    payload: unknown,
    reply: PendingReply | null,
    pending: PromiseLike<unknown>,
    persisted: boolean,
    eventsBefore: number,
  ): void {
    const started = performance.now();
    a.flags |= BUSY;
    this.#pending++;
    const done = () => {
      a.flags &= ~(BUSY | IN_COMMAND);
      this.#pending--;
    };
    const restartIfAsked = () => {
      const deferred = a.ext?.deferredRestart;
      if (deferred === undefined) return;
      a.ext!.deferredRestart = undefined;
      this.#host.restart(a, deferred.delayMs, deferred.counted);
    };
    pending.then(
      (result) => {
        done();
        a.t.latency.observe((performance.now() - started) / 1000);
        a.t.processed.value++;
        if (persisted) this.#applied(a, kind, payload, reply, result, eventsBefore);
        else if (reply !== null) reply.resolve(result);
        restartIfAsked();
        this.resume(a);
      },
      (error) => {
        done();
        const deferred = a.ext?.deferredRestart;
        if (deferred !== undefined) a.ext!.deferredRestart = undefined;
        this.#host.failed(a, kind, payload, reply, error, persisted);
        // A crash restarts the actor anyway; otherwise honour the restart asked for meanwhile.
        if (
          deferred !== undefined && (a.flags & SUSPENDED) !== 0 && a.ext?.restartTimer === undefined
        ) {
          this.#host.restart(a, deferred.delayMs, deferred.counted);
        }
        this.resume(a);
      },
    );
  }

  /**
   * Applies again the commands a restart took back, before anything in the mailbox. A command
   * the reloaded state already holds (its write landed though its outcome was unknown) is not
   * applied twice: its reply and effects are released instead.
   * @returns the turn's remaining budget.
   */
  #replay(a: Activation, budget: number): number {
    const ext = a.ext!;
    while (budget > 0 && (a.flags & UNRUNNABLE) === 0) {
      const log = ext.replay;
      const i = ext.replayAt ?? 0;
      if (!log || i >= log.length) {
        ext.replay = null;
        ext.replayAt = 0;
        break;
      }
      ext.replayAt = i + LOG_STRIDE;
      const reply = logReply(log, i);
      if (logSeq(log, i) <= (ext.durable ?? 0)) {
        this.#host.releaseDurable(a, reply, logResult(log, i), logEffects(log, i));
      } else {
        this.#invoke(a, logKind(log, i), logPayload(log, i), reply);
      }
      budget--;
    }
    return budget;
  }

  /** Schedules an actor that may have become runnable again. */
  resume(a: Activation): void {
    if ((a.flags & RELEASED) !== 0) this.#host.maybeEvict(a);
    if (
      ((a.mailbox !== null && a.mailbox.size > 0) || a.ext?.replay) &&
      (a.flags & (SCHEDULED | UNRUNNABLE)) === 0
    ) {
      this.#schedule(a);
    }
    this.#host.checkIdle();
  }

  /** A command of a persisted actor ran: its reply and effects wait for the commit. */
  #applied(
    a: Activation,
    kind: string,
    payload: unknown,
    reply: PendingReply | null,
    result: unknown,
    eventsBefore: number,
  ) {
    logCommand(a.applied ??= [], kind, payload, reply, result, a.seq, a.effects);
    a.effects = null;
    // The source position goes into the next write, with the state it produced.
    const source = reply?.source;
    if (source != null) {
      (a.sources ??= {})[source] = reply!.seq;
      // A journaled actor keeps it on the command's last event (a command without events
      // changed nothing durable: applying it again is harmless).
      const events = a.events;
      if (events !== null && events.length > eventsBefore) {
        events[events.length - 1]!.q = [source, reply!.seq];
      }
    }
    if ((a.flags & DIRTY) === 0) {
      a.flags |= DIRTY;
      this.#committer.mark(a);
    }
  }

  #unknownMessage(a: Activation, kind: string, payload: unknown, reply: PendingReply | null): void {
    const error = new UnknownMessageError(a.t.name, kind);
    if (reply !== null) reply.reject(error);
    else this.#host.deadLetter(a, kind, payload, "unknown_message", error);
  }
}
