/**
 * The dashboard at `/` in headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * `playwright-core`) against the real app on a loopback port, with an API token set: it loads
 * every one of its modules as JavaScript with no console error and no failed request, shows a
 * device within a second of its telemetry, moves a robot's marker when its coordinates change,
 * shows a device's commands and their status live when its row is chosen, acknowledges an alert
 * by clicking, asks for the token when a write answers 401, and leaves a
 * screenshot in `test-artifacts/dashboard.png`. Before the browser, the files as served: their
 * types, caching and security headers, and 404 for anything else under `/dashboard/`.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { type Browser, chromium, type Page } from "playwright-core";
import { testApp } from "./helpers/app.ts";
import { type LiveApp, liveApp } from "./helpers/live_app.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "dashboard-test-token-0123456789abcdef";
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);
const DASHBOARD = new URL("../routes/dashboard/", import.meta.url);

/** The files of the dashboard's folder with this extension, by name. */
async function filesOf(extension: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(DASHBOARD)) {
    if (entry.isFile && entry.name.endsWith(extension)) names.push(entry.name);
  }
  return names.sort();
}

interface Marker {
  id: string;
  x: number;
  y: number;
  left: number;
  top: number;
  settled: boolean;
}

interface AlertView {
  id: string;
  status: string;
  severity: string;
  type: string;
}

async function telemetry(app: LiveApp, id: string, body: Record<string, unknown>) {
  const res = await app.send("POST", `/api/devices/${id}/telemetry`, body);
  await res.body?.cancel();
  assertEquals(res.status, 202, `telemetry of ${id}`);
}

/** Polls `fn` until it returns a value other than `undefined`, or fails after `ms`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function markerOf(page: Page, id: string): Promise<Marker | undefined> {
  const markers = await page.evaluate(() =>
    (globalThis as unknown as { __flotilla: { markers(): Marker[] } }).__flotilla.markers()
  );
  return markers.find((m) => m.id === id);
}

/** Waits until the marker of `id` shows (x, y) and has stopped moving. */
async function settledMarker(page: Page, id: string, x: number, y: number): Promise<Marker> {
  return await eventually(`${id}'s marker at (${x}, ${y})`, async () => {
    const m = await markerOf(page, id);
    return m !== undefined && m.x === x && m.y === y && m.settled ? m : undefined;
  });
}

async function openAlertOf(app: LiveApp, device: string): Promise<AlertView> {
  return await eventually(`an open alert of ${device}`, async () => {
    const page = await app.json<{ alerts: AlertView[] }>(
      "GET",
      `/api/alerts?device=${device}&status=raised`,
    );
    return page.alerts[0];
  });
}

Deno.test("dashboard: serves the page and each of its files, and nothing else", async () => {
  const { app, close } = await testApp();
  try {
    const page = await app.request("/");
    assertEquals(page.status, 200);
    assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy") ?? "";
    for (const rule of ["default-src 'none'", "script-src 'self'", "connect-src 'self'"]) {
      assert(csp.split("; ").includes(rule), `${rule} in ${csp}`);
    }
    assertEquals(page.headers.get("x-frame-options"), "DENY");
    assertMatch(await page.text(), /<script type="module" src="\/dashboard\/main\.js"><\/script>/);

    const types: [string, string][] = [
      ...(await filesOf(".js")).map((f): [string, string] => [f, "text/javascript; charset=utf-8"]),
      ["style.css", "text/css; charset=utf-8"],
      ["favicon.svg", "image/svg+xml"],
    ];
    assert(types.length > 10, "the modules are found");
    for (const [file, type] of types) {
      const res = await app.request(`/dashboard/${file}`);
      assertEquals(res.status, 200, file);
      assertEquals(res.headers.get("content-type"), type, file);
      assertEquals(res.headers.get("cache-control"), "no-cache", file);
      assertEquals(res.headers.get("x-content-type-options"), "nosniff", file);
      assertEquals(await res.text(), await Deno.readTextFile(new URL(file, DASHBOARD)), file);
      const etag = res.headers.get("etag");
      assertMatch(etag ?? "", /^"[0-9a-f]{24}"$/, file);
      const again = await app.request(`/dashboard/${file}`, {
        headers: { "If-None-Match": etag! },
      });
      assertEquals(again.status, 304, file);
      assertEquals(await again.text(), "");
    }

    // The browser modules' own config, other files, other folders: not served.
    const notServed = [
      "/dashboard/deno.browser.json",
      "/dashboard/README.md",
      "/dashboard/index.html",
      "/dashboard/missing.js",
      "/dashboard/..%2Fdashboard.ts",
      "/dashboard/%2E%2E%2Fapp.ts",
      "/dashboard/",
    ];
    for (const path of notServed) {
      const res = await app.request(path);
      assertEquals(res.status, 404, path);
      assert(res.headers.get("content-type")!.startsWith("application/problem+json"), path);
      assertEquals((await res.json()).status, 404, path);
    }
  } finally {
    await close();
  }
});

Deno.test({
  name: "dashboard: live in headless Chromium",
  // playwright-core keeps a pipe to the browser and timers of its own.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const app = await liveApp({ apiToken: TOKEN });
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        deviceScaleFactor: 1,
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
      });
      page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
      page.on("requestfailed", (request) => {
        // The SSE stream is aborted when the page goes away; anything else is an error.
        if (!request.url().includes("/api/events")) {
          errors.push(`requestfailed: ${request.url()} ${request.failure()?.errorText}`);
        }
      });
      /** The status and type of every file the page got from `/dashboard/`, by name. */
      const files = new Map<string, string>();
      page.on("response", (response) => {
        const url = new URL(response.url());
        if (response.status() >= 400) errors.push(`${response.status()}: ${url.pathname}`);
        if (url.pathname.startsWith("/dashboard/")) {
          const type = response.headers()["content-type"];
          files.set(url.pathname.slice("/dashboard/".length), `${response.status()} ${type}`);
        }
      });

      await t.step("loads with the token from the URL, and no console errors", async () => {
        const res = await fetch(`${app.url}/`);
        assertEquals(res.status, 200);
        assert(res.headers.get("content-type")!.startsWith("text/html"));
        assert(res.headers.get("content-security-policy")!.includes("script-src 'self'"));
        await res.body?.cancel();

        await page.goto(`${app.url}/#token=${TOKEN}`);
        await page.waitForFunction(() =>
          (globalThis as unknown as { __flotilla: { connection(): string } }).__flotilla
            .connection() === "live"
        );
        assertEquals(await page.textContent("h1"), "Flotilla");
        // The token left the address bar and stays for this tab.
        assertEquals(new URL(page.url()).hash, "");
        assertEquals(await page.evaluate(() => sessionStorage.getItem("flotilla.token")), TOKEN);
        assertEquals(await page.textContent("#token-state"), "Token set");
        assertEquals(errors, []);
      });

      await t.step("loads every module of the dashboard, as JavaScript", async () => {
        // Each module of the folder, none missing and none left unused.
        const modules = [...files.keys()].filter((f) => f.endsWith(".js")).sort();
        assertEquals(modules, await filesOf(".js"));
        for (const name of modules) {
          assertEquals(files.get(name), "200 text/javascript; charset=utf-8", name);
        }
        assertEquals(files.get("style.css"), "200 text/css; charset=utf-8");
      });

      await t.step("shows a device within a second of its telemetry", async () => {
        const posted = Date.now();
        await telemetry(app, "sensor-1", { readings: { temperature: 21.5, humidity: 40 } });
        await page.waitForSelector('tr[data-device-id="sensor-1"]', { timeout: 1000 });
        const waited = Date.now() - posted;
        const inserted = await page.evaluate(() =>
          (globalThis as unknown as { __flotilla: { seen: Record<string, number> } }).__flotilla
            .seen["sensor-1"]
        );
        const latency = inserted! - posted;
        console.log(
          `telemetry → row on screen: ${latency} ms (row inserted), ${waited} ms (seen by test)`,
        );
        assert(latency < 1000, `row inserted ${latency} ms after the POST`);
        assert(waited < 1000, `row seen ${waited} ms after the POST`);
        const row = page.locator('tr[data-device-id="sensor-1"]');
        const text = await row.textContent();
        assert(text!.includes("Online"), text!);
        assert(text!.includes("21.5"), text!);
        assert(text!.includes("humidity"), text!);
        // The quality score follows from the twin, fetched in the background.
        await eventually("sensor-1's quality score", async () => {
          const text = await row.locator(".quality").textContent();
          return text !== null && /^\d+%$/.test(text) ? text : undefined;
        });
      });

      await t.step("moves a robot's marker when its coordinates change", async () => {
        // Two robots fix the corners of the view; the third moves inside it.
        await telemetry(app, "robot-a", { readings: { coordX: 0, coordY: 0 } });
        await telemetry(app, "robot-b", { readings: { coordX: 10, coordY: 10 } });
        await telemetry(app, "robot-m", { readings: { coordX: 3, coordY: 5 } });
        const before = await settledMarker(page, "robot-m", 3, 5);
        await telemetry(app, "robot-m", { readings: { coordX: 7, coordY: 6 } });
        const after = await settledMarker(page, "robot-m", 7, 6);
        // Right by 4 units, up by 1: y grows upwards on the map, downwards on the screen.
        assert(after.left > before.left + 20, `x: ${before.left} → ${after.left}`);
        assert(after.top < before.top - 5, `y: ${before.top} → ${after.top}`);
        const ratio = (after.left - before.left) / (before.top - after.top);
        assert(Math.abs(ratio - 4) < 0.1, `same scale on both axes: ${ratio}`);
        assertEquals(await page.textContent("#kpi-robots"), "3");
      });

      await t.step("acknowledges an alert by clicking", async () => {
        // Above the default temperature threshold [-10, 50].
        await telemetry(app, "sensor-hot", { readings: { temperature: 99 } });
        const alert = await openAlertOf(app, "sensor-hot");
        assertEquals(alert.type, "threshold_violation");
        // The reading itself is marked once the twin (with its thresholds) is in.
        await page.waitForSelector('tr[data-device-id="sensor-hot"] .chip.out', { timeout: 3000 });
        const item = page.locator(`li[data-alert-id="${alert.id}"]`);
        await item.locator("button.ack").click({ timeout: 2000 });
        await page.waitForSelector(`li[data-alert-id="${alert.id}"][data-status="acknowledged"]`, {
          timeout: 2000,
        });
        assert((await item.textContent())!.includes("Acknowledged"));
        const kept = await eventually("the alert acknowledged in the index", async () => {
          const a = await app.json<AlertView>("GET", `/api/alerts/${alert.id}`);
          return a.status === "acknowledged" ? a : undefined;
        });
        assertEquals(kept.status, "acknowledged");
      });

      await t.step("reconnects by itself and gets what it missed", async () => {
        const connection = () =>
          page.evaluate(() =>
            (globalThis as unknown as { __flotilla: { connection(): string } }).__flotilla
              .connection()
          );
        app.endStreams();
        await eventually("the page to notice", async () => {
          return (await connection()) !== "live" ? true : undefined;
        });
        // Posted while the page is disconnected: it comes with the resumed stream
        // (Last-Event-ID), once and only once.
        await telemetry(app, "sensor-late", { readings: { humidity: 55 } });
        await page.waitForSelector('tr[data-device-id="sensor-late"]', { timeout: 5000 });
        assertEquals(await connection(), "live");
        const cells = await page.locator('tr[data-device-id="sensor-late"] td').allTextContents();
        assertEquals(cells[5], "1");
      });

      await t.step("shows a device's commands and their status, live", async () => {
        const first = await app.json<{ commandId: string }>(
          "POST",
          "/api/devices/sensor-1/commands",
          { name: "calibrate", params: { offset: 0.5 } },
        );
        await page.locator('tr[data-device-id="sensor-1"]').click();
        await page.waitForSelector("#device-panel:not([hidden])", { timeout: 2000 });
        assertEquals(await page.textContent("#device-panel-id"), "sensor-1");
        assert(
          await page.locator('tr[data-device-id="sensor-1"]').evaluate((tr) =>
            tr.classList.contains("selected")
          ),
          "the row shows it is the one chosen",
        );
        const row = (id: string) => page.locator(`#commands tr[data-command-id="${id}"]`);
        await page.waitForSelector(`#commands tr[data-command-id="${first.commandId}"]`, {
          timeout: 2000,
        });
        assertEquals(await row(first.commandId).getAttribute("data-status"), "pending");
        // A new command, then the device's reports: the view follows the stream.
        const second = await app.json<{ commandId: string }>(
          "POST",
          "/api/devices/sensor-1/commands",
          { name: "reboot" },
        );
        await page.waitForSelector(`#commands tr[data-command-id="${second.commandId}"]`, {
          timeout: 2000,
        });
        await app.json("POST", `/api/devices/sensor-1/commands/${first.commandId}/status`, {
          status: "succeeded",
          result: { offset: 0.5 },
        });
        await page.waitForSelector(
          `#commands tr[data-command-id="${first.commandId}"][data-status="succeeded"]`,
          { timeout: 2000 },
        );
        // Open ones first: the pending reboot, then the calibration that succeeded.
        const ids = await page.locator("#commands tr").evaluateAll((rows) =>
          rows.map((r) => r.getAttribute("data-command-id"))
        );
        assertEquals(ids, [second.commandId, first.commandId]);
        assert((await page.textContent("#device-panel-summary"))!.startsWith("1 open"));
        const text = await row(second.commandId).textContent();
        assert(text!.includes("reboot") && text!.includes("pending"), text!);
      });

      await t.step("saves a screenshot of a populated fleet", async () => {
        await populate(app);
        await eventually("the populated fleet on the page", async () => {
          const nodes = await page.locator("li.node").count();
          const rows = await page.locator("tr[data-device-id]").count();
          return nodes === 3 && rows === 12 ? true : undefined;
        });
        // Twins (quality) loaded and the map at rest.
        await eventually("every quality score", async () => {
          const scores = await page.locator("tr[data-device-id] .quality").allTextContents();
          return scores.every((q) => q.endsWith("%")) ? true : undefined;
        }, 8000);
        await eventually("the map at rest", async () => {
          const markers = await page.evaluate(() =>
            (globalThis as unknown as { __flotilla: { markers(): Marker[] } }).__flotilla
              .markers()
          );
          return markers.every((m) => m.settled) ? true : undefined;
        });
        await page.mouse.move(0, 0);
        await Deno.mkdir(ARTIFACTS, { recursive: true });
        const path = new URL("dashboard.png", ARTIFACTS);
        await page.screenshot({ path: path.pathname, fullPage: true });
        const png = await Deno.readFile(path);
        assert(png.length > 20_000, `screenshot of ${png.length} bytes`);
        console.log(`screenshot: ${path.pathname}`);
        // The dark theme, for a look (the page follows the system's colour scheme).
        await page.emulateMedia({ colorScheme: "dark" });
        await page.waitForTimeout(100);
        const dark = new URL("dashboard-dark.png", ARTIFACTS);
        await page.screenshot({ path: dark.pathname, fullPage: true });
        await page.emulateMedia({ colorScheme: "light" });
      });

      await t.step("escapes what it shows", async () => {
        const hostile = '<img src=x onerror="window.__pwned=1">';
        const res = await app.send("PUT", "/api/devices/door-1", {
          type: "door",
          location: hostile,
        });
        await res.body?.cancel();
        assertEquals(res.status, 201);
        await telemetry(app, "door-1", { readings: { door_sensor: 1 } });
        const cell = page.locator('tr[data-device-id="door-1"] .dev-type');
        await eventually("door-1's location", async () => {
          const text = await cell.textContent().catch(() => null);
          return text?.includes(hostile) ? true : undefined;
        });
        assertEquals(await page.locator('tr[data-device-id="door-1"] img').count(), 0);
        assertEquals(await page.evaluate(() => "__pwned" in globalThis), false);
      });

      await t.step("no console errors on the page", () => {
        assertEquals(errors, []);
      });

      await t.step("asks for the token when a write answers 401", async () => {
        const other = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
        try {
          const p = await other.newPage();
          await telemetry(app, "sensor-hot2", { readings: { temperature: 120 } });
          const alert = await openAlertOf(app, "sensor-hot2");
          await p.goto(`${app.url}/`);
          assertEquals(await p.textContent("#token-state"), "Set token");
          await p.locator(`li[data-alert-id="${alert.id}"] button.ack`).click({ timeout: 3000 });
          await p.waitForSelector("#token-dialog[open]", { timeout: 2000 });
          await p.fill("#token-input", TOKEN);
          await p.click("#token-save");
          await p.waitForSelector(
            `li[data-alert-id="${alert.id}"][data-status="acknowledged"]`,
            { timeout: 2000 },
          );
          assertEquals(await p.evaluate(() => sessionStorage.getItem("flotilla.token")), TOKEN);
          const a = await app.json<AlertView>("POST", `/api/alerts/${alert.id}/ack`);
          assertEquals(a.status, "acknowledged");
        } finally {
          await other.close();
        }
      });
    } finally {
      await browser?.close();
      await app.close();
    }
  },
});

/** A few robots walking, sensors, edge nodes and a payment terminal, for the screenshot. */
async function populate(app: LiveApp) {
  const put = async (path: string, body: unknown) => {
    const res = await app.send("PUT", path, body);
    await res.body?.cancel();
    assert(res.ok, `PUT ${path}: ${res.status}`);
  };
  await put("/api/devices/robot-1", { type: "robot", location: "Warehouse A" });
  await put("/api/devices/robot-2", { type: "robot", location: "Warehouse A" });
  await put("/api/devices/robot-3", { type: "robot", location: "Yard" });
  await put("/api/devices/env-1", { type: "climate", location: "Cold room" });
  await put("/api/devices/env-2", { type: "climate", location: "Loading bay" });
  await put("/api/devices/press-1", { type: "press", location: { lat: 37.5665, lon: 126.978 } });
  await put("/api/edge-nodes/edge-seoul-1", {
    tier: "edge",
    location: { lat: 37.5665, lon: 126.978 },
    capabilities: ["inference", "video"],
  });
  await put("/api/edge-nodes/fog-busan", {
    tier: "fog",
    location: { lat: 35.1796, lon: 129.0756 },
    capabilities: ["storage", "aggregation"],
    limits: { cpu: 80 },
  });
  await put("/api/edge-nodes/edge-incheon-2", {
    tier: "edge",
    location: { lat: 37.4563, lon: 126.7052 },
    capabilities: ["inference"],
  });
  const beat = async (id: string, body: unknown) => {
    const res = await app.send("POST", `/api/edge-nodes/${id}/heartbeat`, body);
    await res.body?.cancel();
    assertEquals(res.status, 200);
  };
  await beat("edge-seoul-1", { cpu: 42, memory: 58, storage: 31, load: 1.7 });
  await beat("fog-busan", { cpu: 76, memory: 64, storage: 88, load: 5.2 });

  // Payments at an online terminal (sent on for authorization) and an offline one (approved
  // offline); the first decision loads the fraud model, so they run alongside the walk.
  await put("/api/terminals/pos-1", { timezone: "Asia/Seoul", online: true });
  await put("/api/terminals/pos-2", { timezone: "Asia/Seoul", online: false });
  await put("/api/terminals/pos-2/cards", { cards: { "tok-4242": "valid" } });
  const payments = (async () => {
    for (let i = 1; i <= 6; i++) {
      const terminal = i % 3 === 0 ? "pos-1" : "pos-2";
      const res = await app.send("POST", `/api/terminals/${terminal}/payments`, {
        transactionId: `tx-${i}`,
        amount: 4500 + i * 1200,
        currency: "KRW",
        cardToken: "tok-4242",
      });
      await res.body?.cancel();
      assertEquals(res.status, 200);
    }
  })();

  // A random walk (seeded, so every run looks alike) for about three seconds.
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const robots = [
    { id: "robot-1", x: 2, y: 3 },
    { id: "robot-2", x: 8, y: 1 },
    { id: "robot-3", x: 5, y: 8 },
  ];
  const started = Date.now();
  for (let i = 0; Date.now() - started < 3000; i++) {
    const sends: Promise<void>[] = [];
    for (const r of robots) {
      r.x += (random() - 0.45) * 0.8;
      r.y += (random() - 0.5) * 0.8;
      sends.push(telemetry(app, r.id, {
        readings: {
          coordX: Math.round(r.x * 100) / 100,
          coordY: Math.round(r.y * 100) / 100,
          motorRPM: Math.round(1200 + random() * 300),
        },
        battery: Math.round(90 - i * 0.5 - random() * 3),
      }));
    }
    sends.push(telemetry(app, "env-1", {
      readings: { temperature: 4 + random() * 0.4, humidity: 62 + random() },
    }));
    sends.push(telemetry(app, "env-2", {
      readings: { temperature: 18 + random(), humidity: 45 + random() * 2 },
    }));
    if (i % 2 === 0) {
      sends.push(telemetry(app, "press-1", { readings: { vibration: 220 + random() * 40 } }));
    }
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 100 + (i % 7) * 30));
  }
  await payments;
  // The alert and acknowledged alert of earlier steps stay; add a fresh one to the feed.
  await telemetry(app, "press-1", { readings: { vibration: 1500 } });
}
