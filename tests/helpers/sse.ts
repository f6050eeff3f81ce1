/**
 * Reads a server-sent event stream frame by frame (a frame ends with a blank line), raw, so
 * tests can check the wire bytes.
 *
 * @module
 */

/** Reads the frames of an SSE response body. */
export class SseReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(response: Response) {
    if (response.body === null) throw new Error("response has no body");
    this.#reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next frame including its terminating blank line; `null` when the stream ended. */
  async next(): Promise<string | null> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = this.#buffer.slice(0, end + 2);
        this.#buffer = this.#buffer.slice(end + 2);
        return frame;
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += value;
    }
  }

  /** The next `n` frames. */
  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const frame = await this.next();
      if (frame === null) throw new Error(`stream ended after ${out.length} of ${n} frames`);
      out.push(frame);
    }
    return out;
  }

  /** Every remaining frame until the server ends the stream. */
  async rest(): Promise<string[]> {
    const out: string[] = [];
    for (let frame = await this.next(); frame !== null; frame = await this.next()) out.push(frame);
    return out;
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** The `id:` of a frame. */
export function idOf(frame: string): string {
  const match = /^id: (.*)$/m.exec(frame);
  if (match === null) throw new Error(`frame has no id: ${JSON.stringify(frame)}`);
  return match[1]!;
}
