/**
 * The `device-history` actor: one sealed chunk of a device's readings, in a ring of slots per
 * device (`<device>.<slot>`); see `history.ts` for why history lives here.
 *
 * @module
 */
import { defineActor } from "../../runtime/mod.ts";
import { type HistoryItem, type HistoryQuery, type SealedChunk, select } from "./history.ts";

/** The actor type of sealed history chunks. */
export const DEVICE_HISTORY = "device-history";

interface ChunkState {
  chunk: SealedChunk | null;
}

/**
 * The history chunk actor type (it takes no configuration). Chunks are read rarely: they leave
 * memory after a minute.
 */
export const deviceHistory = defineActor({
  name: DEVICE_HISTORY,
  initialState: (): ChunkState => ({ chunk: null }),
  handlers: {
    /** Keeps a sealed chunk, replacing the slot's older one (never a newer one). */
    store(ctx, chunk: SealedChunk) {
      const current = ctx.state.chunk;
      if (current !== null && current.seq > chunk.seq) return;
      ctx.state.chunk = chunk;
    },
  },
  queries: {
    /** The readings of chunk `seq` matching the query; none if the slot holds another chunk. */
    read(ctx, msg: HistoryQuery & { seq: number }): HistoryItem[] {
      const chunk = ctx.state.chunk;
      const out: HistoryItem[] = [];
      if (chunk !== null && chunk.seq === msg.seq) select(chunk, msg, out);
      return out;
    },
  },
  options: { persistence: "snapshot", passivateAfter: "PT1M" },
});
