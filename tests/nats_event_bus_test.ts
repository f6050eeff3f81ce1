import { connectNats, ensureStreams, JetStreamEventBus } from "../runtime/nats/mod.ts";
import { type BusEvent, createLogger } from "../runtime/mod.ts";
import { headers } from "@nats-io/transport-node";
import { collector, dataOf, eventBusConformance, idsOf as ids } from "./event_bus_conformance.ts";
import { assertEquals } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";

const logger = createLogger({ level: "error", write: () => {} });

// One server for the file, started outside any test (see tests/helpers/servers.ts); each case of
// the conformance suite gets a bus of its own that follows the stream from its next event.
const shared = await startNatsServer();

eventBusConformance("jetstream", async ({ capacity }) => {
  const clients = await connectNats(shared.url, { name: "conformance", logger });
  // A case that asks for a capacity gets it from both the stream and the bus's ring.
  await ensureStreams(clients.jsm, capacity === undefined ? {} : { eventsMaxMsgs: capacity });
  const bus = new JetStreamEventBus({ ...clients, logger, capacity });
  await bus.start();
  return {
    bus,
    cleanup: async () => {
      await bus.stop();
      if (capacity !== undefined) await ensureStreams(clients.jsm);
      await clients.nc.close();
    },
  };
}, { sanitize: false });

/** The ids of events `1..n` published in messages of these sizes, in order. */
function idsOfMessages(sizes: readonly number[], firstSeq = 1): string[] {
  return sizes.flatMap((size, m) => Array.from({ length: size }, (_, i) => `${firstSeq + m}.${i}`));
}

Deno.test({
  name:
    "JetStreamEventBus: every node sees every event; resume from the ring, from the stream, or a reset",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startNatsServer();
    const a = await connectNats(server.url, { name: "a", logger });
    const b = await connectNats(server.url, { name: "b", logger });
    try {
      await ensureStreams(a.jsm);
      // Node b follows the stream with a ring of 5 events only.
      const busA = new JetStreamEventBus({ ...a, logger });
      const busB = new JetStreamEventBus({ ...b, logger, capacity: 5 });
      await busA.start();
      await busB.start();

      const live = collector();
      busB.subscribe({ topics: ["telemetry"] }, live.push);
      // Published in one run: one message per run of a topic, order kept across topics.
      for (let i = 1; i <= 12; i++) {
        busA.publish(i % 3 === 0 ? "alerts" : "telemetry", { n: i }, `dev-${i % 2}`);
      }
      await live.wait(8);
      assertEquals((live.items as BusEvent[]).map((e) => (e.data as { n: number }).n), [
        1,
        2,
        4,
        5,
        7,
        8,
        10,
        11,
      ]);
      const first = live.items[0] as BusEvent;
      assertEquals(first.topic, "telemetry");
      assertEquals(first.key, "dev-1");
      // Messages 1..8 hold events [1, 2] [3] [4, 5] [6] [7, 8] [9] [10, 11] [12].
      const burst = [2, 1, 2, 1, 2, 1, 2, 1];
      assertEquals(
        ids(live.items),
        ["1.0", "1.1", "3.0", "3.1", "5.0", "5.1", "7.0", "7.1"],
        "ids are <stream seq>.<index>",
      );
      assertEquals((await a.jsm.streams.info("FLOTILLA_EVENTS")).state.messages, 8);

      // Within the ring (the last 5 events at most: whole messages 6..8, events 9..12).
      const recent = collector();
      busB.subscribe({}, recent.push, "6.0");
      await recent.wait(3);
      assertEquals(ids(recent.items), ["7.0", "7.1", "8.0"]);
      const middle = collector();
      busB.subscribe({}, middle.push, "7.0");
      await middle.wait(2);
      assertEquals(ids(middle.items), ["7.1", "8.0"], "the rest of a message, then the next");
      const plain = collector();
      busB.subscribe({}, plain.push, "6");
      await plain.wait(3);
      assertEquals(ids(plain.items), ["7.0", "7.1", "8.0"], "a plain <seq>: after its message");

      // Older than the ring: read back from the stream, then live, no gap and no repeat.
      const old = collector();
      busB.subscribe({ key: "dev-0" }, old.push, "1.0");
      await old.wait(6);
      assertEquals(ids(old.items), ["1.1", "3.0", "4.0", "5.1", "7.0", "8.0"]);
      busA.publish("telemetry", { n: 13 }, "dev-0");
      busA.publish("telemetry", { n: 14 }, "dev-1");
      await old.wait(7);
      assertEquals(ids(old.items), ["1.1", "3.0", "4.0", "5.1", "7.0", "8.0", "9.0"]);
      const legacy = collector();
      busB.subscribe({}, legacy.push, "3");
      await legacy.waitFor("9.1");
      assertEquals(
        ids(legacy.items),
        ["4.0", "5.0", "5.1", "6.0", "7.0", "7.1", "8.0", "9.0", "9.1"],
        "a plain <seq> read back from the stream: after its whole message",
      );

      // Resuming while events keep coming: neither a gap nor a repeat at the hand-over.
      const racing = collector();
      busB.subscribe({ key: "dev-0" }, racing.push, "1.0");
      for (let i = 15; i <= 40; i++) busA.publish("telemetry", { n: i }, `dev-${i % 2}`);
      const expected = [
        ...["1.1", "3.0", "4.0", "5.1", "7.0", "8.0", "9.0"],
        ...Array.from({ length: 13 }, (_, k) => `10.${1 + 2 * k}`),
      ];
      await racing.wait(expected.length);
      assertEquals(ids(racing.items), expected);

      // An id the stream never had (the stream was recreated since): an explicit reset whose
      // id is the one before the stream's first message, then everything the stream keeps.
      const bogus = collector();
      busB.subscribe({}, bogus.push, "999.0");
      await bogus.waitFor("10.25");
      assertEquals(bogus.items[0], {
        reset: true,
        reason: 'event id "999.0" is not one of this stream\'s',
        after: "0",
      });
      assertEquals(ids(bogus.items.slice(1)), idsOfMessages([...burst, 2, 26]));

      // A message of the format before batches (one event, its key in a header) reads back as
      // one event; an id in the stream that this node may not have had live yet (another node
      // gave it to the client first) gets the events after it, no reset, no repeat.
      const oldFormat = collector();
      busB.subscribe({}, oldFormat.push, "10");
      const ack = await a.js.publish("fl.ev.t", JSON.stringify(41), {
        headers: (() => {
          const h = headers();
          h.set("Fl-Key", "dev-9");
          return h;
        })(),
      });
      assertEquals(ack.seq, 11);
      await oldFormat.waitFor("11.0");
      assertEquals((oldFormat.items as BusEvent[]).map((e) => [e.id, e.key, e.data]), [
        ["11.0", "dev-9", 41],
      ]);
      const ahead = collector();
      busB.subscribe({}, ahead.push, "11.0");
      busA.publish("t", 42);
      await ahead.waitFor("12.0");
      assertEquals(ids(ahead.items), ["12.0"]);

      // Forwarding: commands also go out on the device's own subject.
      const forwarding = new JetStreamEventBus({
        ...a,
        logger,
        forward: { commands: (e) => (e.key === null ? null : `cmd.${e.key}`) },
      });
      const got = Promise.withResolvers<string>();
      const sub = b.nc.subscribe("cmd.robot1", {
        callback: (_e, msg) => got.resolve(msg.string()),
      });
      await b.nc.flush();
      forwarding.publish("commands", { set: { speed: 2 } }, "robot1");
      assertEquals(JSON.parse(await got.promise), { set: { speed: 2 } });
      sub.unsubscribe();

      await busA.stop();
      await busB.stop();
    } finally {
      await a.nc.close();
      await b.nc.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "JetStreamEventBus: a batch grows to its size or count limit; stop publishes what is waiting",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const clients = await connectNats(shared.url, { name: "limits", logger });
    try {
      await ensureStreams(clients.jsm);
      const info = () => clients.jsm.streams.info("FLOTILLA_EVENTS");
      const before = (await info()).state.last_seq;
      // Each entry `[null,{"n":N}]` is 14 characters: three fit in 50 with the brackets.
      const bus = new JetStreamEventBus({ ...clients, logger, maxBatchChars: 50 });
      await bus.start();
      const all = collector();
      bus.subscribe({}, all.push);
      for (let n = 1; n <= 7; n++) bus.publish("limits", { n });
      await all.wait(7);
      assertEquals(dataOf(all.items), [1, 2, 3, 4, 5, 6, 7].map((n) => ({ n })));
      assertEquals(ids(all.items), idsOfMessages([3, 3, 1], before + 1));
      // And to a number of events.
      const counted = new JetStreamEventBus({ ...clients, logger, maxBatchEvents: 2 });
      for (let n = 1; n <= 5; n++) counted.publish("limits", { n });
      await all.wait(12);
      assertEquals(ids(all.items.slice(7)), idsOfMessages([2, 2, 1], before + 4));
      await counted.stop();
      // Published and stopped in the same run: stop sends the batch before it returns.
      bus.publish("limits", { n: 8 });
      await bus.stop();
      await clients.nc.flush();
      assertEquals((await info()).state.last_seq, before + 7);
    } finally {
      await clients.nc.close();
    }
  },
});

Deno.test("JetStreamEventBus: stop the shared server", async () => {
  await shared.stop();
});
