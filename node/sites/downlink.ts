/**
 * The hub's half of a downlink: a write the hub accepts for an actor of a site is published to
 * the site's downlink stream (`FLOTILLA_DOWN_<site>`, the hub's own), never applied at the hub.
 * The site sources the stream and applies each message once, in order, when the link is up —
 * at once, or after an outage of any length within the stream's retention.
 *
 * @module
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { partitionOf, SITE_SUBJECTS } from "../../runtime/nats/mod.ts";
import type { JsonValue } from "../../runtime/mod.ts";
import type { DownlinkOp } from "../../routes/deps.ts";

const encoder = new TextEncoder();

/** Publishes the hub's decisions to the sites' downlinks. */
export class DownlinkSender {
  #js: JetStreamClient;
  #partitions: number;

  constructor(js: JetStreamClient, partitions: number) {
    this.#js = js;
    this.#partitions = partitions;
  }

  /**
   * Publishes `op` for actor `id` of site `site`; resolves with its position in the downlink
   * once the hub's stream holds it. `msgId` (a command id, say) makes a retry of the same
   * request within two minutes the same message.
   */
  async send(
    site: string,
    op: DownlinkOp,
    id: string,
    body: JsonValue,
    msgId?: string,
  ): Promise<number> {
    const subject = `${SITE_SUBJECTS.down(site)}.${partitionOf(id, this.#partitions)}.${op}.${id}`;
    const ack = await this.#js.publish(
      subject,
      encoder.encode(JSON.stringify(body)),
      msgId === undefined ? {} : { msgID: `${op}:${id}:${msgId}` },
    );
    return ack.seq;
  }
}
