/**
 * Metrics of device commands, counted from the events of the `commands` topic as the node that
 * made them publishes them — so each transition is counted once in the cluster, by the node
 * that owned the device when it happened, and only once it was durable:
 *
 * - `flotilla_commands_total{status}`: commands entering each status (`pending` is creation);
 * - `flotilla_command_reports_ignored_total{reason}`: device reports that changed nothing
 *   (`unknown` command, `final` command, `duplicate` delivered);
 * - `flotilla_command_resends_total`: commands sent to their device again;
 * - `flotilla_desired_pushes_total`: desired states sent to devices.
 *
 * Reports refused before they reach the actor (not JSON, invalid, another device's id) are
 * counted by the ingest: `flotilla_ingest_rejected_total{reason}`.
 *
 * @module
 */
import type { JsonValue, MetricsRegistry } from "../../runtime/mod.ts";
import { COMMAND_STATUSES, IGNORED_REASONS } from "./command_log.ts";
import { COMMANDS_TOPIC } from "./commands.ts";

/**
 * Registers the metrics in `metrics` and returns the observer of published events, to be
 * called with every event this node publishes (see node/assemble.ts).
 */
export function commandMetrics(
  metrics: MetricsRegistry,
): (topic: string, data: JsonValue) => void {
  const transitions = metrics.counter({
    name: "flotilla_commands_total",
    help: "Device commands entering each status (pending: created), on the node that owned them.",
    labels: ["status"],
  });
  const byStatus = new Map(COMMAND_STATUSES.map((s) => [s, transitions.labels(s)] as const));
  const ignored = metrics.counter({
    name: "flotilla_command_reports_ignored_total",
    help: "Device reports on commands that changed nothing, by reason.",
    labels: ["reason"],
  });
  for (const reason of IGNORED_REASONS) ignored.labels(reason);
  const resends = metrics.counter({
    name: "flotilla_command_resends_total",
    help: "Commands sent to their device again (not delivered yet).",
  });
  const desired = metrics.counter({
    name: "flotilla_desired_pushes_total",
    help: "Desired states sent to devices.",
  });
  return (topic, data) => {
    if (topic !== COMMANDS_TOPIC || typeof data !== "object" || data === null) return;
    const event = data as Record<string, JsonValue>;
    switch (event.kind) {
      case "status":
        byStatus.get(event.status as never)?.inc();
        return;
      case "ignored":
        ignored.labels(String(event.reason)).inc();
        return;
      case "command":
        if (typeof event.attempt === "number" && event.attempt > 1) resends.inc();
        return;
      case "desired":
        desired.inc();
    }
  };
}
