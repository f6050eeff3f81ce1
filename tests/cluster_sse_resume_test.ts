/**
 * SSE in cluster mode across a node restart: a client reads part of the telemetry, the node it
 * reads from restarts, and the client resumes with its `Last-Event-ID` — in the middle of a
 * batch message (events of one group commit share a stream message, ids `<seq>.<index>`) —
 * on the restarted node, whose ring is empty: every event once, in each device's order.
 *
 * @module
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { clusterTest } from "./helpers/cluster.ts";
import { publishReadings, type ReadingEvent } from "./helpers/failover.ts";
import { idOf, SseReader } from "./helpers/sse.ts";

const DEVICES = Array.from({ length: 20 }, (_, d) => `sse-${d}`);

/** Reads telemetry frames until `done` says so; fails after 30 s. */
async function readUntil(
  sse: SseReader,
  frames: string[],
  done: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    const left = deadline - Date.now();
    assert(left > 0, `only ${frames.length} frames arrived`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = await Promise.race([
      sse.next(),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), left))),
    ]);
    clearTimeout(timer);
    assert(frame !== null, `the stream ended after ${frames.length} frames`);
    if (frame !== undefined && !frame.startsWith("retry:") && !frame.startsWith(":")) {
      frames.push(frame);
    }
  }
}

/** The readings' `seq` per device, in the order the frames have them. */
function readings(frames: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const frame of frames) {
    if (!/^event: telemetry$/m.test(frame)) continue;
    const e = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as ReadingEvent;
    if (e.device === undefined || e.readings?.seq === undefined) continue;
    let list = out.get(e.device);
    if (list === undefined) out.set(e.device, list = []);
    list.push(e.readings.seq);
  }
  return out;
}

const total = (m: Map<string, number[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);

clusterTest(
  "cluster SSE: resuming mid-batch on a restarted node gets every event once, in order",
  { nodes: 2 },
  async (cluster) => {
    await cluster.settled();
    const nc = await cluster.client();
    const url = (i: number) => `${cluster.nodes[i]!.url}/api/events?topics=telemetry`;

    const first = new SseReader(await fetch(url(0)));
    assert((await first.next())?.startsWith("retry:"), "the SSE stream did not start");
    await publishReadings(nc, DEVICES, 0, 10);
    const before: string[] = [];
    // Stop where the first batch message of several events is half read.
    let cut = "";
    await readUntil(first, before, () => {
      const last = before.at(-1);
      if (last === undefined) return false;
      const id = idOf(last);
      if (/^\d+\.[1-9]\d*$/.test(id)) cut = id;
      return cut !== "";
    });
    await first.close();
    assert(/^\d+\.\d+$/.test(cut), `ids are <stream seq>.<index>: ${cut}`);

    await publishReadings(nc, DEVICES, 10, 20);
    await cluster.restartNode(0);
    await cluster.settled();
    await publishReadings(nc, DEVICES, 20, 30);

    const resumed = new SseReader(
      await fetch(url(0), { headers: { "Last-Event-ID": cut } }),
    );
    const after: string[] = [];
    const seen = () => total(readings([...before, ...after]));
    await readUntil(resumed, after, () => seen() >= DEVICES.length * 30);
    await resumed.close();

    assert(!after.some((f) => /^event: reset$/m.test(f)), "no reset: the id is in the stream");
    const all = readings([...before, ...after]);
    const everySeq = Array.from({ length: 30 }, (_, s) => s);
    for (const device of DEVICES) assertEquals(all.get(device), everySeq, device);
    // Ids only increase: the resumed stream starts after the cut, nothing comes twice.
    const positions = [...before, ...after].map((f) => idOf(f).split(".").map(Number));
    for (let i = 1; i < positions.length; i++) {
      const [s0, i0] = positions[i - 1]!, [s1, i1] = positions[i]!;
      assert(s1! > s0! || (s1 === s0 && i1! > i0!), `id ${s1}.${i1} after ${s0}.${i0}`);
    }
  },
);
