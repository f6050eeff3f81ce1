/**
 * Reads what the runtime stored, without its bookkeeping: the state of a snapshot envelope
 * (and the journal version `j` a journaled actor's snapshot covers), and journal events
 * without their command sequence and writer.
 *
 * @module
 */
import type { JsonValue, StateStore, Versioned } from "../../runtime/mod.ts";

/** A stored snapshot as `{version, value: {s, j?}}`, or `null`. */
export async function storedState(
  store: StateStore,
  key: string,
): Promise<{ version: number; value: { s: JsonValue; j?: number } } | null> {
  return strip(await store.get(key));
}

/** A snapshot as `{version, value: {s, j?}}` without the runtime's sequence and writers. */
export function strip(
  v: Versioned | null,
): { version: number; value: { s: JsonValue; j?: number } } | null {
  if (v === null) return null;
  const { s, j } = v.value as { s: JsonValue; j?: number };
  return { version: v.version, value: j === undefined ? { s } : { s, j } };
}

/** The events of a journal, in order. */
export async function journalEvents(store: StateStore, key: string): Promise<JsonValue[]> {
  return (await store.readJournal(key, 0)).map((entry) => (entry.event as { e: JsonValue }).e);
}
