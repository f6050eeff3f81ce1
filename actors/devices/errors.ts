/**
 * Errors of the devices area, rendered by the HTTP app as problems like every `FlotillaError`.
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
