/**
 * The partition consumer's cumulative acknowledgements, against a real nats-server: the ack
 * floor is always the end of the finished prefix of what was handed out, whatever order
 * messages finish in, and a message left for redelivery holds it.
 */
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createLogger } from "../runtime/mod.ts";
import { PartitionConsumer } from "../runtime/nats/partition_consumer.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";

const STREAM = "PCTEST";

type Connection = Awaited<ReturnType<typeof connect>>;

/** A partition consumer of durable `pc-p0` on `nc` whose handler only records what it gets. */
async function consumerOn(nc: Connection) {
  const jsm = await jetstreamManager(nc);
  const received: { msg: JsMsg; done: (finished?: boolean) => void }[] = [];
  const consumer = new PartitionConsumer({
    js: jetstream(nc),
    jsm,
    logger: createLogger({ level: "error", write: () => {} }),
    maxAckPending: 100,
    stream: STREAM,
    partition: 0,
    source: "pc/0",
    filter: "pc.0.>",
    durable: "pc-p0",
    owned: () => true,
    handle: (msg, done) => received.push({ msg, done }),
  });
  return {
    consumer,
    received,
    /** Resolves once `n` messages were handed out in all (polling a real server's deliveries). */
    async handedOut(n: number) {
      const deadline = Date.now() + 10_000;
      while (received.length < n) {
        assert(Date.now() < deadline, `${received.length} of ${n} messages handed out`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    floor: (expected: { floor: number; pending: number }) => settled(jsm, nc, expected),
  };
}

/** Its own nats-server, a stream, and a consumer on it (not started). */
async function setup() {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ["pc.>"] });
  const c = await consumerOn(nc);
  const close = async () => {
    await c.consumer.stop(false);
    await nc.close();
    await server.stop();
  };
  return { ...c, nc, close };
}

/**
 * The server's ack floor and pending count, polled until they equal `expected` (acks are
 * processed asynchronously on the server) or for at most 3 s; also waits 100 ms first, so an
 * ack that should not have been sent has time to show.
 */
async function settled(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  nc: { flush(): Promise<void> },
  expected: { floor: number; pending: number },
): Promise<{ floor: number; pending: number }> {
  await nc.flush();
  await new Promise((r) => setTimeout(r, 100));
  const deadline = Date.now() + 3000;
  for (;;) {
    const info = await jsm.consumers.info(STREAM, "pc-p0");
    const seen = { floor: info.ack_floor.stream_seq, pending: info.num_ack_pending };
    if (seen.floor === expected.floor && seen.pending === expected.pending) return seen;
    if (Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lets the consumer's ack (queued as a microtask) go out. */
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("partition consumer: one cumulative ack covers the finished prefix only", async () => {
  const t = await setup();
  try {
    // Partition 0's messages, with another partition's in between (sequences are not dense).
    for (let i = 1; i <= 10; i++) {
      t.nc.publish(`pc.0.d${i}`, `m${i}`);
      t.nc.publish(`pc.1.d${i}`, `other${i}`);
    }
    await t.nc.flush();
    await t.consumer.start();
    await t.handedOut(10);
    const seqs = t.received.map((r) => r.msg.seq);
    assertEquals(seqs, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    assertEquals(t.consumer.resumeSeq, 1);

    // Finish the later half first: nothing can be acknowledged yet.
    for (const r of t.received.slice(5)) r.done();
    await tick();
    assertEquals(await t.floor({ floor: 0, pending: 10 }), { floor: 0, pending: 10 });
    assertEquals(t.consumer.resumeSeq, 1, "the first unfinished message");

    // Finish the first three: the prefix now ends at the third (seq 5).
    for (const r of t.received.slice(0, 3)) r.done();
    await tick();
    assertEquals(await t.floor({ floor: 5, pending: 7 }), { floor: 5, pending: 7 });
    assertEquals(t.consumer.resumeSeq, 7);

    // The fourth is left for redelivery: it holds the floor, whatever finishes after it.
    t.received[3]!.done(false);
    t.received[4]!.done();
    await tick();
    assertEquals(await t.floor({ floor: 5, pending: 7 }), { floor: 5, pending: 7 });
    assertEquals(t.consumer.resumeSeq, 7);
    assertEquals(t.consumer.inFlight, 0);
  } finally {
    await t.close();
  }
});

Deno.test("partition consumer: recreated, it resumes at the first unfinished message", async () => {
  const t = await setup();
  try {
    for (let i = 1; i <= 6; i++) t.nc.publish(`pc.0.d${i}`, `m${i}`);
    await t.nc.flush();
    await t.consumer.start();
    await t.handedOut(6);
    // 1, 2 finished and acked; 3 left for redelivery; 4–6 finished but behind it.
    for (const i of [0, 1, 3, 4, 5]) t.received[i]!.done();
    t.received[2]!.done(false);
    await tick();
    assertEquals(await t.floor({ floor: 2, pending: 4 }), { floor: 2, pending: 4 });
    // Another owner takes over (here: the same consumer started again, as after a restart):
    // it starts at the ack floor + 1, so 3 comes again, and 4–6 after it.
    await t.consumer.stop(true);
    const again = await consumerOn(t.nc);
    await again.consumer.start();
    try {
      await again.handedOut(4);
      assertEquals(again.received.map((r) => r.msg.seq), [3, 4, 5, 6]);
      for (const r of again.received) r.done();
      await tick();
      assertEquals(await again.floor({ floor: 6, pending: 0 }), { floor: 6, pending: 0 });
    } finally {
      await again.consumer.stop(false);
    }
  } finally {
    await t.close();
  }
});

Deno.test("partition consumer: what finishes after it stopped is not acknowledged to its successor", async () => {
  const t = await setup();
  try {
    for (let i = 1; i <= 6; i++) t.nc.publish(`pc.0.d${i}`, `m${i}`);
    await t.nc.flush();
    await t.consumer.start();
    await t.handedOut(6);
    // Taken again on this node (a rewind, a repair): stopped with everything in flight, a new
    // consumer of the same name starts at the floor and gets all six again...
    await t.consumer.stop(false);
    const again = await consumerOn(t.nc);
    await again.consumer.start();
    try {
      await again.handedOut(6);
      // ...while the old deliveries finish late. Their acknowledgement, if it went out, would
      // carry the old consumer's delivery counts and make the server ignore the new one's.
      for (const r of t.received) r.done();
      await tick();
      assertEquals(await again.floor({ floor: 0, pending: 6 }), { floor: 0, pending: 6 });
      for (const r of again.received) r.done();
      await tick();
      assertEquals(await again.floor({ floor: 6, pending: 0 }), { floor: 6, pending: 0 });
    } finally {
      await again.consumer.stop(false);
    }
  } finally {
    await t.close();
  }
});

Deno.test("partition consumer: caught up once what the stream held at its start is finished", async () => {
  const t = await setup();
  try {
    // Partition 0's backlog (sequences 1, 3, 5, 7, 9), another partition's in between and after.
    for (let i = 1; i <= 5; i++) {
      t.nc.publish(`pc.0.d${i}`, `m${i}`);
      t.nc.publish(`pc.1.d${i}`, `other${i}`);
    }
    await t.nc.flush();
    await t.consumer.start();
    assertEquals(t.consumer.caughtUp, false, "a backlog of five");
    await t.handedOut(5);
    // Messages published after the start are not part of what it must catch up on.
    for (let i = 6; i <= 8; i++) t.nc.publish(`pc.0.d${i}`, `m${i}`);
    await t.nc.flush();
    await t.handedOut(8);

    for (const r of t.received.slice(0, 4)) r.done();
    await tick();
    assertEquals(t.consumer.caughtUp, false, "the last of the backlog is not finished");
    t.received[5]!.done(); // a later one finished first does not count
    await tick();
    assertEquals(t.consumer.caughtUp, false);
    t.received[4]!.done();
    await tick();
    assertEquals(t.consumer.caughtUp, true, "the backlog is finished; later messages wait");
    t.received[6]!.done(false);
    await tick();
    assertEquals(t.consumer.caughtUp, true, "and it stays caught up");
  } finally {
    await t.close();
  }
});

Deno.test("partition consumer: with nothing to deliver it is caught up at once", async () => {
  const t = await setup();
  try {
    t.nc.publish("pc.1.d1", "another partition's");
    await t.nc.flush();
    await t.consumer.start();
    assertEquals(t.consumer.caughtUp, true);
  } finally {
    await t.close();
  }
});
