/**
 * The behaviour every {@link Transport} must show to the actor system it serves, whether every
 * actor is in this process (embedded mode) or messages cross NATS (cluster mode). A transport's
 * test file calls {@link transportConformance} once; each case starts a fresh transport, alone
 * in its cluster, on a {@link RecordingDelivery} standing in for the node's actor system.
 *
 * @module
 */
import {
  ActorCrashedError,
  type Envelope,
  type FenceRecord,
  FlotillaError,
  type LocalDelivery,
  type Transport,
  ValidationError,
} from "../runtime/mod.ts";
import type { DeliveryOptions } from "../runtime/transport.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";

/** A fresh, unstarted transport for one test case. */
export interface TransportFixture {
  readonly transport: Transport;
  /** How many partitions its node hosts once started alone (in-process: 1). */
  readonly partitions: number;
  /** Resolves once the started transport hosts every partition (leases taken, say). */
  readonly ready: () => Promise<void>;
  /** Stops what the fixture opened (the suite stops the transport first). */
  readonly cleanup: () => Promise<void>;
}

/** One delivery the transport made. */
export interface Delivered {
  readonly envelope: Envelope;
  readonly options: DeliveryOptions;
}

/**
 * A node's actor system as its transport sees it: records partitions acquired and released and
 * every delivery, and answers by message kind — `echo` resolves with `{echo: payload}`,
 * `refuse` rejects with a `ValidationError` (400), `crash` with an `ActorCrashedError` (500),
 * anything else resolves with `null`.
 */
export class RecordingDelivery implements LocalDelivery {
  readonly acquiredPartitions: number[] = [];
  readonly releasedPartitions: number[] = [];
  readonly delivered: Delivered[] = [];
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  deliver(envelope: Envelope, options: DeliveryOptions = {}): Promise<unknown> {
    this.delivered.push({ envelope, options });
    for (const w of this.#waiters.filter((w) => w.test())) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
    switch (envelope.kind) {
      case "echo":
        return Promise.resolve({ echo: envelope.payload });
      case "refuse":
        return Promise.reject(new ValidationError(`refused ${JSON.stringify(envelope.payload)}`));
      case "crash":
        return Promise.reject(new ActorCrashedError(`${envelope.type}/${envelope.id} crashed`));
      default:
        return Promise.resolve(null);
    }
  }

  acquired(partition: number, token?: number): Promise<FenceRecord | null> {
    this.acquiredPartitions.push(partition);
    return Promise.resolve(token === undefined ? null : { token, marks: {} });
  }

  released(partition: number): Promise<void> {
    this.releasedPartitions.push(partition);
    return Promise.resolve();
  }

  /** The deliveries to actor `id`, in delivery order. */
  to(id: string): Delivered[] {
    return this.delivered.filter((d) => d.envelope.id === id);
  }

  /** Resolves once actor `id` got `n` deliveries; fails after `timeoutMs`. */
  async waitFor(id: string, n: number, timeoutMs = 10_000): Promise<Delivered[]> {
    if (this.to(id).length < n) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#waiters.push({ test: () => this.to(id).length >= n, resolve });
      const timer = setTimeout(resolve, timeoutMs);
      await promise;
      clearTimeout(timer);
    }
    const got = this.to(id);
    assert(got.length >= n, `${id} got ${got.length} of ${n} messages`);
    return got;
  }
}

/** Registers one `Deno.test` per criterion, named `"<name> transport: <criterion>"`. */
export function transportConformance(
  name: string,
  open: () => Promise<TransportFixture>,
  options: { readonly sanitize?: boolean } = {},
): void {
  let cases = 0;
  const test = (
    criterion: string,
    body: (f: TransportFixture, local: RecordingDelivery, id: string) => void | Promise<void>,
  ) =>
    Deno.test({
      name: `${name} transport: ${criterion}`,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      async fn() {
        const fixture = await open();
        const local = new RecordingDelivery();
        try {
          await fixture.transport.start(local);
          await fixture.ready();
          // An actor id of this case only: nothing another case sent can reach it.
          await body(fixture, local, `${name}-${++cases}-${crypto.randomUUID().slice(0, 8)}`);
        } finally {
          await fixture.transport.stop();
          await fixture.cleanup();
        }
      },
    });

  test("a started transport hands its node every partition it hosts", (f, local) => {
    const all = Array.from({ length: f.partitions }, (_, p) => p);
    assertEquals([...local.acquiredPartitions].sort((a, b) => a - b), all);
  });

  test(
    "partitionOf is stable and in range, and every actor is local to a node alone",
    (f, _local, id) => {
      const t = f.transport;
      for (const actor of [id, "a", "device-42", "é😀", ""]) {
        const p = t.partitionOf("type", actor);
        assert(Number.isInteger(p) && p >= 0 && p < f.partitions, `partition ${p} of ${actor}`);
        assertEquals(t.partitionOf("type", actor), p, "the same every time");
        assert(t.isLocal("type", actor), `${actor} is local`);
      }
    },
  );

  test("a request reaches the actor's node and resolves with its reply", async (f, local, id) => {
    const payload = { x: 1, list: [1, "two", null], nested: { ok: true } };
    const reply = await f.transport.request({ type: "thing", id, kind: "echo", payload }, 5000);
    assertEquals(reply, { echo: payload });
    const [got] = local.to(id);
    assertEquals(got?.envelope.type, "thing");
    assertEquals(got?.envelope.kind, "echo");
    assertEquals(got?.envelope.payload, payload);
    assert((got?.options.timeoutMs ?? 0) > 0, "the delivery has a deadline");
  });

  test(
    "a refused or crashed request rejects with the error's code and status",
    async (f, _l, id) => {
      const refused = await assertRejects(
        () => f.transport.request({ type: "thing", id, kind: "refuse", payload: 7 }, 5000),
        FlotillaError,
        "refused 7",
      );
      assertEquals([refused.code, refused.status], ["invalid_input", 400]);
      const crashed = await assertRejects(
        () => f.transport.request({ type: "thing", id, kind: "crash", payload: null }, 5000),
        FlotillaError,
        "crashed",
      );
      assertEquals([crashed.code, crashed.status], ["actor_crashed", 500]);
    },
  );

  test("a sent message reaches the actor's node once, payload intact", async (f, local, id) => {
    const payload = { reading: 21.5, tags: ["a", "b"], none: null };
    await f.transport.send({ type: "thing", id, kind: "note", payload });
    // A marker sent after it: once the marker is here, a second copy would have been too.
    await f.transport.send({ type: "thing", id, kind: "marker", payload: null });
    const got = await local.waitFor(id, 2);
    assertEquals(got.map((d) => [d.envelope.type, d.envelope.kind, d.envelope.payload]), [
      ["thing", "note", payload],
      ["thing", "marker", null],
    ]);
  });

  test(
    "messages sent one after another to one actor arrive in that order",
    async (f, local, id) => {
      for (let i = 0; i < 20; i++) {
        await f.transport.send({ type: "thing", id, kind: "note", payload: i });
      }
      const got = await local.waitFor(id, 20);
      assertEquals(got.map((d) => d.envelope.payload), Array.from({ length: 20 }, (_, i) => i));
    },
  );
}
