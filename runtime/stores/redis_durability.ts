/**
 * Whether a Redis keeps acknowledged writes through a crash, decided from its own settings.
 *
 * Redis writes to disk in two ways. Snapshots (RDB, `save <seconds> <changes>`) are taken every
 * few minutes: a crash loses every write since the last one. The append-only file (AOF,
 * `appendonly yes`) logs every write before Redis answers it, and `appendfsync` says when the
 * log reaches the disk:
 * - `always`: before the answer — an acknowledged write survives a crash of the machine;
 * - `everysec`: once a second — a crashed Redis process loses nothing (the log is in the OS's
 *   cache), a crashed machine at most the last second, which cluster mode applies again from
 *   the streams (they hold every message until their max age);
 * - `no`: when the OS flushes its cache (about every 30 s on Linux) — a crashed process loses
 *   nothing, a crashed machine up to that much, applied again from the streams in the same way.
 *
 * So a Redis with the append-only file on is durable, whatever its fsync policy (the detail says
 * what a machine crash may cost), and one without it is not: `save` snapshots alone lose minutes.
 *
 * Managed Redis often refuses `CONFIG` (renamed away, or an ACL without `+config`): then the
 * `aof_enabled` field of `INFO persistence` decides (its fsync policy stays unknown). A Redis
 * that answers neither cannot be judged: not durable, with the reasons.
 *
 * @module
 */
import type { StoreDurability } from "../durability.ts";

/** What a Redis said of its persistence; a refused command is its error message instead. */
export interface RedisPersistence {
  /** `CONFIG GET` of `appendonly`, `appendfsync` and `save`, or why it was refused. */
  readonly config: Readonly<Record<string, string>> | { readonly error: string };
  /** The fields of `INFO persistence` (asked only when `CONFIG` was refused), or why not. */
  readonly info?: Readonly<Record<string, string>> | { readonly error: string };
}

/** Judges a Redis's persistence settings; see the module documentation for the rules. */
export function redisDurability({ config, info }: RedisPersistence): StoreDurability {
  if (!("error" in config) && config.appendonly !== undefined) {
    if (config.appendonly === "yes") {
      const fsync = config.appendfsync ?? "everysec";
      return {
        durable: true,
        detail: `appendonly yes, appendfsync ${fsync}: ${
          FSYNC[fsync] ?? "an unknown fsync policy"
        }`,
      };
    }
    return {
      durable: false,
      detail: `appendonly ${config.appendonly}: ${snapshotsOnly(config.save)}`,
    };
  }
  const configSaid = "error" in config ? `refused (${config.error})` : "had no appendonly";
  if (info !== undefined && !("error" in info) && info.aof_enabled !== undefined) {
    const via = `CONFIG GET ${configSaid}; INFO persistence says`;
    return info.aof_enabled === "1"
      ? {
        durable: true,
        detail: `${via} aof_enabled:1: the append-only file is on (fsync policy unknown)`,
      }
      : {
        durable: false,
        detail: `${via} aof_enabled:${info.aof_enabled}: no append-only file; ${
          snapshotsOnly(undefined)
        }`,
      };
  }
  const infoSaid = info === undefined
    ? "not asked"
    : "error" in info
    ? `refused (${info.error})`
    : "had no aof_enabled";
  return {
    durable: false,
    detail: `cannot tell whether it keeps a log of writes: CONFIG GET ${configSaid}, ` +
      `INFO persistence ${infoSaid}`,
  };
}

/** Parses the text of `INFO persistence` into its fields. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

const FSYNC: Readonly<Record<string, string>> = {
  always: "every acknowledged write is on disk before it is acknowledged",
  everysec:
    "a crash of Redis loses nothing, a crash of the machine at most the last second, which the nodes apply again from the streams",
  no:
    "a crash of Redis loses nothing, a crash of the machine what the OS had not flushed yet (about 30 s on Linux), which the nodes apply again from the streams",
};

function snapshotsOnly(save: string | undefined): string {
  if (save === undefined) {
    return "Redis keeps no log of writes: a restart loses every write since its last snapshot, if it takes any";
  }
  if (save.trim() === "") {
    return 'Redis keeps nothing on disk (save ""): a restart loses every write';
  }
  return `Redis keeps no log of writes, only snapshots (save ${save}): a restart loses every write since the last one`;
}
