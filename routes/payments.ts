/**
 * Payment terminals: /api/terminals.
 *
 * Card tokens are hashed here, at the edge (HMAC-SHA-256 under `FLOTILLA_CARD_KEY`), before
 * anything is sent to an actor: no raw token reaches a mailbox, a journal, a dead letter or an
 * event.
 *
 * @module
 */
import {
  CARD_KEY_ENV,
  CardHasher,
  CARDS_SCHEMA,
  type CardStatus,
  defaultFraudModel,
  DEV_CARD_KEY,
  PAYMENT_SCHEMA,
  paymentRequest,
  SETTINGS_SCHEMA,
  terminal,
} from "../actors/payments/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { idOf, idParams } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { CARDS_RESULT, PAYMENT_RESULT, TERMINAL } from "./responses/payments.ts";
import { SENT_DOWN } from "./responses/sites.ts";
import { NO_SUCH_SITE, sentDown, siteOfWrite, siteQuery, siteReplica } from "./sites.ts";

const params = idParams(idOf("terminal"));

const NOT_REGISTERED = { description: "the terminal is not registered" };

/**
 * `PUT /api/terminals/:id`, `PUT /api/terminals/:id/cards`, `POST /api/terminals/:id/payments`,
 * `GET /api/terminals/:id`.
 */
export function paymentRoutes(deps: AppDeps): ApiRoutes {
  const { system, clock, logger, metrics } = deps;
  const routes = new ApiRoutes(
    "payments",
    "Payment terminals: settings, card status cache, payments decided by rules and a fraud model.",
  );
  let secret = deps.cardKey ?? null;
  if (secret === null) {
    logger.warn(
      `${CARD_KEY_ENV} is not set: card tokens are hashed with the built-in development key; ` +
        `set a secret of at least 32 characters, the same on every node`,
    );
    secret = DEV_CARD_KEY;
  }
  const hasher = new CardHasher(secret);

  const modelSeconds = metrics.histogram({
    name: "flotilla_fraud_model_seconds",
    help: "Time of one fraud model inference (onnxruntime-web, WebAssembly).",
    buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025],
  });
  defaultFraudModel().onTiming((seconds) => modelSeconds.observe(seconds));

  const terminalRef = (id: string) => system.ref(terminal, id);

  routes.add({
    method: "put",
    path: "/terminals/:id",
    summary: "Register a terminal or change its settings",
    description: "Going online flushes the terminal's offline queue.",
    params,
    body: SETTINGS_SCHEMA,
    example: { timezone: "Asia/Seoul", online: true },
    query: siteQuery,
    responses: {
      200: { description: "the terminal", schema: TERMINAL },
      202: { description: "the terminal lives at a site: sent down to it", schema: SENT_DOWN },
      404: NO_SUCH_SITE,
    },
  }, async (c, { params: { id }, query, body }) => {
    const site = await siteOfWrite(deps, "terminal", id, query.site);
    if (site !== null) return sentDown(c, deps, site, "terminal", id, body);
    return c.json(await terminalRef(id).ask("configure", body));
  });

  routes.add({
    method: "put",
    path: "/terminals/:id/cards",
    summary: "Replace the terminal's card status cache",
    description: "Tokens are hashed before they leave this route; errors name entries by position.",
    params,
    body: CARDS_SCHEMA,
    example: { cards: { "tok-4111": "valid", "tok-4000": "blocked" } },
    responses: {
      200: { description: "the cache's size", schema: CARDS_RESULT },
      202: { description: "the terminal lives at a site: sent down to it", schema: SENT_DOWN },
      404: NOT_REGISTERED,
    },
  }, async (c, { params: { id }, body }) => {
    const cards: Record<string, CardStatus> = {};
    for (const { token, status } of body) cards[await hasher.hash(token)] = status;
    // Hashed here: a site and its hub share FLOTILLA_CARD_KEY.
    const site = await siteOfWrite(deps, "terminal", id);
    if (site !== null) return sentDown(c, deps, site, "cards", id, { cards });
    return c.json(await terminalRef(id).ask("replaceCards", { cards }));
  });

  routes.add({
    method: "post",
    path: "/terminals/:id/payments",
    summary: "Decide a payment",
    description:
      "Idempotent by `transactionId`: a retry gets the first result again, marked by the header " +
      "`Idempotent-Replayed: true`; the same id with a different payment is a 409.",
    params,
    body: PAYMENT_SCHEMA,
    example: {
      transactionId: "tx-1001",
      amount: 12000,
      currency: "KRW",
      cardToken: "tok-4111",
    },
    responses: {
      200: {
        description: "the decision",
        schema: PAYMENT_RESULT,
      },
      404: NOT_REGISTERED,
      409: {
        description: "`idempotency_conflict`: the transaction id was used for another payment",
      },
      422: {
        description: "`time_out_of_range`: `ts` is more than 7 days before or 5 minutes after " +
          "the server's time (the terminal's clock is wrong)",
      },
    },
  }, async (c, { params: { id }, body }) => {
    const { cardToken, ...rest } = paymentRequest(body, clock.now());
    const reply = await terminalRef(id).ask("pay", { ...rest, card: await hasher.hash(cardToken) });
    if (reply.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(reply.result);
  });

  routes.add({
    method: "get",
    path: "/terminals/:id",
    summary: "A terminal",
    description: "Its settings, card cache size, offline queue and counts.",
    params,
    responses: { 200: { description: "the terminal", schema: TERMINAL }, 404: NOT_REGISTERED },
  }, async (c, { params: { id } }) => {
    const replica = await siteReplica(deps, "terminal", id);
    if (replica !== null) return c.json(replica);
    const view = await terminalRef(id).ask("view");
    if (view === null) {
      throw new NotFoundError(
        `terminal ${id} is not registered; PUT /api/terminals/${id} {"timezone", "online"} first`,
      );
    }
    return c.json(view);
  });

  return routes;
}
