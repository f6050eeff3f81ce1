/**
 * Command routes under `/api/devices/:id/commands`: send a command (durable, idempotent with a
 * client's `commandId`), list and read commands, cancel one, and — for devices without NATS or
 * MQTT — report on one. The commands live in the device's `device-commands` actor; whether the
 * device exists and is online is the device actor's.
 *
 * @module
 */
import { z } from "zod";
import {
  COMMAND_ID,
  COMMAND_SCHEMA,
  COMMAND_STATUSES,
  CommandFinalError,
  commandNotFound,
  commandReport,
  device,
  deviceCommands,
  newCommand,
  STATUS_REPORT_SCHEMA,
} from "../actors/devices/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { deviceId, idOf, pageAfter, pageLimit, pageOf } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { SENT_DOWN } from "./responses/sites.ts";
import { sentDown, siteOfWrite } from "./sites.ts";

const commandId = idOf("command", COMMAND_ID);
const params = z.strictObject({ id: deviceId });
const commandParams = z.strictObject({ id: deviceId, cid: commandId });

const NO_DEVICE = { description: "the device was never registered and never sent telemetry" };
const NO_COMMAND = { description: "no such device, or no such command (or no longer kept)" };

const status = z.enum(COMMAND_STATUSES);
const jsonObject = z.record(z.string(), z.unknown());

/** A command as the API shows it. */
const COMMAND_VIEW = z.object({
  commandId: z.string(),
  name: z.string(),
  params: jsonObject,
  status,
  createdAt: z.number().int().describe("epoch ms"),
  expiresAt: z.number().int().describe("epoch ms; not final by then: expired"),
  deliveredAt: z.number().int().optional().describe("epoch ms: when the device said it has it"),
  completedAt: z.number().int().optional().describe("epoch ms: when it became final"),
  result: jsonObject.optional().describe("the device's result"),
  error: z.string().optional().describe("the device's error"),
  attempts: z.number().int().describe("times sent to the device"),
});

const CREATED = z.object({
  commandId: z.string(),
  status,
  expiresAt: z.number().int().describe("epoch ms"),
});

const listQuery = z.strictObject({
  status: status.optional().describe("only commands in this status (devices poll `pending`)"),
  limit: pageLimit(50, 100),
  after: pageAfter(commandId),
});

function noDevice(id: string): NotFoundError {
  return new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
}

/** The command routes, mounted under `/api/devices`. */
export function deviceCommandRoutes(deps: AppDeps): ApiRoutes {
  const { system } = deps;
  const routes = new ApiRoutes(
    "commands",
    "Durable commands to devices: kept until the device reports on them or they expire, " +
      "re-sent until the device has them, observable on the `commands` event topic.",
  );

  routes.add({
    method: "post",
    path: "/:id/commands",
    summary: "Send a command",
    description:
      "202 once the command is durable, `pending`. It goes to the device on `cmd.<id>` (MQTT " +
      "`cmd/<id>`) at once when the device is online, again when it reconnects and with backoff " +
      "(1 s doubling to 1 min) until it reports `delivered`. The same `commandId` and body " +
      "again answers the same command (200); another body a 409. At most 100 commands not " +
      "final per device (429).",
    params,
    body: COMMAND_SCHEMA,
    example: { name: "move", params: { x: 3, y: -1 }, ttl: "PT10M", commandId: "move-0001" },
    responses: {
      202: {
        description: "created, pending; or, for a device at a site, sent down to it",
        schema: z.union([CREATED, SENT_DOWN.extend({ commandId: z.string() })]),
      },
      200: { description: "the command this commandId already names (same body)", schema: CREATED },
      404: NO_DEVICE,
      409: { description: "`command_conflict`: the commandId names a command with another body" },
      429: { description: "`too_many_commands`: 100 commands of the device are not final" },
    },
  }, async (c, { params: { id }, body }) => {
    const site = await siteOfWrite(deps, "device", id);
    if (site !== null) {
      // The id is made here, so the hub can answer with it; the site creates the command with it.
      const command = { ...newCommand(body), commandId: body.commandId ?? crypto.randomUUID() };
      return sentDown(c, deps, site, "command", id, command, command.commandId, {
        commandId: command.commandId,
      });
    }
    const target = await system.ref(device, id).ask("commandTarget");
    if (!target.known) throw noDevice(id);
    const online = target.commandsInUse
      ? target.online
      : (await system.ref(device, id).ask("useCommands")).online;
    const { created, ...reply } = await system.ref(deviceCommands, id).ask("create", {
      command: newCommand(body),
      deviceOnline: online,
    });
    return c.json(reply, created ? 202 : 200);
  });

  routes.add({
    method: "get",
    path: "/:id/commands",
    summary: "A page of a device's commands",
    description:
      "Newest first; pass `next` as `?after=` for the next page. A device without NATS or " +
      "MQTT polls `?status=pending` and reports with `POST …/commands/:cid/status`. Final " +
      "commands are kept 7 days, the last 100 at most.",
    params,
    query: listQuery,
    responses: {
      200: { description: "`{items, next}`", schema: pageOf(COMMAND_VIEW) },
      404: NO_DEVICE,
    },
  }, async (c, { params: { id }, query }) => {
    const page = await system.ref(deviceCommands, id).ask("list", query);
    if (page.items.length === 0 && query.after === undefined) {
      // An empty list: of a device without commands, or of no device at all.
      if (!(await system.ref(device, id).ask("commandTarget")).known) throw noDevice(id);
    }
    return c.json(page);
  });

  routes.add({
    method: "get",
    path: "/:id/commands/:cid",
    summary: "A command",
    params: commandParams,
    responses: { 200: { description: "the command", schema: COMMAND_VIEW }, 404: NO_COMMAND },
  }, async (c, { params: { id, cid } }) => {
    const view = await system.ref(deviceCommands, id).ask("get", { commandId: cid });
    if (view === null) throw commandNotFound(id, cid);
    return c.json(view);
  });

  routes.add({
    method: "delete",
    path: "/:id/commands/:cid",
    summary: "Cancel a command",
    description: "Only a command that is not final: `pending` or `delivered` become `cancelled`.",
    params: commandParams,
    responses: {
      200: { description: "the cancelled command", schema: COMMAND_VIEW },
      404: NO_COMMAND,
      409: { description: "`command_final`: the command is final already" },
    },
  }, async (c, { params: { id, cid } }) => {
    return c.json(await system.ref(deviceCommands, id).ask("cancel", { commandId: cid }));
  });

  routes.add({
    method: "post",
    path: "/:id/commands/:cid/status",
    summary: "Report on a command (HTTP devices)",
    description:
      "What a device says over `iot.<id>.commands` on NATS or MQTT, for devices with HTTP only: " +
      "`delivered` (it has the command), or `succeeded` / `failed` with a `result` or an " +
      "`error`. A second `delivered` changes nothing (200).",
    params: commandParams,
    body: STATUS_REPORT_SCHEMA,
    example: { status: "succeeded", result: { position: 3 } },
    responses: {
      200: { description: "the command as it is now", schema: COMMAND_VIEW },
      404: NO_COMMAND,
      409: { description: "`command_final`: the command is final already" },
    },
  }, async (c, { params: { id, cid }, body }) => {
    const outcome = await system.ref(deviceCommands, id).ask("report", commandReport(cid, body));
    if (outcome.ignored === "unknown" || outcome.command === null) throw commandNotFound(id, cid);
    if (outcome.ignored === "final") {
      throw new CommandFinalError(id, cid, outcome.command.status);
    }
    return c.json(outcome.command);
  });

  return routes;
}
