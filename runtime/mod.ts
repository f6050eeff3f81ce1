/**
 * Flotilla's actor runtime: virtual actors with persisted state, supervision trees, durable
 * reminders and group-committed stores. It knows nothing of devices or payments.
 *
 * @example
 * ```ts
 * import { ActorSystem, defineActor } from "./runtime/mod.ts";
 *
 * const counter = defineActor({
 *   name: "counter",
 *   initialState: () => ({ count: 0 }),
 *   handlers: { add: (ctx, n: number) => (ctx.state.count += n) },
 * });
 * const system = new ActorSystem().register(counter);
 * await system.start();
 * await system.ref(counter, "a").ask("add", 2); // 2, once durable
 * ```
 *
 * @module
 */
export {
  type ActorContext,
  type ActorDefinition,
  type ActorOptions,
  type Address,
  type AnyActorDefinition,
  defineActor,
  type Handler,
  type MailboxOptions,
  type MessagesOf,
  type Overflow,
  type Persistence,
  type ReminderTick,
  type TimerSchedule,
} from "./actor.ts";
export { type Clock, ManualClock, SystemClock, type TimerHandle } from "./clock.ts";
export { type DeadLetter, type DeadLetterReason } from "./dead_letters.ts";
export { type StoreDurability } from "./durability.ts";
export { type Duration, toMillis } from "./duration.ts";
export { fmix32 } from "./hash.ts";
export { interruptHandler, SAME_SIGNAL_MS } from "./interrupt.ts";
export {
  ActorCrashedError,
  ConfigError,
  ConflictError,
  describeError,
  FencedError,
  type FieldIssue,
  FlotillaError,
  MailboxFullError,
  NotFoundError,
  ShutdownError,
  StoreError,
  StoreRegressedError,
  TimeoutError,
  UnknownActorTypeError,
  UnknownMessageError,
  ValidationError,
} from "./errors.ts";
export {
  type BusEvent,
  type EventBus,
  type EventFilter,
  type EventSubscription,
  matches,
  type ResetNotice,
  RingEventBus,
} from "./events.ts";
export { createLogger, type Logger, type LogLevel, parseLogLevel } from "./logger.ts";
export { MetricsRegistry } from "./metrics.ts";
export { Projection, type ProjectionDefinition } from "./projection.ts";
export { ActorRef, type AskOptions } from "./ref.ts";
export { type Schedule } from "./schedule.ts";
export type {
  AppendOp,
  DeleteOp,
  Fence,
  FenceRecord,
  JournalEntry,
  JsonValue,
  KeyPage,
  OpResult,
  PutOp,
  StateStore,
  StoreOp,
  TrimOp,
  Versioned,
} from "./store.ts";
export { MemoryStore, type MemoryStoreImage, type MemoryStoreOptions } from "./stores/memory.ts";
export { DenoKvStore } from "./stores/denokv.ts";
export { type Strategy, type SupervisionPolicy, SupervisorNode } from "./supervisor.ts";
export {
  ActorSystem,
  type ActorSystemOptions,
  type ChildSpec,
  type SupervisorSpec,
} from "./system.ts";
export {
  type Envelope,
  InProcessTransport,
  type LocalDelivery,
  type Transport,
} from "./transport.ts";
