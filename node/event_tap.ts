/**
 * An event bus that shows every event published through it to an observer before passing it
 * on: the node counts domain metrics (device commands) from the events its actor system
 * publishes — each one once, on the node that made it, once it was durable.
 *
 * @module
 */
import type { EventBus, JsonValue } from "../runtime/mod.ts";

/** `bus`, with `observe` called (synchronously, first) for every event published through it. */
export function tappedBus(
  bus: EventBus,
  observe: (topic: string, data: JsonValue, key: string | null) => void,
): EventBus {
  return {
    publish(topic, data, key) {
      observe(topic, data, key ?? null);
      bus.publish(topic, data, key);
    },
    subscribe: (filter, listener, after) => bus.subscribe(filter, listener, after),
  };
}
