/**
 * The SSE benchmark's clients, in a Worker thread of their own: parsing a thousand streams
 * costs about as much CPU as serving them, and on the same thread it would be measured as the
 * server's latency. Raw TCP connections (cheaper than `fetch` streams); each event carries its
 * publish time (`Date.now()`, the same clock in both threads), so latency is per delivery.
 *
 * Protocol (`postMessage`, one request at a time, each answered once):
 * - `{ op: "open", port, clients }` → `{ ok: true }` once every client has sent its request;
 * - `{ op: "until", target, timeoutMs }` → `{ total }` once `total ≥ target` deliveries were
 *   counted since the last `reset` (or the timeout passed);
 * - `{ op: "seen" }` → `{ seen }`: how many clients have received at least one event (probes,
 *   `n < 0`, count here and nowhere else);
 * - `{ op: "reset", latencies }` → `{ ok: true }`: zero the count, and start (or stop)
 *   recording latencies;
 * - `{ op: "latencies" }` → `{ sorted }`: every latency recorded, ascending;
 * - `{ op: "close" }` → `{ ok: true }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

type Request =
  | { op: "open"; port: number; clients: number }
  | { op: "until"; target: number; timeoutMs: number }
  | { op: "seen" }
  | { op: "reset"; latencies: boolean }
  | { op: "latencies" }
  | { op: "close" };

const conns: Deno.TcpConn[] = [];
let total = 0;
let seen = 0;
let latencies: number[] | null = null;
let waiting: { target: number; resolve: () => void } | null = null;

function counted(n: number): void {
  total += n;
  if (waiting !== null && total >= waiting.target) waiting.resolve();
}

async function read(conn: Deno.TcpConn): Promise<void> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  let first = true;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      let at;
      let got = 0;
      while ((at = text.indexOf("data: ")) >= 0) {
        const end = text.indexOf("\n", at);
        if (end < 0) break;
        const data = JSON.parse(text.slice(at + 6, end)) as { ts: number; n: number };
        text = text.slice(end + 1);
        if (first) {
          seen++;
          first = false;
        }
        if (data.n < 0) continue; // a probe: it proves the subscription, counts for nothing
        got++;
        latencies?.push(Date.now() - data.ts);
      }
      if (text.length > 4096 && text.indexOf("data: ") < 0) text = text.slice(-64);
      if (got > 0) counted(got);
    }
  } catch {
    // Closed.
  }
}

async function open(port: number, clients: number): Promise<void> {
  const request = new TextEncoder().encode(
    "GET /api/events?topics=telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
  );
  for (let i = 0; i < clients; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(request);
    read(conn);
  }
}

async function until(target: number, timeoutMs: number): Promise<void> {
  if (total >= target) return;
  const { promise, resolve } = Promise.withResolvers<void>();
  waiting = { target, resolve };
  const timer = setTimeout(resolve, timeoutMs);
  await promise;
  clearTimeout(timer);
  waiting = null;
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const r = e.data;
  switch (r.op) {
    case "open":
      await open(r.port, r.clients);
      self.postMessage({ ok: true });
      break;
    case "until":
      await until(r.target, r.timeoutMs);
      self.postMessage({ total });
      break;
    case "seen":
      self.postMessage({ seen });
      break;
    case "reset":
      total = 0;
      latencies = r.latencies ? [] : null;
      self.postMessage({ ok: true });
      break;
    case "latencies":
      self.postMessage({ sorted: (latencies ?? []).sort((a, b) => a - b) });
      break;
    case "close":
      for (const c of conns.splice(0)) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      self.postMessage({ ok: true });
      break;
  }
};
