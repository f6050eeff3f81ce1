import { ManualClock } from "../runtime/clock.ts";
import { Deadlines, type Expiring } from "../runtime/deadlines.ts";
import { assertEquals } from "./helpers/assert.ts";

/** An entry that records when it expired. */
function entry(clock: ManualClock, log: string[], name: string): Expiring {
  return { expire: () => log.push(`${name}@${clock.now()}`) };
}

Deno.test("deadlines expire in order, each at its own time, on one timer per length", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const q = deadlines.queue(100);
  q.add(entry(clock, log, "a"), 100);
  clock.advance(30);
  q.add(entry(clock, log, "b"), 130);
  clock.advance(10);
  q.add(entry(clock, log, "c"), 140);
  assertEquals(clock.pending, 1, "one timer for the whole queue");
  assertEquals(deadlines.pending, 3);
  clock.advance(59); // t = 99
  assertEquals(log, []);
  clock.advance(1); // t = 100
  assertEquals(log, ["a@100"]);
  clock.advance(40); // t = 140
  assertEquals(log, ["a@100", "b@130", "c@140"]);
  assertEquals(deadlines.pending, 0);
  assertEquals(clock.pending, 0, "the emptied queue holds no timer");
});

Deno.test("a cancelled deadline never expires, and the timer moves on to the next live one", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const q = deadlines.queue(50);
  const a = q.add(entry(clock, log, "a"), 50);
  clock.advance(10);
  const b = q.add(entry(clock, log, "b"), 60);
  clock.advance(10);
  q.add(entry(clock, log, "c"), 70);
  q.cancel(a);
  q.cancel(b);
  q.cancel(b); // twice is harmless
  assertEquals(deadlines.pending, 1);
  clock.advance(100);
  assertEquals(log, ["c@70"], "c expires at its own deadline, a and b never");
  q.cancel(a); // after the queue passed it: ignored
  assertEquals(deadlines.pending, 0);
});

Deno.test("cancelling the last pending deadline clears the timer at once", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const q = deadlines.queue(5000);
  const a = q.add(entry(clock, log, "a"), 5000);
  const b = q.add(entry(clock, log, "b"), 5000);
  q.cancel(a);
  assertEquals(clock.pending, 1, "b is still pending");
  q.cancel(b);
  assertEquals(clock.pending, 0, "nothing armed while nothing is pending");
  const q2 = deadlines.queue(5000);
  q2.add(entry(clock, log, "c"), 5000);
  clock.advance(5000);
  assertEquals(log, ["c@5000"]);
});

Deno.test("queues are shared per whole millisecond and dropped when they empty", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const q1 = deadlines.queue(99.2);
  const q2 = deadlines.queue(100);
  assertEquals(q1 === q2, true, "99.2 ms rounds up to the 100 ms queue");
  q1.add(entry(clock, log, "x"), 100);
  const short = deadlines.queue(10);
  short.add(entry(clock, log, "y"), 10);
  assertEquals(clock.pending, 2, "one timer per timeout length");
  clock.advance(10);
  assertEquals(log, ["y@10"]);
  assertEquals(deadlines.queue(10) === short, false, "an emptied queue is not reused");
  clock.advance(90);
  assertEquals(log, ["y@10", "x@100"]);
});

Deno.test("an expiry may add to its own queue, and entries survive compaction", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const q = deadlines.queue(10);
  const expired: number[] = [];
  // 3,000 entries, all but every 100th cancelled: the queue compacts as it passes them.
  const seqs: number[] = [];
  for (let i = 0; i < 3000; i++) {
    seqs.push(q.add({ expire: () => expired.push(i) }, 10 + i));
  }
  for (let i = 0; i < 3000; i++) if (i % 100 !== 0) q.cancel(seqs[i]!);
  let again = 0;
  const chained: Expiring = {
    expire: () => {
      again++;
      if (again < 3) deadlines.queue(10).add(chained, clock.now() + 10);
    },
  };
  q.add(chained, 10 + 3000);
  clock.advance(5000);
  assertEquals(expired, Array.from({ length: 30 }, (_, k) => k * 100));
  assertEquals(again, 3);
  assertEquals(deadlines.pending, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("close stops the timers and expires what is still pending", () => {
  const clock = new ManualClock(0);
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  deadlines.queue(100).add(entry(clock, log, "a"), 100);
  const q = deadlines.queue(200);
  const b = q.add(entry(clock, log, "b"), 200);
  q.add(entry(clock, log, "c"), 200);
  q.cancel(b);
  clock.advance(5);
  deadlines.close();
  assertEquals(log.sort(), ["a@5", "c@5"]);
  assertEquals(clock.pending, 0);
  assertEquals(deadlines.pending, 0);
});
