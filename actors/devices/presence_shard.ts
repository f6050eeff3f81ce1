/**
 * The presence shards: heartbeat timeouts that hold across passivation and restarts, at a cost
 * that does not grow with the message rate (device online/offline, edge node health). This is
 * the shard's side; the watched actor's side is `watchdog.ts`.
 *
 * Design:
 * - **In memory, per actor**: a watched actor (a device, an edge node) arms one in-memory timer
 *   for `lastSeen + timeout` when it comes online. A new message only moves `lastSeen`: the
 *   timer, when it fires, re-arms itself for the new deadline. A firing is a query that writes
 *   nothing — no store write, no reminder — and there is at most one per message, about one per
 *   timeout period when messages come much more often than the timeout.
 * - **Durably, per shard**: `presence-shard` actors (a fixed number, by hash of the address)
 *   keep the roster of online actors (`presence.ts`). The roster changes only on transitions —
 *   online, offline, an online actor passivated (it hands its deadline to the shard), a check
 *   answered — so its writes follow transitions, not messages. A shard checks the members that
 *   are not in memory (passivated, or not re-activated since a restart) at their check time,
 *   with an in-memory timer.
 * - **After a restart** no timer exists, and nothing would activate a shard. So a shard with
 *   members keeps a durable one-shot reminder `wake` due two ticks ahead (`presence.tick`,
 *   1 s), postponed every tick while the shard runs: one store write per tick per shard with
 *   members, none while nothing is online — and it never fires while the node is up. After a
 *   restart it fires within two ticks (at once after a longer downtime), activating the shard,
 *   which gives every member a full timeout from then (the node was down, so silence proves
 *   nothing) and checks those not heard from by then: the actor is activated, finds its
 *   deadline passed and goes offline — even if no message ever comes for it.
 *
 * Every timer here is one-shot and re-armed by its handler, so a clock that jumps (a paused
 * process, a test's ManualClock) delivers one late firing, not a backlog.
 *
 * Accuracy: the actor's own timer is exact; shard checks come at the check time; a restart is
 * noticed within two ticks. The protocol between a watched actor and its shard: `join`
 * (online, or a new timeout), `leave` (offline), `watch` (check me at `w`; never moves a check
 * earlier), `alive` (answer to a check: I am in memory and timing myself). The watched actor
 * handles `presenceCheck` from its shard and `heartbeatCheck` from its timer, both queries.
 *
 * @module
 */
import {
  type ActorContext,
  type Address,
  defineActor,
  type Duration,
  toMillis,
} from "../../runtime/mod.ts";
import {
  alive,
  due,
  emptyRoster,
  hasMembers,
  join,
  leave,
  resume,
  type Roster,
  watch,
} from "./presence.ts";
/** The actor type of presence shards (ids `0` … `shards-1`). */
export const PRESENCE_SHARD = "presence-shard";

/** How presence is kept. */
export interface PresenceConfig {
  /** Number of shards: more shards, smaller rosters, more reminder writes. @default 16 */
  readonly shards: number;
  /**
   * How often a shard with members postpones its wake-up reminder (a store write); a restart
   * is noticed within two ticks. @default "PT1S"
   */
  readonly tick: Duration;
  /** A check sent to an actor that has not answered is repeated after this long. @default "PT5S" */
  readonly recheck: Duration;
}

/** Defaults: 16 shards, ticking every second. */
export const DEFAULT_PRESENCE: PresenceConfig = { shards: 16, tick: "PT1S", recheck: "PT5S" };

/** In-memory state of a shard's activation (timers live in memory too). */
interface Running {
  /** Resumed: this run's grace has been given; checks may go out. */
  resumed: boolean;
  /** Members that joined or answered before the resume: they time themselves. */
  fresh: Set<string>;
  /** When each due member was last sent a check. */
  sent: Map<string, number>;
  /** Due time of the armed check timer, or null. */
  check: number | null;
  /** Whether the keep-alive loop (and so the wake reminder) is on. */
  ticking: boolean;
  /** A resume was asked for. */
  requested: boolean;
}

const running = new WeakMap<object, Running>();

function runningOf(ctx: object): Running {
  let r = running.get(ctx);
  if (r === undefined) {
    r = {
      resumed: false,
      fresh: new Set(),
      sent: new Map(),
      check: null,
      ticking: false,
      requested: false,
    };
    running.set(ctx, r);
  }
  return r;
}

/** The earliest time a check is due, counting unanswered checks as due at their recheck. */
function nextCheck(
  r: Roster,
  sent: Map<string, number>,
  now: number,
  recheckMs: number,
): number | null {
  let at: number | null = null;
  for (const key in r.members) {
    let w = r.members[key]!.w;
    if (w === undefined) continue;
    if (w <= now) w = Math.max(now, (sent.get(key) ?? -Infinity) + recheckMs);
    if (at === null || w < at) at = w;
  }
  return at;
}

function self(ctx: { type: string; id: string }): Address {
  return { type: ctx.type, id: ctx.id };
}

/** The presence shard actor type, configured. */
export function presenceShardActor(config: PresenceConfig = DEFAULT_PRESENCE) {
  const recheckMs = toMillis(config.recheck, "presence.recheck");
  const tickMs = toMillis(config.tick, "presence.tick");

  /** Arms the timers the roster needs now (after a resume only). */
  function schedule(ctx: ActorContext<Roster>): void {
    const run = runningOf(ctx);
    if (!run.resumed) return;
    const now = ctx.now();
    // The check timer: at the earliest check time; members already due and sent a check come
    // up again when their recheck is due.
    let at = ctx.state.next;
    if (at !== null && at <= now) at = nextCheck(ctx.state, run.sent, now, recheckMs);
    if (at === null) {
      if (run.check !== null) ctx.cancelTimer("check");
      run.check = null;
    } else if (run.check === null || run.check > at) {
      run.check = at;
      ctx.setTimer("check", { after: Math.max(0, at - now) }, "check");
    }
    // The keep-alive loop and its durable wake-up, while there are members.
    const members = hasMembers(ctx.state);
    if (members && !run.ticking) {
      run.ticking = true;
      keepAlive(ctx);
    } else if (!members && run.ticking) {
      run.ticking = false;
      ctx.cancelTimer("keepalive");
      ctx.cancelReminder("wake");
    }
  }

  function keepAlive(ctx: ActorContext<Roster>): void {
    ctx.setReminder("wake", { at: ctx.now() + 2 * tickMs }, { kind: "wake" });
    ctx.setTimer("keepalive", { after: tickMs }, "keepalive");
  }

  return defineActor({
    name: PRESENCE_SHARD,
    initialState: emptyRoster,
    handlers: {
      join(ctx, msg: { address: string; timeout: number }) {
        join(ctx.state, msg.address, msg.timeout);
        const run = runningOf(ctx);
        if (!run.resumed) run.fresh.add(msg.address);
        schedule(ctx);
      },
      leave(ctx, msg: { address: string }) {
        leave(ctx.state, msg.address);
        runningOf(ctx).sent.delete(msg.address);
        schedule(ctx);
      },
      watch(ctx, msg: { address: string; w: number }) {
        watch(ctx.state, msg.address, msg.w);
        schedule(ctx);
      },
      alive(ctx, msg: { address: string }) {
        alive(ctx.state, msg.address);
        const run = runningOf(ctx);
        if (!run.resumed) run.fresh.add(msg.address);
        run.sent.delete(msg.address);
        schedule(ctx);
      },
      /** First activation of this node's run: every member gets a full timeout from now. */
      resume(ctx) {
        const run = runningOf(ctx);
        resume(ctx.state, ctx.now(), run.fresh);
        run.fresh.clear();
        run.resumed = true;
        schedule(ctx);
      },
    },
    queries: {
      /** The check timer: sends `presenceCheck` to the members whose time has come. */
      check(ctx) {
        const run = runningOf(ctx);
        run.check = null;
        if (!run.resumed) return;
        const now = ctx.now();
        for (const address of due(ctx.state, now)) {
          const last = run.sent.get(address);
          if (last !== undefined && now - last < recheckMs) continue;
          run.sent.set(address, now);
          const slash = address.indexOf("/");
          ctx.tell(
            { type: address.slice(0, slash), id: address.slice(slash + 1) },
            "presenceCheck",
          );
        }
        schedule(ctx);
      },
      /** Every tick while there are members: postpones the durable wake-up. */
      keepalive(ctx) {
        const run = runningOf(ctx);
        if (!run.ticking) return;
        if (hasMembers(ctx.state)) keepAlive(ctx);
        else schedule(ctx);
      },
      /** The wake-up reminder: it fires only when the node was down (or stalled). */
      wake(ctx) {
        schedule(ctx);
      },
      /** The roster, for tests and diagnostics. */
      roster(ctx): Roster {
        return { members: ctx.state.members, next: ctx.state.next };
      },
    },
    onActivate(ctx) {
      // After a supervised restart the timers are gone: arm them again.
      const run = runningOf(ctx);
      run.check = null;
      run.ticking = false;
      if (run.resumed) schedule(ctx);
      else if (!run.requested) {
        run.requested = true;
        ctx.tell(self(ctx), "resume");
      }
    },
    options: { persistence: "snapshot", passivateAfter: null },
  });
}

/** The presence shard actor type with the default configuration, for typing refs. */
export const presenceShard = presenceShardActor();
