/**
 * Payment terminals (SPEC §3.3): /api/terminals.
 *
 * Card tokens are hashed here, at the edge (HMAC-SHA-256 under `FLOTILLA_CARD_KEY`), before
 * anything is sent to an actor: no raw token reaches a mailbox, a journal, a dead letter or an
 * event.
 *
 * @module
 */
import { Hono } from "hono";
import {
  CARD_KEY_ENV,
  CardHasher,
  cardKeyFromEnv,
  type CardStatus,
  checkTerminalId,
  defaultFraudModel,
  DEV_CARD_KEY,
  parseCardList,
  parsePaymentRequest,
  parseTerminalSettings,
  type PaymentReply,
  TERMINAL,
  type TerminalView,
} from "../actors/payments/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { readJson } from "./body.ts";

/** Options of {@link paymentRoutes} beyond the app's dependencies. */
export interface PaymentRouteOptions {
  /** The card hashing key. @default `FLOTILLA_CARD_KEY`, else a development key (with a warning) */
  readonly cardKey?: string;
}

/**
 * `PUT /api/terminals/:id`, `PUT /api/terminals/:id/cards`, `POST /api/terminals/:id/payments`,
 * `GET /api/terminals/:id`.
 */
export function paymentRoutes(deps: AppDeps, options: PaymentRouteOptions = {}): Hono {
  const { system, clock, logger, metrics } = deps;
  const routes = new Hono();
  let secret = options.cardKey ?? cardKeyFromEnv();
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

  const terminal = (id: string) => system.ref(TERMINAL, id);

  // Registers a terminal or changes its settings; going online flushes its offline queue.
  routes.put("/terminals/:id", async (c) => {
    const id = checkTerminalId(c.req.param("id"));
    const settings = parseTerminalSettings(await readJson(c));
    const view = await terminal(id).ask("configure", settings) as TerminalView;
    return c.json(view);
  });

  // Replaces the terminal's card status cache; tokens are hashed before they leave this route.
  routes.put("/terminals/:id/cards", async (c) => {
    const id = checkTerminalId(c.req.param("id"));
    const entries = parseCardList(await readJson(c));
    const cards: Record<string, CardStatus> = {};
    for (const { token, status } of entries) cards[await hasher.hash(token)] = status;
    return c.json(await terminal(id).ask("replaceCards", { cards }));
  });

  // Decides a payment. A retry with the same transactionId gets the first result again
  // (marked by the header Idempotent-Replayed: true).
  routes.post("/terminals/:id/payments", async (c) => {
    const id = checkTerminalId(c.req.param("id"));
    const request = parsePaymentRequest(await readJson(c), clock.now());
    const { cardToken, ...rest } = request;
    const reply = await terminal(id).ask("pay", {
      ...rest,
      card: await hasher.hash(cardToken),
    }) as PaymentReply;
    if (reply.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(reply.result);
  });

  routes.get("/terminals/:id", async (c) => {
    const id = checkTerminalId(c.req.param("id"));
    const view = await terminal(id).ask("view") as TerminalView | null;
    if (view === null) {
      throw new NotFoundError(
        `terminal ${id} is not registered; PUT /api/terminals/${id} {"timezone", "online"} first`,
      );
    }
    return c.json(view);
  });

  return routes;
}
