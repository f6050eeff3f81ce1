/**
 * The Mosquitto command-line clients (`mosquitto_pub`, `mosquitto_sub`; Debian package
 * mosquitto-clients), which tests use as an MQTT device would.
 *
 * @module
 */

const DIRS = ["/usr/bin", "/usr/local/bin"];

/** The path of `mosquitto_pub` or `mosquitto_sub`, or an error that says how to install it. */
export function mosquitto(name: "mosquitto_pub" | "mosquitto_sub"): string {
  for (const dir of DIRS) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  throw new Error(
    `${name} is not installed (looked in ${DIRS.join(", ")}): ` +
      "install it with `sudo apt-get install -y mosquitto-clients`",
  );
}
