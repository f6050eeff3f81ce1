/**
 * When a node in cluster mode is ready to take work: once it owns its share of the partitions
 * (the ones rendezvous hashing over the live nodes gives it; alone, all of them) and each of
 * their consumers has caught up — finished everything the stream held for the partition when
 * the node took it.
 *
 * It is a gate for joining: a node starting (or restarted) is not ready until it has taken and
 * caught up its share, which is what a rolling restart waits for before stopping the next node.
 * Once it has been ready, taking over more partitions (of a node that died or left) does not
 * make it unready again: it still answers for every actor meanwhile, and a load balancer must
 * not take every survivor out during a failover. A node whose lease keeper failed (it owns
 * nothing any more, and exits), that is leaving, or that is repairing a partition from the
 * stream because the store went back in time (it takes no new messages of it meanwhile) is not
 * ready.
 *
 * @module
 */

/** What the transport knows of its partitions, from memory. */
export interface PartitionsState {
  /** Partitions of the cluster. */
  readonly partitions: number;
  /** Partitions this node hosts now. */
  readonly owned: number;
  /** The size of this node's share; `null` while placement settles after start. */
  readonly wanted: number | null;
  /** Partitions of the share not hosted here yet. */
  readonly missing: number;
  /** Partitions of the share hosted here whose consumers have not caught up yet. */
  readonly catchingUp: number;
  /** Why nothing keeps this node's leases any more, or `null`. */
  readonly failure: string | null;
  /** The node is leaving the cluster (handing its partitions over). */
  readonly stopping: boolean;
  /** The node has been ready before (see the module documentation). */
  readonly joined: boolean;
  /** Partitions being repaired after the store lost writes, with why. */
  readonly repairing?: readonly { readonly partition: number; readonly reason: string }[];
}

/** The partitions' part of `/readyz`. */
export interface PartitionsReadiness {
  readonly ready: boolean;
  /**
   * For people and tests, starting with how many are owned: `"6 of 16 owned here, 6 wanted"`,
   * `"4 of 16 owned here, 6 wanted; 2 to take, 1 catching up"`.
   */
  readonly detail: string;
}

/** Decides readiness from the partitions' state (see the module documentation). */
export function partitionsReadiness(s: PartitionsState): PartitionsReadiness {
  const owned = `${s.owned} of ${s.partitions} owned here`;
  if (s.failure !== null) {
    return { ready: false, detail: `${owned}; the lease keeper failed: ${s.failure}` };
  }
  if (s.stopping) return { ready: false, detail: `${owned}; leaving the cluster` };
  if (s.repairing !== undefined && s.repairing.length > 0) {
    const which = s.repairing.map((r) => r.partition).join(", ");
    return {
      ready: false,
      detail: `${owned}; repairing partition${s.repairing.length > 1 ? "s" : ""} ${which} from ` +
        `the stream: ${s.repairing[0]!.reason}`,
    };
  }
  if (s.wanted === null) {
    return {
      ready: false,
      detail: `${owned}; placement settling (waiting to hear from every node)`,
    };
  }
  const pending = [
    ...(s.missing > 0 ? [`${s.missing} to take`] : []),
    ...(s.catchingUp > 0 ? [`${s.catchingUp} catching up`] : []),
  ];
  return {
    ready: s.joined || pending.length === 0,
    detail: `${owned}, ${s.wanted} wanted${pending.length > 0 ? `; ${pending.join(", ")}` : ""}`,
  };
}
