/**
 * The watched actor's side of presence (a device, an edge node): it times itself while in
 * memory, and tells its presence shard (`presence_shard.ts`, which explains the design) when
 * it comes online, goes offline, is passivated or answers a check. Each function is called from
 * one place of the watched actor's definition, named in its JSDoc.
 *
 * @module
 */
import type { ActorContext, Address } from "../../runtime/mod.ts";
import { shardOf } from "./presence.ts";
import { PRESENCE_SHARD } from "./presence_shard.ts";

/** The deadline of the armed heartbeat timer, per activation (timers live in memory too). */
const armed = new WeakMap<object, number>();

function shardAddress(ctx: { type: string; id: string }, shards: number): Address {
  return { type: PRESENCE_SHARD, id: String(shardOf(`${ctx.type}/${ctx.id}`, shards)) };
}

function addressOf(ctx: { type: string; id: string }): string {
  return `${ctx.type}/${ctx.id}`;
}

/**
 * Arms the heartbeat timer for `deadline` unless one is armed for no later (it will re-arm
 * itself). The timer sends the query `heartbeatCheck`. O(1); called on every message.
 */
export function armHeartbeat(ctx: ActorContext<unknown>, deadline: number): void {
  const current = armed.get(ctx);
  if (current !== undefined && current <= deadline) return;
  armed.set(ctx, deadline);
  ctx.setTimer("heartbeat", { after: Math.max(0, deadline - ctx.now()) }, "heartbeatCheck");
}

/** Stops the heartbeat timer (the actor went offline). */
export function disarmHeartbeat(ctx: ActorContext<unknown>): void {
  if (armed.delete(ctx)) ctx.cancelTimer("heartbeat");
}

/** The actor came online, or its timeout changed: tells its shard, arms the timer. */
export function wentOnline(
  ctx: ActorContext<unknown>,
  shards: number,
  timeout: number,
  deadline: number,
): void {
  ctx.tell(shardAddress(ctx, shards), "join", { address: addressOf(ctx), timeout });
  disarmHeartbeat(ctx);
  armHeartbeat(ctx, deadline);
}

/** The actor went offline: tells its shard, stops the timer. */
export function wentOffline(ctx: ActorContext<unknown>, shards: number): void {
  ctx.tell(shardAddress(ctx, shards), "leave", { address: addressOf(ctx) });
  disarmHeartbeat(ctx);
}

/**
 * For `onActivate`: re-arms the timer of an online actor. A deadline already past is left to
 * the shard (which holds a check time for an actor that was not in memory), and the shard is
 * asked to check it now in case it holds none (a crash right at the deadline) — a request that
 * cannot shorten a grace period the shard gave.
 */
export function activated(
  ctx: ActorContext<unknown>,
  shards: number,
  online: boolean,
  deadline: number,
): void {
  armed.delete(ctx);
  if (!online) return;
  const now = ctx.now();
  if (deadline > now) armHeartbeat(ctx, deadline);
  else ctx.tell(shardAddress(ctx, shards), "watch", { address: addressOf(ctx), w: now });
}

/** For `onPassivate`: an online actor hands its deadline to its shard. */
export function passivating(
  ctx: ActorContext<unknown>,
  shards: number,
  online: boolean,
  deadline: number,
): void {
  armed.delete(ctx);
  if (online) {
    ctx.tell(shardAddress(ctx, shards), "watch", { address: addressOf(ctx), w: deadline });
  }
}

/**
 * For the `heartbeatCheck` query (the timer fired): re-arms while the deadline is ahead,
 * else sends the actor the command `offlineKind` (which decides again, in order with the
 * messages that may have arrived meanwhile).
 */
export function timerFired(
  ctx: ActorContext<unknown>,
  online: boolean,
  deadline: number,
  offlineKind: string,
): void {
  armed.delete(ctx);
  if (!online) return;
  if (ctx.now() >= deadline) ctx.tell(self(ctx), offlineKind, { deadline });
  else armHeartbeat(ctx, deadline);
}

/**
 * For the `presenceCheck` query (the shard's check): an offline actor is forgotten by the
 * shard, an overdue one goes offline, a live one says so and times itself.
 */
export function checked(
  ctx: ActorContext<unknown>,
  shards: number,
  online: boolean,
  deadline: number,
  offlineKind: string,
): void {
  const shard = shardAddress(ctx, shards);
  if (!online) ctx.tell(shard, "leave", { address: addressOf(ctx) });
  else if (ctx.now() >= deadline) ctx.tell(self(ctx), offlineKind, { deadline });
  else {
    ctx.tell(shard, "alive", { address: addressOf(ctx) });
    armHeartbeat(ctx, deadline);
  }
}

function self(ctx: { type: string; id: string }): Address {
  return { type: ctx.type, id: ctx.id };
}
