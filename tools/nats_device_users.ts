/**
 * Prints nats-server users for a fleet of devices, each allowed exactly its own subjects (see
 * deploy/nats/accounts.conf):
 *
 * - publish `iot.<id>.>` and `sensors.<id>.>` (MQTT topics `iot/<id>/…`, `sensors/<id>/…`), and
 *   the subjects nats-server's mappings turn its messages into — `fl.in.<p>.<id>.t` (telemetry),
 *   `fl.in.<p>.<id>.h` (hello), `fl.in.<p>.<id>.c` (command reports) and `fl.in.<p>.<id>.s.*`,
 *   with `p` its partition: nats-server checks a publish permission on the subject *after* the
 *   account's subject mapping (nats-server 2.9 and later, see nats-io/nats-server#6902), so
 *   without them a device could not publish even its own telemetry. They give nothing more:
 *   that is where its own messages go anyway;
 * - subscribe `cmd.<id>` (MQTT topic `cmd/<id>` with QoS 0: nats-server refuses QoS 1 MQTT
 *   subscriptions of users who may not subscribe to `$MQTT.sub.>`, which would let a device
 *   read other devices' QoS 1 deliveries, so it is not granted).
 *
 * Each device's password is derived from one secret, so nothing per device has to be stored:
 * base64url(HMAC-SHA-256(`FLOTILLA_DEVICE_SECRET`, device id)). The configuration holds bcrypt
 * hashes of those passwords (nats-server checks `$2a$` passwords with bcrypt), so the file
 * alone does not let anyone connect as a device; `--plain` writes the passwords themselves.
 *
 * ```sh
 * export FLOTILLA_DEVICE_SECRET=$(openssl rand -base64 32)
 * # a users list to paste into an account of deploy/nats/accounts.conf
 * deno run --allow-env --allow-read tools/nats_device_users.ts robot1 robot2
 * # a whole accounts block (JetStream, the node user, the devices, Flotilla's mappings)
 * FLOTILLA_NODE_PASSWORD=… deno run --allow-env --allow-read tools/nats_device_users.ts \
 *   --account FLOTILLA --file devices.txt > deploy/nats/fleet-accounts.conf
 * # each device's password, for provisioning the devices
 * deno run --allow-env --allow-read tools/nats_device_users.ts --passwords robot1
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEVICE_ID } from "../actors/devices/telemetry.ts";
import { partitionMappings } from "../runtime/nats/connection.ts";
import { DEFAULT_PARTITIONS, partitionOf } from "../runtime/nats/hash.ts";
import { SUBJECTS } from "../runtime/nats/streams.ts";

/** The environment variable holding the secret device passwords are derived from. */
export const SECRET_ENV = "FLOTILLA_DEVICE_SECRET";
/** The environment variable holding the node user's password (with `--account`). */
export const NODE_PASSWORD_ENV = "FLOTILLA_NODE_PASSWORD";
/** Shortest secret accepted, in characters. */
export const MIN_SECRET_LENGTH = 16;
/** bcrypt cost used unless told otherwise (2^10 rounds; nats-server pays it on each connect). */
export const DEFAULT_COST = 10;
/** Partitions unless told otherwise: FLOTILLA_PARTITIONS's default. */
export { DEFAULT_PARTITIONS };

/** Wrong input: a bad device id, a missing secret, a bad option. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The publish and subscribe permissions of one device, for nats-server mappings with
 * `partitions` partitions (see the module documentation for why the mapped subjects are there).
 */
export function devicePermissions(
  id: string,
  partitions = DEFAULT_PARTITIONS,
): { publish: string[]; subscribe: string[] } {
  checkId(id);
  checkPartitions(partitions);
  const p = partitionOf(id, partitions);
  return {
    publish: [
      `iot.${id}.>`,
      `sensors.${id}.>`,
      `${SUBJECTS.ingest}.${p}.${id}.t`,
      `${SUBJECTS.ingest}.${p}.${id}.h`,
      `${SUBJECTS.ingest}.${p}.${id}.c`,
      `${SUBJECTS.ingest}.${p}.${id}.s.*`,
    ],
    subscribe: [`cmd.${id}`],
  };
}

/** A device's password: base64url (no padding) of HMAC-SHA-256(secret, id). */
export async function devicePassword(secret: string, id: string): Promise<string> {
  checkId(id);
  checkSecret(secret);
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(id));
  return base64url(new Uint8Array(mac));
}

/** Options of {@link deviceUsers} and {@link accountBlock}. */
export interface UsersOptions {
  readonly secret: string;
  /** Write plain-text passwords instead of bcrypt hashes. @default false */
  readonly plain?: boolean;
  /** bcrypt cost (4–31). @default {@link DEFAULT_COST} */
  readonly cost?: number;
  /** Partitions of the nodes and mappings (FLOTILLA_PARTITIONS). @default DEFAULT_PARTITIONS (16) */
  readonly partitions?: number;
}

/** The `users: [ … ]` entries of the devices (no node user), as nats-server config text. */
export async function deviceUsers(ids: readonly string[], options: UsersOptions): Promise<string> {
  const unique = checkIds(ids);
  const entries: string[] = [];
  for (const id of unique) {
    const password = await devicePassword(options.secret, id);
    const stored = options.plain
      ? password
      : bcryptHash(password, options.cost ?? DEFAULT_COST, await saltFor(options.secret, id));
    const { publish, subscribe } = devicePermissions(id, options.partitions);
    entries.push(
      [
        "{",
        `  user: ${q(id)}, password: ${q(stored)}`,
        "  permissions: {",
        `    publish: { allow: [${publish.map(q).join(", ")}] }`,
        `    subscribe: { allow: [${subscribe.map(q).join(", ")}] }`,
        "  }",
        "}",
      ].join("\n"),
    );
  }
  return `users: [\n${indent(entries.join("\n"), 2)}\n]\n`;
}

/** Options of {@link accountBlock}. */
export interface AccountOptions extends UsersOptions {
  /** The account's name. @default "FLOTILLA" */
  readonly account?: string;
  /** The Flotilla nodes' user (whole account). @default "flotilla" */
  readonly nodeUser?: string;
  readonly nodePassword: string;
}

/**
 * A whole `accounts { … }` block: one account with JetStream, the node user (no restrictions),
 * the device users and the subject mappings Flotilla needs (inside the account: mappings are
 * per account).
 */
export async function accountBlock(
  ids: readonly string[],
  options: AccountOptions,
): Promise<string> {
  const account = options.account ?? "FLOTILLA";
  const nodeUser = options.nodeUser ?? "flotilla";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(account)) {
    throw new UsageError(`account ${JSON.stringify(account)}: use 1-64 letters, digits, _ or -`);
  }
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(nodeUser)) {
    throw new UsageError(`node user ${JSON.stringify(nodeUser)}: use letters, digits, _ or -`);
  }
  if (ids.includes(nodeUser)) {
    throw new UsageError(`device id ${JSON.stringify(nodeUser)} is the node user's name`);
  }
  if (options.nodePassword.length < MIN_SECRET_LENGTH) {
    throw new UsageError(
      `${NODE_PASSWORD_ENV} must hold at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  checkPartitions(partitions);
  const nodeStored = options.plain ? options.nodePassword : bcryptHash(
    options.nodePassword,
    options.cost ?? DEFAULT_COST,
    crypto.getRandomValues(new Uint8Array(16)),
  );
  const devices = (await deviceUsers(ids, options)).replace(/^users: \[\n/, "").replace(
    /\]\n$/,
    "",
  );
  const mappings = Object.entries(partitionMappings(partitions))
    .map(([from, to]) => `  ${q(from)}: ${q(to)}`)
    .join("\n");
  return [
    "accounts {",
    `  ${account}: {`,
    "    jetstream: enabled",
    "    users: [",
    `      # the Flotilla nodes: NATS_URL=nats://${nodeUser}:<${NODE_PASSWORD_ENV}>@host:4222`,
    `      { user: ${q(nodeUser)}, password: ${q(nodeStored)} }`,
    indent(devices.trimEnd(), 4),
    "    ]",
    `    # FLOTILLA_PARTITIONS=${partitions} on every node`,
    "    mappings = {",
    indent(mappings, 4),
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- bcrypt

/**
 * bcrypt (`$2a$`, as nats-server and OpenBSD compute it) without a dependency: Blowfish with
 * the expensive key schedule. Blowfish's initial P-array and S-boxes are the hexadecimal
 * digits of π, computed here once (Machin's formula, BigInt) instead of a table of 1,042
 * constants.
 *
 * @param password at most 72 bytes of UTF-8
 * @param cost log2 of the rounds, 4–31
 * @param salt 16 bytes
 */
export function bcryptHash(password: string, cost: number, salt: Uint8Array): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new UsageError(`bcrypt cost ${cost}: use a whole number from 4 to 31`);
  }
  if (salt.length !== 16) throw new UsageError("a bcrypt salt has 16 bytes");
  const bytes = encoder.encode(password);
  if (bytes.length > 72) throw new UsageError("bcrypt uses at most 72 bytes of a password");
  const key = new Uint8Array(bytes.length + 1); // with its terminating NUL, as in C
  key.set(bytes);
  const { P, S } = piState();
  const p = P.slice();
  const s = S.slice();
  expandState(p, s, salt, key);
  for (let round = 0; round < 2 ** cost; round++) {
    expandState(p, s, null, key);
    expandState(p, s, null, salt);
  }
  const magic = encoder.encode("OrpheanBeholderScryDoubt");
  const data = new Uint32Array(6);
  const at = { j: 0 };
  for (let i = 0; i < 6; i++) data[i] = streamWord(magic, at);
  const lr = new Uint32Array(2);
  for (let k = 0; k < 64; k++) {
    for (let i = 0; i < 6; i += 2) {
      lr[0] = data[i]!;
      lr[1] = data[i + 1]!;
      encipher(p, s, lr);
      data[i] = lr[0]!;
      data[i + 1] = lr[1]!;
    }
  }
  const out = new Uint8Array(24);
  for (let i = 0; i < 6; i++) {
    out[4 * i] = data[i]! >>> 24;
    out[4 * i + 1] = data[i]! >>> 16;
    out[4 * i + 2] = data[i]! >>> 8;
    out[4 * i + 3] = data[i]!;
  }
  return `$2a$${String(cost).padStart(2, "0")}$${bcryptBase64(salt)}${
    bcryptBase64(out.subarray(0, 23))
  }`;
}

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** bcrypt's base64: its own alphabet, no padding. */
export function bcryptBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += BCRYPT_ALPHABET[b0 >> 2];
    out += BCRYPT_ALPHABET[((b0 & 0x03) << 4) | ((b1 ?? 0) >> 4)];
    if (b1 === undefined) break;
    out += BCRYPT_ALPHABET[((b1 & 0x0f) << 2) | ((b2 ?? 0) >> 6)];
    if (b2 === undefined) break;
    out += BCRYPT_ALPHABET[b2 & 0x3f];
  }
  return out;
}

/** Decodes bcrypt's base64 (`length` bytes), e.g. the 22 characters of a salt into 16 bytes. */
export function bcryptUnbase64(text: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of text) {
    const v = BCRYPT_ALPHABET.indexOf(ch);
    if (v < 0) throw new UsageError(`${JSON.stringify(ch)} is not bcrypt base64`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < length) out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

let pi: { P: Uint32Array; S: Uint32Array } | null = null;

/** Blowfish's initial state: the first 1,042 32-bit words of π's fractional part. */
function piState(): { P: Uint32Array; S: Uint32Array } {
  if (pi !== null) return pi;
  const words = 18 + 4 * 256;
  const bits = 32 * words;
  const guard = 64;
  const one = 1n << BigInt(bits + guard);
  const arctanInverse = (x: bigint): bigint => {
    const x2 = x * x;
    let term = one / x;
    let sum = term;
    for (let k = 1n;; k++) {
      term /= x2;
      if (term === 0n) return sum;
      sum += (k % 2n === 0n ? 1n : -1n) * (term / (2n * k + 1n));
    }
  };
  // π = 16·arctan(1/5) − 4·arctan(1/239)
  const scaled = (16n * arctanInverse(5n) - 4n * arctanInverse(239n)) >> BigInt(guard);
  const fraction = scaled & ((1n << BigInt(bits)) - 1n);
  const all = new Uint32Array(words);
  for (let i = 0; i < words; i++) {
    all[i] = Number((fraction >> BigInt(bits - 32 * (i + 1))) & 0xffffffffn);
  }
  pi = { P: all.slice(0, 18), S: all.slice(18) };
  return pi;
}

function streamWord(data: Uint8Array, at: { j: number }): number {
  let word = 0;
  for (let i = 0; i < 4; i++) {
    word = (word << 8) | data[at.j]!;
    at.j = (at.j + 1) % data.length;
  }
  return word >>> 0;
}

function encipher(p: Uint32Array, s: Uint32Array, lr: Uint32Array): void {
  let l = lr[0]! ^ p[0]!;
  let r = lr[1]!;
  for (let i = 1; i <= 16; i += 2) {
    r ^= (((s[l >>> 24]! + s[0x100 | ((l >>> 16) & 0xff)]!) ^ s[0x200 | ((l >>> 8) & 0xff)]!) +
      s[0x300 | (l & 0xff)]!) ^ p[i]!;
    l ^= (((s[r >>> 24]! + s[0x100 | ((r >>> 16) & 0xff)]!) ^ s[0x200 | ((r >>> 8) & 0xff)]!) +
      s[0x300 | (r & 0xff)]!) ^ p[i + 1]!;
  }
  lr[0] = r ^ p[17]!;
  lr[1] = l;
}

/** Blowfish's key schedule, salted (`data`) or not (`null`). */
function expandState(p: Uint32Array, s: Uint32Array, data: Uint8Array | null, key: Uint8Array) {
  const k = { j: 0 };
  for (let i = 0; i < 18; i++) p[i] = p[i]! ^ streamWord(key, k);
  const d = { j: 0 };
  const lr = new Uint32Array(2);
  for (let i = 0; i < 18; i += 2) {
    if (data !== null) {
      lr[0] = lr[0]! ^ streamWord(data, d);
      lr[1] = lr[1]! ^ streamWord(data, d);
    }
    encipher(p, s, lr);
    p[i] = lr[0]!;
    p[i + 1] = lr[1]!;
  }
  for (let i = 0; i < 1024; i += 2) {
    if (data !== null) {
      lr[0] = lr[0]! ^ streamWord(data, d);
      lr[1] = lr[1]! ^ streamWord(data, d);
    }
    encipher(p, s, lr);
    s[i] = lr[0]!;
    s[i + 1] = lr[1]!;
  }
}

// ---------------------------------------------------------------- helpers

const encoder = new TextEncoder();

function checkId(id: string): void {
  if (!DEVICE_ID.test(id)) {
    throw new UsageError(
      `${JSON.stringify(id)} is not a device id: use 1-128 letters, digits, _ or -`,
    );
  }
}

function checkIds(ids: readonly string[]): string[] {
  if (ids.length === 0) throw new UsageError("no device ids: give them as arguments or --file");
  for (const id of ids) checkId(id);
  return [...new Set(ids)];
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096) {
    throw new UsageError(`partitions ${partitions}: use a whole number from 1 to 4096`);
  }
}

function checkSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new UsageError(
      `${SECRET_ENV} must hold at least ${MIN_SECRET_LENGTH} characters ` +
        "(e.g. `openssl rand -base64 32`)",
    );
  }
}

/** A per-device salt derived from the secret: the same input prints the same file. */
async function saltFor(secret: string, id: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`bcrypt-salt:${id}`));
  return new Uint8Array(mac).subarray(0, 16);
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A nats-server config string: double-quoted (so `$2a$…` is not read as a variable). */
function q(text: string): string {
  return JSON.stringify(text);
}

function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text.split("\n").map((line) => (line === "" ? line : pad + line)).join("\n");
}

/** Device ids in a file: one a line; blank lines and `#` comments skipped. */
export function parseIdList(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.replace(/#.*$/, "").trim()).filter((l) => l);
}

const USAGE =
  `Usage: deno run --allow-env --allow-read tools/nats_device_users.ts [options] [device-id ...]

Prints nats-server users granting each device exactly: publish iot.<id>.> and sensors.<id>.>
(and the partitioned subjects nats-server maps them to, fl.in.<p>.<id>.t, .h, .c and
fl.in.<p>.<id>.s.*), subscribe cmd.<id>. Passwords are base64url(HMAC-SHA-256(${SECRET_ENV},
id)); the config holds their bcrypt hashes.

Options:
  --file PATH        device ids from PATH, one a line (blank lines and # comments skipped)
  --account NAME     print a whole accounts block: account NAME with JetStream, the node user
                     (password from ${NODE_PASSWORD_ENV}), the devices and Flotilla's mappings
  --node-user NAME   the node user's name with --account (default flotilla)
  --partitions N     the nodes' FLOTILLA_PARTITIONS (default ${DEFAULT_PARTITIONS}): the mapped subjects devices
                     may publish, and the mappings with --account
  --cost N           bcrypt cost, 4-31 (default ${DEFAULT_COST})
  --plain            plain-text passwords instead of bcrypt hashes (the file becomes a secret)
  --passwords        print "<id> <password>" lines, to provision the devices, instead of a config
  -h, --help         this text

Environment: ${SECRET_ENV} (required, at least ${MIN_SECRET_LENGTH} characters)`;

/** The command line: returns what to print on stdout. @throws {UsageError} */
export async function run(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Promise<string> = (path) => Deno.readTextFile(path),
): Promise<string> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        file: { type: "string" },
        account: { type: "string" },
        "node-user": { type: "string" },
        partitions: { type: "string" },
        cost: { type: "string" },
        plain: { type: "boolean", default: false },
        passwords: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return `${USAGE}\n`;
  const ids = [...positionals];
  if (values.file !== undefined) ids.push(...parseIdList(await readFile(values.file)));
  const secret = env[SECRET_ENV] ?? "";
  checkSecret(secret);
  checkIds(ids);
  if (values.passwords) {
    const lines = [];
    for (const id of checkIds(ids)) lines.push(`${id} ${await devicePassword(secret, id)}`);
    return `${lines.join("\n")}\n`;
  }
  const cost = values.cost === undefined ? DEFAULT_COST : Number(values.cost);
  const header = values.plain
    ? "# WARNING: plain-text passwords. Anyone who reads this file can connect as any of these\n" +
      "# devices (or as the node): keep it secret (chmod 600), or generate bcrypt hashes instead\n" +
      "# (leave out --plain).\n"
    : "# Passwords are bcrypt hashes; each device's password is\n" +
      `# base64url(HMAC-SHA-256(${SECRET_ENV}, <id>)) (print them with --passwords).\n`;
  const partitions = values.partitions === undefined
    ? DEFAULT_PARTITIONS
    : Number(values.partitions);
  const common = { secret, plain: values.plain, cost, partitions };
  if (values.account === undefined) {
    return `# Device users for an account of a nats-server config (deploy/nats/accounts.conf).\n${header}${await deviceUsers(
      ids,
      common,
    )}`;
  }
  const nodePassword = env[NODE_PASSWORD_ENV];
  if (nodePassword === undefined || nodePassword === "") {
    throw new UsageError(`--account needs the node user's password in ${NODE_PASSWORD_ENV}`);
  }
  return `# Flotilla account for a nats-server config: include it, or paste it in.\n${header}${await accountBlock(
    ids,
    {
      ...common,
      account: values.account,
      ...(values["node-user"] === undefined ? {} : { nodeUser: values["node-user"] }),
      nodePassword,
    },
  )}`;
}

if (import.meta.main) {
  try {
    const out = await run(Deno.args, Deno.env.toObject());
    await Deno.stdout.write(encoder.encode(out));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`nats_device_users: ${error.message}`);
    Deno.exit(2);
  }
}
