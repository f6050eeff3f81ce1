/**
 * Presence: when an actor that should hear from something regularly (a device's telemetry, an
 * edge node's heartbeats) has not, for longer than its timeout — pure functions over the
 * roster a presence shard keeps. The actors and their protocol are in `watchdog.ts`.
 *
 * @module
 */

/** One watched actor in a shard's roster. */
export interface Member {
  /** Its heartbeat timeout, ms. */
  t: number;
  /**
   * When the shard must check it (epoch ms): set while the actor is not in memory to time
   * itself (passivated, or not re-activated since a restart); absent otherwise.
   */
  w?: number;
}

/** A shard's roster: the online actors whose address hashes to it (plain JSON). */
export interface Roster {
  /** By address `type/id`. */
  members: Record<string, Member>;
  /** The earliest `w` of any member, or `null`. */
  next: number | null;
}

/** An empty roster. */
export function emptyRoster(): Roster {
  return { members: {}, next: null };
}

/**
 * The shard (0 … shards-1) of an address: FNV-1a of its characters. Stable across processes
 * and versions, since a shard's roster is persisted under its number.
 */
export function shardOf(address: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

function recompute(r: Roster): void {
  let next: number | null = null;
  for (const key in r.members) {
    const w = r.members[key]!.w;
    if (w !== undefined && (next === null || w < next)) next = w;
  }
  r.next = next;
}

/**
 * An actor came online (or changed its timeout): it times itself now, so no check is due.
 */
export function join(r: Roster, address: string, timeout: number): void {
  const had = r.members[address]?.w;
  r.members[address] = { t: timeout };
  if (had !== undefined && had === r.next) recompute(r);
}

/** An actor went offline: forgotten. */
export function leave(r: Roster, address: string): void {
  const m = r.members[address];
  if (m === undefined) return;
  delete r.members[address];
  if (m.w !== undefined && m.w === r.next) recompute(r);
}

/**
 * The actor stops timing itself (it is being passivated, say): the shard checks it at `w`.
 * An existing check time is never moved earlier: a grace period given after a restart stands.
 */
export function watch(r: Roster, address: string, w: number): void {
  const m = r.members[address];
  if (m === undefined) return;
  if (m.w !== undefined && m.w >= w) return;
  m.w = w;
  if (r.next === null || w < r.next) r.next = w;
  else recompute(r);
}

/** The actor answered a check and is in memory, timing itself: no check is due. */
export function alive(r: Roster, address: string): void {
  const m = r.members[address];
  if (m === undefined || m.w === undefined) return;
  const was = m.w;
  delete m.w;
  if (was === r.next) recompute(r);
}

/**
 * After a restart no member times itself, and none could be heard from while the node was
 * down: every member gets a full timeout from now before it is checked (or keeps a later
 * check time it had). Members in `except` joined or answered since, and time themselves.
 */
export function resume(r: Roster, now: number, except?: ReadonlySet<string>): void {
  for (const key in r.members) {
    if (except?.has(key)) continue;
    const m = r.members[key]!;
    const w = now + m.t;
    if (m.w === undefined || m.w < w) m.w = w;
  }
  recompute(r);
}

/** Addresses whose check time has come. O(1) when none has. */
export function due(r: Roster, now: number): string[] {
  if (r.next === null || r.next > now) return [];
  const out: string[] = [];
  for (const key in r.members) {
    const w = r.members[key]!.w;
    if (w !== undefined && w <= now) out.push(key);
  }
  return out;
}

/** Whether the roster has members. */
export function hasMembers(r: Roster): boolean {
  for (const _ in r.members) return true;
  return false;
}
