/**
 * `deno task setup`, the first step of `deno task test`: makes sure the programs the tests run
 * are installed — nats-server and redis-server (each test starts its own on free loopback
 * ports), mosquitto_pub (MQTT publishes) and Chromium (the dashboard test). It looks where the
 * tests look, so when everything is there it only checks a few paths and prints nothing.
 *
 * When something is missing:
 * - as root on a machine with apt (Debian, Ubuntu) it runs `apt-get install -y` for the
 *   missing packages, saying which, after `apt-get update` when there is no package index yet
 *   or when the install fails (a stale index names versions the mirror no longer has);
 * - otherwise it prints one line with the command to run and exits 1.
 *
 * Installing never starts a service: a Debian package starts its daemon in its post-install
 * script (through `invoke-rc.d`, or `deb-systemd-invoke` under systemd), and a second
 * redis-server or nats-server would compete with the machine's own for 6379 or 4222. Both
 * tools ask `/usr/sbin/policy-rc.d` first, and exit code 101 means "not now"; so for the time
 * of the install this writes that file (unless one exists already, which is then left alone)
 * and removes it afterwards. Services that already run are not touched either.
 *
 * @module
 */

/** A package the tests need, and where the tests look for its program. */
export interface Requirement {
  /** The Debian package. */
  readonly package: string;
  /** Paths of which one must be an executable file. */
  readonly paths: readonly string[];
}

/** The directories the test helpers search for nats-server and redis-server, after PATH. */
const SERVER_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin", "/sbin", "/bin"];

/**
 * What the tests need. nats-server and redis-server are found as `tests/helpers/servers.ts`
 * finds them (its override variable, else PATH and the usual directories); mosquitto_pub and
 * Chromium at the fixed paths the tests use.
 */
export function requirements(env: Readonly<Record<string, string | undefined>>): Requirement[] {
  const server = (name: string, override: string): Requirement => {
    const path = env[override];
    if (path !== undefined && path !== "") return { package: name, paths: [path] };
    const dirs = (env.PATH ?? "").split(":").filter((d) => d !== "");
    return {
      package: name,
      paths: [...new Set([...dirs, ...SERVER_DIRS])].map((d) => `${d}/${name}`),
    };
  };
  return [
    server("nats-server", "FLOTILLA_NATS_SERVER"),
    server("redis-server", "FLOTILLA_REDIS_SERVER"),
    { package: "mosquitto-clients", paths: ["/usr/bin/mosquitto_pub"] },
    { package: "chromium", paths: ["/usr/bin/chromium"] },
  ];
}

/** What the machine is like, as far as installing goes. */
export interface Machine {
  /** Whether `path` is an executable file. */
  isExecutable(path: string): boolean;
  /** Running as root. */
  readonly root: boolean;
  /** `apt-get` is there. */
  readonly apt: boolean;
}

/** What to do. */
export type Plan =
  | { readonly action: "none" }
  | { readonly action: "install"; readonly packages: readonly string[] }
  | { readonly action: "tell"; readonly message: string };

/** The packages of `needs` whose program is nowhere to be found. */
export function missingPackages(needs: readonly Requirement[], machine: Machine): string[] {
  return needs.filter((r) => !r.paths.some((p) => machine.isExecutable(p))).map((r) => r.package);
}

/** Decides between nothing to do, installing, and telling the user what to run. */
export function plan(needs: readonly Requirement[], machine: Machine): Plan {
  const missing = missingPackages(needs, machine);
  if (missing.length === 0) return { action: "none" };
  if (machine.root && machine.apt) return { action: "install", packages: missing };
  const install = `apt-get install -y ${missing.join(" ")}`;
  const what = `the tests need ${missing.join(", ")}, not installed here`;
  const message = machine.apt
    ? `setup: ${what}: run \`sudo ${install}\`, then the tests again`
    : `setup: ${what}: install them (on Debian or Ubuntu: \`sudo ${install}\`), then run the tests again`;
  return { action: "tell", message };
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

const POLICY = "/usr/sbin/policy-rc.d";
const LISTS = "/var/lib/apt/lists";

/** Runs apt-get with its output shown; true when it succeeded. */
async function aptGet(args: string[]): Promise<boolean> {
  console.log(`setup: apt-get ${args.join(" ")}`);
  const { success } = await new Deno.Command("apt-get", {
    args: ["-q", ...args],
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return success;
}

/** Whether apt has a package index at all (a fresh image often has none). */
function hasIndex(): boolean {
  try {
    for (const entry of Deno.readDirSync(LISTS)) {
      if (entry.isFile && entry.name.endsWith("_Packages")) return true;
    }
  } catch {
    // No lists directory: no index.
  }
  return false;
}

/** Installs `packages` with services held back (see the module's notes). */
async function install(packages: readonly string[]): Promise<boolean> {
  let ownPolicy = false;
  if (!isExecutable(POLICY)) {
    Deno.writeTextFileSync(
      POLICY,
      "#!/bin/sh\n# Written by Flotilla's tools/setup.ts while it installs packages; it removes it.\n" +
        "exit 101\n",
      { mode: 0o755 },
    );
    ownPolicy = true;
  }
  // Ctrl-C reaches apt-get too; stay alive until it is done, to remove the policy file.
  const hold = () => {};
  Deno.addSignalListener("SIGINT", hold);
  Deno.addSignalListener("SIGTERM", hold);
  try {
    if (!hasIndex() && !await aptGet(["update"])) return false;
    if (await aptGet(["install", "-y", ...packages])) return true;
    console.log("setup: the install failed; updating the package index and trying once more");
    return await aptGet(["update"]) && await aptGet(["install", "-y", ...packages]);
  } finally {
    Deno.removeSignalListener("SIGINT", hold);
    Deno.removeSignalListener("SIGTERM", hold);
    if (ownPolicy) Deno.removeSync(POLICY);
  }
}

/** Checks, installs or tells; returns the exit code. */
export async function main(): Promise<number> {
  const needs = requirements(Deno.env.toObject());
  const machine: Machine = {
    isExecutable,
    root: Deno.uid() === 0,
    apt: ["/usr/bin/apt-get", "/bin/apt-get"].some(isExecutable),
  };
  const decision = plan(needs, machine);
  if (decision.action === "none") return 0;
  if (decision.action === "tell") {
    console.error(decision.message);
    return 1;
  }
  console.log(`setup: installing ${decision.packages.join(", ")} for the tests`);
  const installed = await install(decision.packages);
  const still = missingPackages(needs, machine);
  if (!installed || still.length > 0) {
    console.error(
      `setup: apt-get could not install ${still.join(", ") || decision.packages.join(", ")}; ` +
        "see its messages above",
    );
    return 1;
  }
  console.log(`setup: installed ${decision.packages.join(", ")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
