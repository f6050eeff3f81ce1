/**
 * Supervision trees, as in Erlang/OTP: a supervisor owns children (actors or supervisors)
 * and decides what to do when one fails.
 *
 * - Strategies: `one-for-one` restarts the failed child; `one-for-all` restarts every child;
 *   `rest-for-one` restarts the failed child and the children started after it.
 * - Intensity: a child restarted more than `maxRestarts` times `within` the window makes its
 *   supervisor fail in turn: the failure escalates to the supervisor's parent, which applies
 *   its own strategy to the supervisor (restarting a supervisor restarts its whole subtree).
 *   At the root there is no one to escalate to: the subtree is restarted after the longest
 *   backoff and an escalation to `null` is reported.
 * - Backoff: the k-th restart within the window waits `min × factor^(k-1)`, capped at `max`.
 *
 * Each actor type has a supervisor (a child of the root) whose children are the type's
 * activations, in activation order; `system.supervise()` builds trees of named actors.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { type Duration, toMillis } from "./duration.ts";
import { ConfigError } from "./errors.ts";

/** How a supervisor reacts to a failed child. */
export type Strategy = "one-for-one" | "one-for-all" | "rest-for-one";

/** A supervision policy as configured. */
export interface SupervisionPolicy {
  readonly strategy: Strategy;
  /** Restarts of one child allowed within `within` before the supervisor itself fails. */
  readonly maxRestarts: number;
  readonly within: Duration;
  /** Delay before a restart: `min × factor^(k-1)` for the k-th restart in the window, capped at `max`. */
  readonly backoff: { readonly min: Duration; readonly max: Duration; readonly factor?: number };
}

/** The policy used where none is given: one-for-one, 5 restarts in 10 s, backoff 50 ms … 10 s. */
export const DEFAULT_POLICY: SupervisionPolicy = {
  strategy: "one-for-one",
  maxRestarts: 5,
  within: "PT10S",
  backoff: { min: 50, max: 10_000, factor: 2 },
};

/** A policy with durations in milliseconds. */
export interface ResolvedPolicy {
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly factor: number;
}

const STRATEGIES: readonly Strategy[] = ["one-for-one", "one-for-all", "rest-for-one"];

/** Fills a partial policy from {@link DEFAULT_POLICY} and checks it. */
export function resolvePolicy(
  policy: Partial<SupervisionPolicy> = {},
  owner = "supervisor",
): ResolvedPolicy {
  const p = { ...DEFAULT_POLICY, ...policy };
  if (!STRATEGIES.includes(p.strategy)) {
    throw new ConfigError(
      `${owner}: strategy must be one of ${STRATEGIES.join(", ")}, got ${p.strategy}`,
    );
  }
  if (!Number.isInteger(p.maxRestarts) || p.maxRestarts < 0) {
    throw new ConfigError(
      `${owner}: maxRestarts must be a non-negative integer, got ${p.maxRestarts}`,
    );
  }
  const factor = p.backoff.factor ?? 2;
  if (!(factor >= 1)) throw new ConfigError(`${owner}: backoff factor must be ≥ 1, got ${factor}`);
  const resolved = {
    strategy: p.strategy,
    maxRestarts: p.maxRestarts,
    withinMs: toMillis(p.within, `${owner} within`),
    minBackoffMs: toMillis(p.backoff.min, `${owner} backoff.min`),
    maxBackoffMs: toMillis(p.backoff.max, `${owner} backoff.max`),
    factor,
  };
  if (resolved.maxBackoffMs < resolved.minBackoffMs) {
    throw new ConfigError(`${owner}: backoff.max is below backoff.min`);
  }
  return resolved;
}

/** Delay before the `k`-th restart (k ≥ 1) within the window. */
export function backoffDelay(policy: ResolvedPolicy, k: number): number {
  const delay = policy.minBackoffMs * policy.factor ** Math.max(0, k - 1);
  return Math.min(policy.maxBackoffMs, delay);
}

/** Anything a supervisor can restart. */
export interface SupervisedChild {
  /** `type/id` for an actor, the supervisor's name for a supervisor. */
  readonly childName: string;
  /** Times of recent restarts, for the intensity check; `null` when none. */
  restartLog: number[] | null;
}

/** What a supervisor needs from the system it runs in. */
export interface SupervisionHost {
  readonly clock: Clock;
  /** Restarts one actor after `delayMs`: reload its state and re-apply unpersisted messages. */
  restartActor(child: SupervisedChild, delayMs: number): void;
  /** Reports that `supervisor` exceeded its intensity and failed to `to` (`null`: the root). */
  escalated(supervisor: string, child: string, to: string | null, restarts: number): void;
}

/** A node of a supervision tree. */
export class SupervisorNode implements SupervisedChild {
  readonly name: string;
  readonly policy: ResolvedPolicy;
  parent: SupervisorNode | null = null;
  restartLog: number[] | null = null;
  /** Children in start order; `dynamic` ones (a type's activations) come after them. */
  readonly children: SupervisedChild[] = [];
  #host: SupervisionHost;
  #dynamic: (() => Iterable<SupervisedChild>) | null;

  constructor(
    name: string,
    policy: ResolvedPolicy,
    host: SupervisionHost,
    dynamic: (() => Iterable<SupervisedChild>) | null = null,
  ) {
    this.name = name;
    this.policy = policy;
    this.#host = host;
    this.#dynamic = dynamic;
  }

  get childName(): string {
    return this.name;
  }

  /** Adds a child at the end of the start order. */
  adopt(child: SupervisedChild): void {
    if (child instanceof SupervisorNode) child.parent = this;
    this.children.push(child);
  }

  /** Removes a child (an actor moved to a named tree, say). */
  release(child: SupervisedChild): void {
    const i = this.children.indexOf(child);
    if (i >= 0) this.children.splice(i, 1);
  }

  /** Every child in start order. */
  *all(): Iterable<SupervisedChild> {
    yield* this.children;
    if (this.#dynamic !== null) yield* this.#dynamic();
  }

  /**
   * Handles the failure of `child`: records the restart, escalates past the intensity limit,
   * otherwise restarts what the strategy says after the backoff.
   */
  childFailed(child: SupervisedChild): void {
    const { policy } = this;
    const now = this.#host.clock.now();
    const log = (child.restartLog ?? []).filter((t) => t > now - policy.withinMs);
    log.push(now);
    child.restartLog = log;
    let delay = backoffDelay(policy, log.length);
    if (log.length > policy.maxRestarts) {
      child.restartLog = null;
      this.#host.escalated(this.name, child.childName, this.parent?.name ?? null, log.length - 1);
      if (this.parent !== null) {
        this.parent.childFailed(this);
        return;
      }
      delay = policy.maxBackoffMs;
    }
    for (const target of this.#targets(child)) this.#restart(target, delay);
  }

  /** Restarts every actor below this supervisor after `delayMs` and forgets their restarts. */
  restartSubtree(delayMs: number): void {
    for (const child of [...this.all()]) {
      child.restartLog = null;
      this.#restart(child, delayMs);
    }
  }

  #targets(failed: SupervisedChild): SupervisedChild[] {
    if (this.policy.strategy === "one-for-one") return [failed];
    const all = [...this.all()];
    if (this.policy.strategy === "one-for-all") return all;
    const at = all.indexOf(failed);
    return at < 0 ? [failed] : all.slice(at);
  }

  #restart(child: SupervisedChild, delayMs: number): void {
    if (child instanceof SupervisorNode) child.restartSubtree(delayMs);
    else this.#host.restartActor(child, delayMs);
  }
}
