/**
 * Errors of the devices area, rendered by the HTTP app as problems like every `FlotillaError`
 * (their `code` is the problem's `type`, stable for clients).
 *
 * @module
 */
import { type FieldIssue, FlotillaError } from "../../runtime/mod.ts";

/**
 * A telemetry record was well-formed but failed the data quality schema check (a required
 * sensor missing, a wrong type, an undeclared sensor in strict mode, too many sensors): it was
 * not applied, and the rejection was counted in the device's quality report. HTTP 422.
 */
export class RecordRejectedError extends FlotillaError {
  /** What was wrong, per field. */
  readonly issues: readonly FieldIssue[];

  constructor(device: string, issues: readonly FieldIssue[]) {
    super(
      "record_rejected",
      422,
      `the record was rejected by device ${device}'s data quality schema: ` +
        issues.map((i) => `${i.path} ${i.message}`).join("; "),
    );
    this.name = "RecordRejectedError";
    this.issues = issues;
  }
}

/**
 * No active edge node has the capability and room under its limits, so a routing request has
 * no answer now. HTTP 503: try again later, or register or relieve a node.
 */
export class NoEdgeNodeError extends FlotillaError {
  constructor(capability: string) {
    super(
      "no_available_edge_node",
      503,
      `no available edge node: no active node with capability ${JSON.stringify(capability)} ` +
        `is under its CPU, memory and storage limits`,
    );
    this.name = "NoEdgeNodeError";
  }
}

/**
 * A device has as many commands not final yet as it may hold: no new one is accepted until some
 * finish, expire or are cancelled. HTTP 429.
 */
export class TooManyCommandsError extends FlotillaError {
  constructor(device: string, limit: number) {
    super(
      "too_many_commands",
      429,
      `device ${device} already has ${limit} commands that are not final; wait until some ` +
        `succeed, fail or expire, or cancel some (DELETE /api/devices/${device}/commands/<id>)`,
    );
    this.name = "TooManyCommandsError";
  }
}

/**
 * A command id was used again with another body (name, params or time to live): the id makes
 * a send idempotent, so it cannot name two commands. HTTP 409.
 */
export class CommandConflictError extends FlotillaError {
  constructor(device: string, commandId: string) {
    super(
      "command_conflict",
      409,
      `device ${device} already has command ${commandId} with another name, params or ttl; ` +
        "send the same body to get it back, or use a new commandId",
    );
    this.name = "CommandConflictError";
  }
}

/** A command is final (succeeded, failed, expired or cancelled): it changes no more. HTTP 409. */
export class CommandFinalError extends FlotillaError {
  constructor(device: string, commandId: string, status: string) {
    super(
      "command_final",
      409,
      `command ${commandId} of device ${device} is already ${status}; final commands change no more`,
    );
    this.name = "CommandFinalError";
  }
}

/**
 * `If-Match` named a desired-state version that is not the current one: someone changed the
 * desired state since the client read it. HTTP 412: read the twin again (its `ETag`) and retry.
 */
export class PreconditionFailedError extends FlotillaError {
  constructor(device: string, current: number) {
    super(
      "precondition_failed",
      412,
      `device ${device}'s desired state is at version ${current}, not the one If-Match names; ` +
        `GET /api/devices/${device} for the current ETag and apply the change again`,
    );
    this.name = "PreconditionFailedError";
  }
}
