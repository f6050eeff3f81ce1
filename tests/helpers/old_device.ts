/**
 * A device twin as the code before issue 15 stored it — the whole state as one snapshot,
 * rewritten on every message, no journal — written by the devices area at commit ce7c5c7 on a
 * memory store: registration, five readings of two sensors, a desired patch, commands in use.
 * For the test that a twin saved by the old code loads in the new one.
 *
 * @module
 */
import type { JsonValue } from "../../runtime/mod.ts";

/** The clock when it was saved (the tests' `T0` + 5 s). */
export const OLD_DEVICE_SAVED_AT = 1795435205000;

/** The snapshot's version in the store (one write per command). */
export const OLD_DEVICE_VERSION = 8;

/** The stored envelope of device `d1`: `s` the state, `n` and `w` the runtime's sequences. */
export const OLD_DEVICE_ENVELOPE: JsonValue = {
  "s": {
    "reported": {
      "temperature": { "value": 24, "ts": 1795435205000 },
      "humidity": { "value": 46, "ts": 1795435205000 },
    },
    "lastSeen": 1795435205000,
    "messageCount": 5,
    "battery": 90,
    "rssi": null,
    "registered": true,
    "type": "env",
    "location": null,
    "sensors": ["temperature", "humidity"],
    "thresholds": { "temperature": { "max": 40 } },
    "heartbeatTimeout": null,
    "registeredAt": 1795435200000,
    "status": "online",
    "statusSince": 1795435201000,
    "desired": { "mode": "eco" },
    "desiredVersion": 1,
    "desiredUpdatedAt": { "mode": 1795435205000 },
    "reportedVersion": 5,
    "hello": null,
    "commandsInUse": true,
    "analytics": {
      "temperature": {
        "w": {
          "t": [0, 1000, 2000, 3000, 4000],
          "b": 1795435201000,
          "v": [20, 21, 22, 23, 24],
          "k": 20,
          "s": 10,
          "q": 30,
          "r": 0,
        },
        "trend": "increasing",
        "score": 0,
        "last": 1795435205000,
        "out": false,
        "rapid": 0,
        "level": 0,
      },
      "humidity": {
        "w": {
          "t": [0, 1000, 2000, 3000, 4000],
          "b": 1795435201000,
          "v": [50, 49, 48, 47, 46],
          "k": 50,
          "s": -10,
          "q": 30,
          "r": 0,
        },
        "trend": "decreasing",
        "score": 0,
        "last": 1795435205000,
        "out": false,
        "rapid": 0,
        "level": 0,
      },
    },
    "alerts": { "threshold": false, "offline": false },
    "quality": {
      "score": 1,
      "records": 5,
      "rejected": 0,
      "failed": {
        "schema": 0,
        "completeness": 0,
        "freshness": 0,
        "range": 0,
        "pattern": 0,
        "duplicates": 0,
        "referential": 0,
        "anomaly": 0,
      },
      "recent": [],
      "dedup": { "keys": "Gjz0sEpQaxYKlzpQf0Rx8ppQTxcQrWpQNE-bImpQ", "newest": 2640 },
      "stats": {
        "temperature": { "k": 20, "b": [5, 10, 30] },
        "humidity": { "k": 50, "b": [5, -10, 30] },
      },
    },
    "history": {
      "open": {
        "names": ["temperature", "humidity"],
        "b": 1795435201000,
        "t": [0, 0, 1000, 1000, 2000, 2000, 3000, 3000, 4000, 4000],
        "s": [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
        "v": [20, 50, 21, 49, 22, 48, 23, 47, 24, 46],
      },
      "seq": 0,
      "index": [],
    },
  },
  "n": 8,
  "w": { "local:441c63a8": 8 },
};

/** What `GET /api/devices/d1` answered then (the `twin` query). */
export const OLD_DEVICE_TWIN: JsonValue = {
  "id": "d1",
  "registered": true,
  "type": "env",
  "location": null,
  "sensors": ["temperature", "humidity"],
  "heartbeatTimeout": 60000,
  "status": "online",
  "statusSince": 1795435201000,
  "lastSeen": 1795435205000,
  "messageCount": 5,
  "battery": 90,
  "rssi": null,
  "reported": {
    "temperature": { "value": 24, "ts": 1795435205000 },
    "humidity": { "value": 46, "ts": 1795435205000 },
  },
  "desired": { "mode": "eco" },
  "delta": { "mode": "eco" },
  "desiredVersion": 1,
  "desiredUpdatedAt": { "mode": 1795435205000 },
  "reportedVersion": 5,
  "thresholds": { "temperature": { "min": -10, "max": 40 }, "humidity": { "min": 0, "max": 100 } },
  "analytics": {
    "temperature": {
      "trend": "increasing",
      "anomalyScore": 0,
      "window": { "count": 5, "mean": 22, "std": 1.4142135623730951, "min": 20, "max": 24 },
    },
    "humidity": {
      "trend": "decreasing",
      "anomalyScore": 0,
      "window": { "count": 5, "mean": 48, "std": 1.4142135623730951, "min": 46, "max": 50 },
    },
  },
  "quality": {
    "score": 1,
    "failedByType": {
      "schema": 0,
      "completeness": 0,
      "freshness": 0,
      "range": 0,
      "pattern": 0,
      "duplicates": 0,
      "referential": 0,
      "anomaly": 0,
    },
  },
};
