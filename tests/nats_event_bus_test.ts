import { connectNats, ensureStreams, JetStreamEventBus } from "../runtime/nats/mod.ts";
import { type BusEvent, createLogger } from "../runtime/mod.ts";
import { collector, eventBusConformance, idsOf as ids } from "./event_bus_conformance.ts";
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
      assertEquals(first.id, "1", "ids are stream sequences");

      // Within the ring (the last 5: 8..12).
      const recent = collector();
      busB.subscribe({}, recent.push, "9");
      await recent.wait(3);
      assertEquals(ids(recent.items), ["10", "11", "12"]);

      // Older than the ring: read back from the stream, then live, no gap and no repeat.
      const old = collector();
      busB.subscribe({ key: "dev-0" }, old.push, "1");
      await old.wait(6);
      assertEquals(ids(old.items), ["2", "4", "6", "8", "10", "12"]);
      busA.publish("telemetry", { n: 13 }, "dev-0");
      busA.publish("telemetry", { n: 14 }, "dev-1");
      await old.wait(7);
      assertEquals(ids(old.items), ["2", "4", "6", "8", "10", "12", "13"]);

      // Resuming while events keep coming: neither a gap nor a repeat at the hand-over.
      const racing = collector();
      busB.subscribe({ key: "dev-0" }, racing.push, "1");
      for (let i = 15; i <= 40; i++) busA.publish("telemetry", { n: i }, `dev-${i % 2}`);
      const expected = [2, 4, 6, 8, 10, 12, 13, ...Array.from({ length: 13 }, (_, k) => 16 + 2 * k)]
        .map(String);
      await racing.wait(expected.length);
      assertEquals(ids(racing.items), expected);

      // An id the stream never had (the stream was recreated since): an explicit reset whose
      // id is the one before the stream's first event, then everything the stream keeps.
      const bogus = collector();
      busB.subscribe({}, bogus.push, "999");
      await bogus.waitFor("40");
      assertEquals(bogus.items[0], {
        reset: true,
        reason: 'event id "999" is not one of this stream\'s',
        after: "0",
      });
      assertEquals(ids(bogus.items.slice(1)), Array.from({ length: 40 }, (_, k) => String(k + 1)));

      // An id in the stream that this node may not have had live yet (another node gave it to
      // the client first): the events after it, no reset, no repeat.
      const ack = await a.js.publish("fl.ev.t", JSON.stringify(41));
      assertEquals(ack.seq, 41);
      const ahead = collector();
      busB.subscribe({}, ahead.push, "41");
      busA.publish("t", 42);
      await ahead.waitFor("42");
      assertEquals(ids(ahead.items), ["42"]);

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

Deno.test("JetStreamEventBus: stop the shared server", async () => {
  await shared.stop();
});
