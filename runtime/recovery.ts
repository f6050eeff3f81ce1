/**
 * Crash recovery: what happens when a handler throws, a write is refused or loses its race,
 * or a store is unreachable. A client error (a `FlotillaError` with a 4xx status) rejects its
 * message and restores the actor's state; anything else is a crash — the message dead-lettered,
 * its `ask` rejected with `ActorCrashedError`, the actor suspended and handed to its supervisor,
 * which restarts it (or escalates).
 *
 * A restart reloads the last durable state and applies again the commands applied since:
 * {@link requeue} puts them back in front of whatever the actor still had to replay.
 *
 * @module
 */
import {
  type Activation,
  BUSY,
  COMMITTING,
  DIRTY,
  LOADING,
  STOPPED,
  SUSPENDED,
} from "./activation.ts";
import type { Clock } from "./clock.ts";
import { type CommandLog, LOG_STRIDE, logKind, logPayload, logReply } from "./command_log.ts";
import type { CommitEntry } from "./committer.ts";
import type { DeadLetterReason, DeadLetters } from "./dead_letters.ts";
import {
  ActorCrashedError,
  describeError,
  FencedError,
  FlotillaError,
  ShutdownError,
  StoreRegressedError,
} from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import type { PendingReply } from "./reply.ts";
import type { JsonValue } from "./store.ts";
import type { PartitionFencing } from "./transport.ts";

/** What recovery needs from the rest of the system. */
export interface RecoveryHost {
  /** Publishes a system event (`actor.crashed`, `message.dead_lettered`, …). */
  publish(topic: string, data: JsonValue, key: string | null): void;
  /** Stops the actor's timers (a supervised restart starts it afresh). */
  cancelTimers(a: Activation): void;
  /** Reloads the actor's state (see loader.ts). */
  load(a: Activation): void;
  /** The fencing of partitions' writes (cluster mode), told of refused partitions. */
  readonly fencing?: PartitionFencing;
  /** Drops an actor from memory, refusing every command it holds (see handoff.ts). */
  abandon(a: Activation): void;
}

/** What {@link Recovery} runs on. */
export interface RecoveryOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: RuntimeInstruments;
  readonly deadLetters: DeadLetters;
  /** This node's name, in `actor.crashed` events. */
  readonly nodeId: string;
  readonly host: RecoveryHost;
}

/**
 * Puts `log` back in front of what is left of `a`'s replay: those commands are applied again
 * (or, found durable after all, released) before anything else the actor has.
 */
export function requeue(a: Activation, log: CommandLog | null): void {
  const ext = a.ext ??= {};
  const remaining = ext.replay ? ext.replay.slice(ext.replayAt ?? 0) : null;
  ext.replay = concat(log, remaining);
  ext.replayAt = 0;
}

/** Handles failed handlers, refused or lost writes, crashes and restarts. */
export class Recovery {
  readonly #o: RecoveryOptions;

  constructor(options: RecoveryOptions) {
    this.#o = options;
  }

  /**
   * A handler threw. A client error (a `FlotillaError` with a 4xx status) rejects the message:
   * the sender is told and the actor's state is restored from the store. Anything else is a
   * crash: the message is dead-lettered and the supervisor decides.
   */
  failed(
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
      else this.deadLetter(a, kind, payload, "rejected", error);
      if (persisted) this.restart(a, 0, false);
      return;
    }
    t.crashes.inc();
    this.deadLetter(a, kind, payload, "crashed", error);
    if (reply !== null) {
      reply.reject(
        new ActorCrashedError(`${a.childName} crashed handling ${kind}: ${describeError(error)}`, {
          cause: error,
        }),
      );
    }
    this.crashed(a, `handling ${kind}`, error);
  }

  /** Reports a crash and hands the actor to its supervisor. */
  crashed(a: Activation, during: string, error: unknown): void {
    a.flags |= SUSPENDED;
    this.#o.logger.warn("actor crashed", {
      actor: a.childName,
      during,
      error: describeError(error),
    });
    this.#o.host.publish("system", {
      type: "actor.crashed",
      actor: a.childName,
      during,
      error: describeError(error),
      node: this.#o.nodeId,
    }, a.id);
    (a.ext?.supervisor ?? a.t.supervisor).childFailed(a);
  }

  /**
   * Records a message that could not be processed: kept in the dead letters, counted, and
   * published as a `message.dead_lettered` system event (its payload cut short).
   */
  deadLetter(
    a: Activation,
    kind: string,
    payload: unknown,
    reason: DeadLetterReason,
    error: unknown,
  ): void {
    const text = describeError(error);
    this.#o.deadLetters.add({
      actor: a.childName,
      kind,
      payload,
      reason,
      error: text,
      time: this.#o.clock.now(),
    });
    this.#o.instruments.deadLetters.labels(a.t.name, reason).inc();
    this.#o.host.publish("system", {
      type: "message.dead_lettered",
      actor: a.childName,
      kind,
      reason,
      error: text,
      payload: jsonPreview(payload),
    }, a.id);
  }

  /**
   * Restarts an actor after `delayMs`: its unpersisted commands go back to the front of its
   * mailbox, their effects are dropped, and once the in-flight commit (if any) settles its
   * state is reloaded and the commands re-applied. `counted` restarts (supervision) are
   * reported; uncounted ones restore state after a rejected command or a lost write race.
   */
  restart(a: Activation, delayMs: number, counted: boolean): void {
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
    if (counted) this.#o.host.cancelTimers(a);
    // Commands applied since the last durable state go back to be applied again (those of a
    // replay in progress after them); their effects are dropped with them.
    requeue(a, a.applied);
    a.applied = null;
    a.effects = null;
    a.events = null;
    a.flags &= ~DIRTY;
    ext.restarting = ext.restarting === true || counted;
    if (ext.restartTimer !== undefined) this.#o.clock.clearTimeout(ext.restartTimer);
    ext.restartTimer = undefined;
    const reload = () => {
      ext.restartTimer = undefined;
      if ((a.flags & COMMITTING) !== 0) ext.reloadAfterCommit = true;
      else if ((a.flags & LOADING) === 0) this.#o.host.load(a);
    };
    if (delayMs <= 0) reload();
    else ext.restartTimer = this.#o.clock.setTimeout(reload, delayMs);
  }

  /** A supervisor gave up on a child (too many restarts): logged, counted, published. */
  escalated(supervisor: string, child: string, to: string | null, restarts: number): void {
    this.#o.instruments.escalations.labels(supervisor).inc();
    this.#o.logger.error("supervisor exceeded its restart intensity", {
      supervisor,
      child,
      to,
      restarts,
    });
    this.#o.host.publish(
      "system",
      { type: "supervisor.escalated", supervisor, child, to, restarts },
      null,
    );
  }

  /** Another writer won the compare-and-set: reload the actor and apply the entry again. */
  lost(entry: CommitEntry, actualVersion: number): void {
    const a = entry.a;
    this.#o.logger.warn("another writer changed this actor's state; reloading and re-applying", {
      actor: a.childName,
      expectedVersion: entry.fromVersion,
      actualVersion,
    });
    a.applied = concat(entry.applied, a.applied);
    this.restart(a, 0, false);
  }

  /**
   * The store refused the state these commands produced (not serialisable, say). Re-applying
   * them would produce it again, so they are dead-lettered and their senders told; the actor
   * restarts from its last durable state.
   */
  refused(entry: CommitEntry, error: Error): void {
    const a = entry.a;
    const log = entry.applied ?? [];
    for (let at = 0; at < log.length; at += LOG_STRIDE) {
      const kind = logKind(log, at);
      const reply = logReply(log, at);
      this.deadLetter(a, kind, logPayload(log, at), "crashed", error);
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
    this.crashed(a, "persisting its state", error);
  }

  /**
   * The store refused the entry for its partition (a newer owner's fence, or a store gone back
   * in time). Its commands are not durable and are not tried again here: the actor stops, its
   * commands wait to be refused when the transport drops the partition (a durable transport
   * delivers them again: to the new owner, or from the stream once the partition is repaired).
   */
  partitionRefused(entry: CommitEntry, error: FencedError | StoreRegressedError): void {
    const a = entry.a;
    if (error instanceof FencedError) this.#o.instruments.storeFenced.inc();
    else this.#o.instruments.storeRegressions.labels("partition").inc();
    if ((a.flags & STOPPED) !== 0) {
      // Dropped already (its partition released while this write was out): nothing will
      // replay its commands, so their senders are told now.
      const moved = new ShutdownError(`${a.childName} moved; retry`);
      const log = entry.applied ?? [];
      for (let at = 0; at < log.length; at += LOG_STRIDE) logReply(log, at)?.reject(moved);
    } else {
      // Dropped now, with everything it holds refused: what came from a stream comes again
      // (to the new owner, or from the repaired partition's stream), a caller retries.
      requeue(a, entry.applied);
      a.applied = null;
      a.events = null;
      a.flags &= ~DIRTY;
      this.#o.host.abandon(a);
    }
    this.#o.host.fencing?.refused(entry.partition, error, entry.fence);
  }

  /**
   * The store holds an older version of the actor than this node wrote: it lost writes (a
   * crash that cut the tail of its log, a restore). Never taken for another writer: with
   * fencing (cluster mode) the partition is repaired from the stream; without (embedded mode,
   * no log to repair from) the state in memory — every acknowledged command applied — is
   * written again over the older one, and the loss is logged.
   */
  regressed(entry: CommitEntry, actualVersion: number): void {
    const a = entry.a;
    this.#o.instruments.storeRegressions.labels("actor").inc();
    this.#o.logger.error("the store went back in time for this actor: data loss", {
      actor: a.childName,
      expectedVersion: entry.fromVersion,
      actualVersion,
      repair: this.#o.host.fencing === undefined
        ? "writing the state held in memory again"
        : "replaying its partition from the stream",
    });
    if (this.#o.host.fencing !== undefined && entry.partition >= 0) {
      const held = {};
      this.partitionRefused(
        entry,
        new StoreRegressedError(`${a.childName}@${actualVersion}`, held, {}),
      );
      return;
    }
    a.version = actualVersion;
    // A journal lost events the state in memory holds: the next append carries a snapshot.
    if (a.t.persistence === "journal") (a.ext ??= {}).snapshotNext = true;
    this.putBack(entry);
  }

  /** The store is unreachable: the entry's changes go back to the actor, to be retried. */
  putBack(entry: CommitEntry): void {
    const a = entry.a;
    if ((a.flags & (SUSPENDED | STOPPED)) !== 0) {
      // A restart already took newer commands back for replay; these go before them.
      requeue(a, entry.applied);
      return;
    }
    a.applied = concat(entry.applied, a.applied);
    a.events = concat(entry.events, a.events);
    a.flags |= DIRTY;
  }
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
