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
