// Long run of "brute force and floods" over real sockets: the Worker in workerd (miniflare) in
// front of a real upstream on 127.0.0.1. A valid token's client runs at fixed concurrency the
// whole time; alongside it, floods of random credentials (half well-formed `vmat_…` secrets with
// a valid checksum, half junk of every kind):
//   control   — requests without any credential (the cheapest refusal), as a yardstick,
//   spread    — HARDENING_FLOOD attempts, each from its own CF-Connecting-IP, so the throttle
//               never engages: the worst case for lookups,
//   one-ip    — every attempt from one address: the throttle answers 429 after 20 failures,
//   paced     — the spread flood at a fixed HARDENING_PACED_RATE per second, below saturation.
// The first three run as fast as HARDENING_FLOOD_CONCURRENCY connections go, so on one workerd
// thread they take their share of the CPU from the valid client; compare each with the control.
// Prints one `HARDENING flood-sockets {...}` line. Locally a client may set CF-Connecting-IP
// itself (miniflare keeps it); Cloudflare's edge overwrites it.
//
//   node_modules/.bin/node scripts/hardening-flood.ts       (or: node scripts/hardening-long.mjs flood)
//   HARDENING_FLOOD=100000 HARDENING_SIDE_FLOOD=20000 HARDENING_FLOOD_CONCURRENCY=32
//   HARDENING_VALID_CONCURRENCY=4 HARDENING_PACED_RATE=200 HARDENING_PACED_SECONDS=20

import { randomBytes } from "node:crypto";
import { generateSecret } from "../src/token/format.ts";
import { cleanupTempRoot } from "../test/e2e/lib/processes.ts";
import { startStack } from "../test/hardening/lib/stack.ts";

const FLOOD = Number(process.env.HARDENING_FLOOD ?? 100_000);
const SIDE_FLOOD = Number(process.env.HARDENING_SIDE_FLOOD ?? 20_000);
const PACED_RATE = Number(process.env.HARDENING_PACED_RATE ?? 200);
const PACED_SECONDS = Number(process.env.HARDENING_PACED_SECONDS ?? 20);
const FLOOD_CONCURRENCY = Number(process.env.HARDENING_FLOOD_CONCURRENCY ?? 32);
const VALID_CONCURRENCY = Number(process.env.HARDENING_VALID_CONCURRENCY ?? 4);
const BASELINE_MS = 5_000;

const stack = await startStack({ vars: { UPSTREAM_TIMEOUT_MS: "5000" } });
const valid = stack.tokens.find((t) => t.name === "single r")!;
const base = stack.worker.url;

interface ValidStats {
  requests: number;
  ok: number;
  other: Record<number, number>;
  latencies: number[];
  /** The first few answers other than 200, for the report. */
  samples: string[];
}

/** Runs the valid client until `stop()`; returns its stats. */
function validClient(): { stop(): Promise<ValidStats & { ms: number }> } {
  const stats: ValidStats = { requests: 0, ok: 0, other: {}, latencies: [], samples: [] };
  let running = true;
  const started = Date.now();
  const worker = async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(`${base}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${valid.secret}`, "cf-connecting-ip": "192.0.2.10" } });
      const text = await res.text();
      stats.latencies.push(performance.now() - t);
      stats.requests++;
      if (res.status === 200) stats.ok++;
      else {
        stats.other[res.status] = (stats.other[res.status] ?? 0) + 1;
        if (stats.samples.length < 5) stats.samples.push(`${new Date().toISOString()} ${res.status} ${text.slice(0, 300)}`);
      }
    }
  };
  const all = Array.from({ length: VALID_CONCURRENCY }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      return { ...stats, ms: Date.now() - started };
    },
  };
}

function summarise(s: ValidStats & { ms: number }) {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const pct = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 100) / 100;
  return { requests: s.requests, perSecond: Math.round((s.requests / s.ms) * 1000), p50ms: pct(0.5), p99ms: pct(0.99), non200: s.other, ...(s.samples.length ? { non200Samples: s.samples } : {}) };
}

type Kind = "control" | "spread" | "one-ip" | "paced";

function junk(i: number): string {
  switch (i % 6) {
    case 0:
      return `Bearer ${randomBytes(20).toString("base64url")}`;
    case 1:
      return `Bearer vmat_${randomBytes(37).toString("base64url").replace(/[-_]/g, "a").slice(0, 50)}`; // right shape, wrong checksum
    case 2:
      return `Basic ${Buffer.from(`x:${randomBytes(12).toString("hex")}`).toString("base64")}`;
    case 3:
      return `Digest ${randomBytes(8).toString("hex")}`;
    case 4:
      return "Bearer ";
    default:
      return `Bearer ${"x".repeat(600)}`;
  }
}

let addressSeq = 0;

async function flood(kind: Kind, attempts: number): Promise<Record<string, unknown>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= attempts) return;
      // Paced: attempt i leaves no earlier than i / rate seconds after the start.
      if (kind === "paced") await new Promise((r) => setTimeout(r, Math.max(0, started + (i * 1000) / PACED_RATE - Date.now())));
      const headers: Record<string, string> = {};
      if (kind !== "control") headers.authorization = i % 2 === 0 ? `Bearer ${generateSecret()}` : junk(i);
      const a = addressSeq++;
      headers["cf-connecting-ip"] = kind === "one-ip" || kind === "control" ? "198.51.100.66" : `10.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;
      const res = await fetch(`${base}/api/v1/query?query=up`, { headers });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, worker));
  const ms = Date.now() - started;
  return { attempts, ms, perSecond: Math.round((attempts / ms) * 1000), statuses };
}

// Warm the valid token (lookup cache, permit lease), then measure it alone.
await (await fetch(`${base}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${valid.secret}` } })).arrayBuffer();
let client = validClient();
await new Promise((r) => setTimeout(r, BASELINE_MS));
const alone = summarise(await client.stop());
console.error(`valid alone: ${JSON.stringify(alone)}`);

const phases: Record<string, unknown> = {};
const sizes: Record<Kind, number> = { control: SIDE_FLOOD, spread: FLOOD, "one-ip": SIDE_FLOOD, paced: PACED_RATE * PACED_SECONDS };
const kinds = (process.env.HARDENING_PHASES?.split(",") ?? ["control", "spread", "one-ip", "paced"]) as Kind[];
for (const kind of kinds) {
  client = validClient();
  const f = await flood(kind, sizes[kind]);
  const during = summarise(await client.stop());
  phases[kind] = { flood: f, validDuring: during };
  console.error(`${kind}: ${JSON.stringify(phases[kind])}`);
}
const upstreamSaw = stack.single.arrivals().length;
const validSent = (Object.values(phases) as { validDuring: { requests: number } }[]).reduce((n, p) => n + p.validDuring.requests, alone.requests + 1);
const summary = {
  attemptsPerPhase: sizes,
  pacedRatePerSecond: PACED_RATE,
  floodConcurrency: FLOOD_CONCURRENCY,
  validConcurrency: VALID_CONCURRENCY,
  validAlone: alone,
  phases,
  // Every upstream request is the valid client's: no flood request got through.
  upstreamRequests: upstreamSaw,
  validRequests: validSent,
  note: "2 shared cores: the flood client, the valid client and workerd compete for CPU, so part of any slowdown is the machine, not the Worker (compare with the control flood).",
};
// The valid token must never be refused or fail: every answer it got is a 200.
const validFailures = [alone, ...(Object.values(phases) as { validDuring: typeof alone }[]).map((p) => p.validDuring)].reduce(
  (n, v) => n + Object.values(v.non200).reduce((a, b) => a + b, 0),
  0,
);
const ok = upstreamSaw === validSent && validFailures === 0;
console.log(`HARDENING flood-sockets ${JSON.stringify({ ...summary, validNon200: validFailures, workerLog: ok ? undefined : stack.worker.logFile })}`);
await stack.stop();
cleanupTempRoot(!ok); // keeps the Worker's log when something failed
process.exit(ok ? 0 : 1);
