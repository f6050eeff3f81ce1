import { Mailbox } from "../runtime/mailbox.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

/** A reply handle stand-in: the mailbox only stores and returns it. */
interface Reply {
  readonly n: number;
}

type Message = [kind: string, payload: unknown, reply: Reply | null];

/** Shifts every message out, in order. */
function drain(mb: Mailbox<Reply>): Message[] {
  const out: Message[] = [];
  while (mb.shift()) out.push([mb.kind, mb.payload, mb.reply]);
  return out;
}

Deno.test("Mailbox shift on an empty mailbox returns false and leaves the fields alone", () => {
  const mb = new Mailbox<Reply>();
  assertEquals(mb.size, 0);
  assertEquals(mb.shift(), false);
  assertEquals([mb.kind, mb.payload, mb.reply], ["", undefined, null]);

  const reply = { n: 1 };
  mb.push("a", { x: 1 }, reply);
  assertEquals(mb.shift(), true);
  assertEquals(mb.shift(), false);
  // The last message taken is still readable after a failed shift.
  assertEquals(mb.kind, "a");
  assertEquals(mb.payload, { x: 1 });
  assertEquals(mb.reply, reply);
  assertEquals(mb.size, 0);
});

Deno.test("Mailbox keeps FIFO order while growing far past its initial room", () => {
  const mb = new Mailbox<Reply>();
  const replies = Array.from({ length: 1000 }, (_, n) => ({ n }));
  for (let n = 0; n < 1000; n++) mb.push(`k${n}`, n, n % 2 === 0 ? replies[n]! : null);
  assertEquals(mb.size, 1000);
  const out = drain(mb);
  assertEquals(out.length, 1000);
  for (let n = 0; n < 1000; n++) {
    assertEquals(out[n]![0], `k${n}`);
    assertEquals(out[n]![1], n);
    // The very reply object comes back, not a copy.
    assert(out[n]![2] === (n % 2 === 0 ? replies[n] : null), `reply of message ${n}`);
  }
  assertEquals(mb.size, 0);
});

Deno.test("Mailbox keeps FIFO order across wrap-around and growth while wrapped", () => {
  const mb = new Mailbox<Reply>();
  // Move the head around the initial ring of 4 several times without growing.
  let next = 0, expected = 0;
  for (let round = 0; round < 10; round++) {
    mb.push("m", next++, null);
    mb.push("m", next++, null);
    mb.push("m", next++, null);
    for (let i = 0; i < 3; i++) {
      assert(mb.shift());
      assertEquals(mb.payload, expected++);
    }
  }
  // Now wrapped (head in the middle of the ring): fill past the room so it grows.
  mb.push("m", next++, null);
  mb.push("m", next++, null);
  assert(mb.shift());
  assertEquals(mb.payload, expected++);
  for (let i = 0; i < 13; i++) mb.push("m", next++, null);
  assertEquals(mb.size, 14);
  const out = drain(mb).map((m) => m[1]);
  assertEquals(out, Array.from({ length: 14 }, (_, i) => expected + i));
});

Deno.test("Mailbox release forgets the payload and reply of the last shifted message", () => {
  const mb = new Mailbox<Reply>();
  const payload = { big: "data" };
  mb.push("a", payload, { n: 7 });
  mb.push("b", 2, null);
  assert(mb.shift());
  assertEquals(mb.payload, payload);
  assertEquals(mb.reply, { n: 7 });
  mb.release();
  assertEquals(mb.payload, undefined);
  assertEquals(mb.reply, null);
  // Releasing touches nothing still queued.
  assertEquals(mb.size, 1);
  assert(mb.shift());
  assertEquals([mb.kind, mb.payload, mb.reply], ["b", 2, null]);
});
