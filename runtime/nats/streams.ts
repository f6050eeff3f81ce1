/**
 * The JetStream streams Flotilla uses, created or updated idempotently at start:
 *
 * | stream | subjects | what |
 * |---|---|---|
 * | `FLOTILLA_INGEST` | `fl.in.<partition>.>` | device telemetry, mapped there by nats-server from `iot.<id>.telemetry` and `sensors.<id>.<sensor>` |
 * | `FLOTILLA_MSGS` | `fl.msg.<partition>` | durable messages between actors on different nodes |
 * | `FLOTILLA_EVENTS` | `fl.ev.<topic>` | outbound events, one message per commit batch and topic (SSE resumes from here) |
 *
 * @module
 */
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { RetentionPolicy, StorageType } from "@nats-io/jetstream";

/** Subject prefixes and stream names. */
export const SUBJECTS = {
  ingest: "fl.in",
  messages: "fl.msg",
  events: "fl.ev",
  rpc: "fl.rpc",
  probe: "fl.probe",
} as const;

export const STREAMS = {
  ingest: "FLOTILLA_INGEST",
  messages: "FLOTILLA_MSGS",
  events: "FLOTILLA_EVENTS",
} as const;

/** How long each stream keeps messages, and how many copies. */
export interface Retention {
  /** @default 24 h */
  readonly ingestMaxAgeMs?: number;
  /** @default 24 h */
  readonly messagesMaxAgeMs?: number;
  /** @default 24 h */
  readonly eventsMaxAgeMs?: number;
  /** Messages the events stream keeps; a message is one batch of events. @default 1,000,000 */
  readonly eventsMaxMsgs?: number;
  /**
   * Bytes the events stream keeps: with batches, a message count alone no longer bounds how many
   * events (and bytes) a day of telemetry leaves in it. @default 256 MiB
   */
  readonly eventsMaxBytes?: number;
  /** @default 1 */
  readonly replicas?: number;
}

const DAY_MS = 86_400_000;
const nanos = (ms: number) => ms * 1_000_000;

/** The configuration of each stream. */
export function streamConfigs(
  retention: Retention = {},
): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: retention.replicas ?? 1,
    duplicate_window: nanos(120_000),
  };
  return [
    {
      ...common,
      name: STREAMS.ingest,
      subjects: [`${SUBJECTS.ingest}.>`],
      max_age: nanos(retention.ingestMaxAgeMs ?? DAY_MS),
    },
    {
      ...common,
      name: STREAMS.messages,
      subjects: [`${SUBJECTS.messages}.>`],
      max_age: nanos(retention.messagesMaxAgeMs ?? DAY_MS),
    },
    {
      ...common,
      name: STREAMS.events,
      subjects: [`${SUBJECTS.events}.>`],
      max_age: nanos(retention.eventsMaxAgeMs ?? DAY_MS),
      max_msgs: retention.eventsMaxMsgs ?? 1_000_000,
      max_bytes: retention.eventsMaxBytes ?? 256 * 1024 * 1024,
    },
  ];
}

/** Creates the streams, or updates them to this configuration; safe to run on every start. */
export function ensureStreams(jsm: JetStreamManager, retention?: Retention): Promise<void> {
  return ensureStreamConfigs(jsm, streamConfigs(retention));
}

/** Creates each stream, or updates it to its configuration; safe to run on every start. */
export async function ensureStreamConfigs(
  jsm: JetStreamManager,
  configs: readonly (Partial<StreamConfig> & { name: string })[],
): Promise<void> {
  for (const config of configs) {
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await jsm.streams.add(config);
    }
  }
}

/** Whether a JetStream API error says the stream or consumer does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}
