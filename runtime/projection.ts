/**
 * Projections (the read side of CQRS): a view folded from the journal events of every actor
 * of one journaled type. Events are fed once durable, in journal order per actor; a gap
 * (events this view has not seen, e.g. written before it started) is filled from the journal,
 * so the view always equals a fold over the journals, whatever the start order.
 *
 * Journals are compacted: once a snapshot covers their start, those events are deleted. A view
 * that needs them starts instead from the actor's snapshot, through the definition's `seed`
 * (what the snapshot's state contributes to the view), then folds the events after it. A
 * projection without a seed that meets a compacted journal says so in the log and folds what is
 * left.
 *
 * @module
 */
import { describeError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { JsonValue, StateStore } from "./store.ts";

/** How a view is built from events. */
export interface ProjectionDefinition<V, E = JsonValue> {
  /** Name, for logs. */
  readonly name: string;
  /** The journaled actor type whose events feed the view. */
  readonly source: string;
  readonly initial: () => V;
  /** Folds one event into the view (mutate it, or return a new one). */
  readonly apply: (
    view: V,
    event: E,
    meta: { readonly id: string; readonly seq: number },
  ) => V | void;
  /**
   * Folds an actor's snapshot state (covering its journal up to `seq`) into the view, where the
   * events before it are compacted away (mutate the view, or return a new one).
   */
  readonly seed?: (
    view: V,
    state: JsonValue,
    meta: { readonly id: string; readonly seq: number },
  ) => V | void;
}

/** A live projection. */
export class Projection<V, E = JsonValue> {
  readonly definition: ProjectionDefinition<V, E>;
  #view: V;
  #positions = new Map<string, number>();
  #catchingUp = new Map<string, Promise<void>>();
  #again = new Set<string>();
  #store: StateStore;
  #prefix: string;
  #logger: Logger;

  /** @internal use `system.project()`. */
  constructor(definition: ProjectionDefinition<V, E>, store: StateStore, logger: Logger) {
    this.definition = definition;
    this.#view = definition.initial();
    this.#store = store;
    this.#prefix = `a/${definition.source}/`;
    this.#logger = logger;
  }

  /** The current view. */
  get view(): V {
    return this.#view;
  }

  /** The last journal sequence folded in for actor `id` (0: none). */
  position(id: string): number {
    return this.#positions.get(id) ?? 0;
  }

  /** Resolves once no catch-up read is in flight. */
  async settled(): Promise<void> {
    while (this.#catchingUp.size > 0) await Promise.all(this.#catchingUp.values());
  }

  /** @internal feeds durable events `firstSeq …` of actor `id`. */
  feed(id: string, firstSeq: number, events: readonly JsonValue[]): void {
    const at = this.position(id);
    if (this.#catchingUp.has(id) || firstSeq > at + 1) {
      this.#catchUp(id);
      return;
    }
    events.forEach((event, i) => {
      const seq = firstSeq + i;
      if (seq > this.position(id)) this.#fold(id, seq, event as E);
    });
  }

  /**
   * Rebuilds the view from every actor of the source type: its journal, or its snapshot when
   * compaction left the journal empty (a snapshot written with the last append covers it all).
   */
  async rebuild(): Promise<void> {
    await this.settled();
    this.#view = this.definition.initial();
    this.#positions.clear();
    const ids = new Set<string>();
    for (const key of await this.#store.journalKeys(this.#prefix)) {
      ids.add(key.slice(this.#prefix.length));
    }
    for (const key of await this.#store.keys(this.#prefix)) ids.add(key.slice(this.#prefix.length));
    for (const id of ids) this.#catchUp(id);
    await this.settled();
  }

  #fold(id: string, seq: number, event: E): void {
    const next = this.definition.apply(this.#view, event, { id, seq });
    if (next !== undefined) this.#view = next;
    this.#positions.set(id, seq);
  }

  #catchUp(id: string): void {
    if (this.#catchingUp.has(id)) {
      // The events that triggered this call may be newer than the pass in flight read.
      this.#again.add(id);
      return;
    }
    const pass = (async () => {
      do {
        this.#again.delete(id);
        await this.#read(id);
      } while (this.#again.has(id));
    })();
    this.#catchingUp.set(id, pass);
    pass.finally(() => this.#catchingUp.delete(id));
  }

  async #read(id: string): Promise<void> {
    try {
      for (;;) {
        const entries = await this.#store.readJournal(this.#prefix + id, this.position(id), 1000);
        const first = entries[0]?.seq;
        if (first !== undefined && first > this.position(id) + 1) await this.#seed(id, first);
        // Nothing in the journal and nothing seen yet: all of it compacted behind the snapshot.
        if (first === undefined && this.position(id) === 0) await this.#seed(id, null);
        for (const { seq, event } of entries) {
          // Stored as a journal record `{e, n, w}`: the event is `e`.
          const e = (event as { readonly e: JsonValue }).e;
          if (seq > this.position(id)) this.#fold(id, seq, e as E);
        }
        if (entries.length < 1000) return;
      }
    } catch (error) {
      this.#logger.error("projection catch-up failed", {
        projection: this.definition.name,
        actor: id,
        error: describeError(error),
      });
    }
  }

  /**
   * The events of `id` before `first` are compacted away: seed the view from the snapshot that
   * covers them, if the definition can.
   */
  async #seed(id: string, first: number | null): Promise<void> {
    const seed = this.definition.seed;
    const snapshot = await this.#store.get(this.#prefix + id);
    const envelope = snapshot?.value as { readonly s: JsonValue; readonly j?: number } | undefined;
    const covers = envelope?.j ?? 0;
    // `null`: the journal is empty; a snapshot covering no event (or none) has nothing to add.
    if (first === null && covers === 0) return;
    first ??= covers + 1;
    if (seed === undefined || envelope === undefined || covers < first - 1) {
      this.#logger.error("projection misses compacted journal events", {
        projection: this.definition.name,
        actor: id,
        missing: `${this.position(id) + 1}-${first - 1}`,
        why: seed === undefined ? "the projection has no seed" : "no snapshot covers them",
      });
      return;
    }
    const next = seed(this.#view, envelope.s, { id, seq: covers });
    if (next !== undefined) this.#view = next;
    this.#positions.set(id, covers);
  }
}
