/**
 * Partition hand-over in cluster mode: when the transport gives a partition to another node,
 * the partition's actors here finish what they hold (their commands durable, their senders
 * answered), take nothing new, and leave memory — so the next owner starts from durable state
 * and nothing is applied twice. What cannot finish in time is abandoned: its waiting senders
 * are told to retry, and a durable transport delivers its messages again to the new owner.
 *
 * @module
 */
import {
  type Activation,
  type ActorType,
  BUSY,
  COMMITTING,
  DIRTY,
  IN_COMMIT_QUEUE,
  LOADING,
  RELEASED,
  SCHEDULED,
  STOPPED,
  SUSPENDED,
} from "./activation.ts";
import type { Clock } from "./clock.ts";
import { LOG_STRIDE, logReply } from "./command_log.ts";
import { describeError, ShutdownError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { requeue } from "./recovery.ts";
import type { FenceRecord, StateStore } from "./store.ts";
import type { Transport } from "./transport.ts";

/** The store key of a partition's fence record. */
export function fenceKey(partition: number): string {
  return `f/${partition}`;
}

/** The reminders of a partition, loaded while it is hosted here (see reminders.ts). */
export interface PartitionReminders {
  load(partition: number): Promise<void>;
  unload(partition: number): void;
}

/** What {@link Handoff} runs on. */
export interface HandoffOptions {
  /** The registered types by name (the system's own map). */
  readonly types: ReadonlyMap<string, ActorType>;
  readonly transport: Transport;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly reminders: PartitionReminders;
  /** Drops an actor from memory (see passivation.ts). */
  readonly passivation: { passivate(a: Activation): void };
}

/** Takes partitions on and gives them up, draining their actors. */
export class Handoff {
  readonly #o: HandoffOptions;
  /** Actors of released partitions, draining, by partition; and who waits for each to empty. */
  #releasing = new Map<number, Set<Activation>>();
  #releaseDone = new Map<number, () => void>();

  constructor(options: HandoffOptions) {
    this.#o = options;
  }

  /**
   * This node hosts `partition` (again): with a fencing token, takes the partition's fence
   * first (no older owner's write lands after it), then loads its reminders and takes back
   * actors of it that were still draining from an earlier release. Resolves with the fence
   * record (`null` without a token); a record holding a newer token means another node owns the
   * partition now: nothing is loaded.
   */
  async acquired(partition: number, token?: number): Promise<FenceRecord | null> {
    const record = token === undefined
      ? null
      : await this.#o.store.fence(fenceKey(partition), token);
    if (record !== null && record.token > token!) return record;
    for (const a of this.#releasing.get(partition) ?? []) a.flags &= ~RELEASED;
    this.#releasing.delete(partition);
    await this.#o.reminders.load(partition);
    return record;
  }

  /**
   * This node gives `partition` up (its transport stopped delivering to it): its actors take
   * nothing new, finish what they hold, make it durable, and are dropped from memory; resolves
   * when they are gone, or after `timeoutMs`, when the rest are dropped with their pending
   * replies rejected (a durable transport redelivers those messages to the new owner).
   */
  async released(
    partition: number,
    timeoutMs: number,
    handover?: { readonly token: number; readonly marks: Readonly<Record<string, number>> },
  ): Promise<void> {
    await this.#drain(partition, timeoutMs);
    if (handover === undefined) return;
    try {
      await this.#o.store.fence(fenceKey(partition), handover.token, handover.marks);
    } catch (error) {
      // The next owner then starts at the last mark stored: some messages come again, and are
      // recognised as applied.
      this.#o.logger.warn("could not record the hand-over's marks", {
        partition,
        error: describeError(error),
      });
    }
  }

  async #drain(partition: number, timeoutMs: number): Promise<void> {
    this.#o.reminders.unload(partition);
    const leaving = new Set<Activation>();
    for (const t of this.#o.types.values()) {
      for (const a of t.activations.values()) {
        if (this.#o.transport.partitionOf(t.name, a.id) !== partition) continue;
        a.flags |= RELEASED;
        leaving.add(a);
      }
    }
    if (leaving.size === 0) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#releasing.set(partition, leaving);
    this.#releaseDone.set(partition, resolve);
    for (const a of [...leaving]) this.maybeEvict(a);
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
    this.#releaseDone.delete(partition);
    if (this.#releasing.get(partition) === leaving) this.#releasing.delete(partition);
    for (const a of [...leaving]) this.#evict(a, true);
  }

  /**
   * Drops an actor at once, its waiting senders told to retry (its partition's writes were
   * refused: a newer owner, or a store gone back in time).
   */
  abandon(a: Activation): void {
    this.#evict(a, true);
  }

  /** Drops a released actor once it has nothing left to do (called as its work finishes). */
  maybeEvict(a: Activation): void {
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
    const p = this.#o.transport.partitionOf(a.t.name, a.id);
    const leaving = this.#releasing.get(p);
    if (leaving !== undefined && leaving.delete(a) && leaving.size === 0) {
      this.#releasing.delete(p);
      this.#releaseDone.get(p)?.();
    }
    if ((a.flags & STOPPED) !== 0) return;
    if (abandon) {
      const error = new ShutdownError(`${a.childName} moved to another node; retry`);
      // Every command not durable yet, applied or waiting to be applied again, is told.
      requeue(a, a.applied);
      a.applied = null;
      const ext = a.ext!;
      if (ext.restartTimer !== undefined) this.#o.clock.clearTimeout(ext.restartTimer);
      const log = ext.replay ?? [];
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
      a.effects = null;
      a.events = null;
      ext.replay = null;
      a.flags &= ~DIRTY;
    }
    this.#o.passivation.passivate(a);
  }
}
