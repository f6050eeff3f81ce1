/**
 * Card tokens are never stored: a terminal knows a card only by its keyed hash,
 * HMAC-SHA-256 under a secret of the deployment, base64url-encoded (43 characters). Without
 * the key the hash cannot be reversed or recomputed from a guessed card number.
 *
 * The HTTP routes hash at the edge, before anything is sent to an actor, so a raw token never
 * reaches a mailbox, a journal, a dead letter, an event or (in cluster mode) NATS. WebCrypto's
 * HMAC is asynchronous, which a route can await freely.
 *
 * Every node of a deployment must use the same key, and the key must not change: the card
 * status caches and card histories are keyed by the hash.
 *
 * @module
 */
import { ConfigError } from "../../runtime/mod.ts";

/** The environment variable holding the key. */
export const CARD_KEY_ENV = "FLOTILLA_CARD_KEY";

/** Used when no key is configured (a warning is logged): for development only. */
export const DEV_CARD_KEY = "flotilla-development-card-key-never-use-in-production";

/** Shortest key accepted, in characters (at least 256 bits of ASCII). */
export const MIN_CARD_KEY_LENGTH = 32;

/** Hashes card tokens under one key. */
export class CardHasher {
  readonly #key: Promise<CryptoKey>;

  /** @throws {ConfigError} when the secret is shorter than {@link MIN_CARD_KEY_LENGTH}. */
  constructor(secret: string) {
    if (secret.length < MIN_CARD_KEY_LENGTH) {
      throw new ConfigError(
        `${CARD_KEY_ENV} must be at least ${MIN_CARD_KEY_LENGTH} characters (got ${secret.length}); ` +
          `generate one with: openssl rand -base64 48`,
      );
    }
    this.#key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /**
   * The keyed hash of a card token (base64url, no padding).
   *
   * @example
   * ```ts
   * const hasher = new CardHasher(config.cardKey); // the deployment's FLOTILLA_CARD_KEY
   * await hasher.hash("4111111111111111"); // "q7Kc…" (43 characters)
   * ```
   */
  async hash(token: string): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", await this.#key, new TextEncoder().encode(token));
    return base64url(new Uint8Array(mac));
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
