// Long run of "permits never leak" over real sockets: the Worker in workerd (miniflare, persisted
// state) in front of a real fault upstream on 127.0.0.1. Repeats, ROUNDS times: a 10× overload of
// one token's limit (the upstream must never see more than the limit in flight), then every way a
// request ends — success, upstream error, upstream hang past the timeout, client abort during
// upload / download / before the answer, upstream reset mid-response — and finally a restart of
// the runtime with the whole limit in flight. After each, it measures how long until the token's
// full capacity is usable again. Prints one `HARDENING permits {...}` line.
//
//   node_modules/.bin/node scripts/hardening-permits.ts            (or: node scripts/hardening-long.mjs permits)
//   HARDENING_ROUNDS=3 HARDENING_UPSTREAM_TIMEOUT_MS=2000 …       (defaults: 3 rounds, 2000 ms)

import { probeCapacity, timeToFullCapacity } from "../test/hardening/lib/capacity.ts";
import { head, rawRequest, type RawAnswer } from "../test/hardening/lib/raw-http.ts";
import { startStack } from "../test/hardening/lib/stack.ts";
import { cleanupTempRoot } from "../test/e2e/lib/processes.ts";

const ROUNDS = Number(process.env.HARDENING_ROUNDS ?? 3);
const TIMEOUT_MS = Number(process.env.HARDENING_UPSTREAM_TIMEOUT_MS ?? 2_000);
const LIMIT = 50; // tier 20
/** DEFAULT_TIMINGS.leaseTtlMs in src/limiter/lease-policy.ts: a crashed holder's permits count until then. */
const LEASE_TTL_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stack = await startStack({ vars: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) } });
const token = stack.tokens.find((t) => t.name === "single rw")!;
const up = stack.single;
const port = () => stack.worker.port;
const read = () => head("GET", "/api/v1/query?query=up", { authorization: `Bearer ${token.secret}` });
const fire = (n: number, make: () => Promise<RawAnswer>) => Promise.all(Array.from({ length: n }, make));

const worst: Record<string, number> = {};
const samples: Record<string, number[]> = {};
const failures: string[] = [];
let overloads = 0;
let maxInFlightSeen = 0;
let requests = 0;

async function measure(event: string, since: number, maxMs: number): Promise<void> {
  try {
    const ms = await timeToFullCapacity(port(), up, token.secret, LIMIT, since, maxMs);
    (samples[event] ??= []).push(ms);
    worst[event] = Math.max(worst[event] ?? 0, ms);
  } catch (err) {
    failures.push(`${event}: ${String(err)}`);
  }
  requests += LIMIT;
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

for (let round = 1; round <= ROUNDS; round++) {
  // 10× overload.
  up.setMode("hang");
  up.resetMax();
  const answers: RawAnswer[] = [];
  const all = Array.from({ length: LIMIT * 10 }, () => rawRequest(port(), read(), { timeoutMs: 30_000 }).then((a) => (answers.push(a), a)));
  if (!(await waitUntil(() => answers.length >= LIMIT * 9 && up.inFlight() >= LIMIT, 20_000))) failures.push(`round ${round}: overload did not settle`);
  await sleep(200);
  maxInFlightSeen = Math.max(maxInFlightSeen, up.maxInFlight());
  if (up.maxInFlight() > LIMIT) failures.push(`round ${round}: upstream saw ${up.maxInFlight()} in flight (limit ${LIMIT})`);
  const refused = answers.filter((a) => a.status === 429).length;
  if (refused !== LIMIT * 9) failures.push(`round ${round}: ${refused} refused, expected ${LIMIT * 9}`);
  let t = Date.now();
  up.release();
  up.setMode("ok");
  await Promise.all(all);
  overloads++;
  requests += LIMIT * 10;
  await measure("success (after 10x overload)", t, 15_000);

  up.setMode("error", 503);
  await fire(LIMIT, () => rawRequest(port(), read()));
  up.setMode("ok");
  await measure("upstream error status", Date.now(), 15_000);

  up.setMode("hang");
  await fire(LIMIT, () => rawRequest(port(), read(), { timeoutMs: TIMEOUT_MS + 10_000 }));
  up.release();
  up.setMode("ok");
  await measure("upstream hang past the timeout (504)", Date.now(), 15_000);

  const upload = head("POST", "/api/v1/import", { authorization: `Bearer ${token.secret}`, "content-length": "100000" }) + "0123456789";
  t = Date.now() + 200;
  await fire(LIMIT, () => rawRequest(port(), upload, { abortAfterMs: 200 }));
  await measure("client abort during upload", t, TIMEOUT_MS + 15_000);

  up.setMode("hang-body");
  t = Date.now() + 300;
  await fire(LIMIT, () => rawRequest(port(), read(), { abortAfterMs: 300 }));
  up.setMode("ok");
  await measure("client abort during download (upstream stalled)", t, TIMEOUT_MS + 15_000);
  up.release();

  up.setMode("hang");
  t = Date.now() + 200;
  await fire(LIMIT, () => rawRequest(port(), read(), { abortAfterMs: 200 }));
  await measure("client abort before the upstream answered", t, TIMEOUT_MS + 15_000);
  up.release();
  up.setMode("ok");

  up.setMode("reset-body");
  await fire(LIMIT, () => rawRequest(port(), read()));
  up.setMode("ok");
  await measure("upstream reset mid-response", Date.now(), 15_000);

  // Restart of the runtime with the whole limit in flight: the old isolate's lease is persisted in
  // the Durable Object and counts until its deadline.
  up.setMode("hang");
  const held = Array.from({ length: LIMIT }, () => rawRequest(port(), read(), { timeoutMs: 30_000 }));
  await waitUntil(() => up.inFlight() >= LIMIT, 10_000);
  await stack.worker.restart();
  t = Date.now();
  await Promise.all(held);
  up.release();
  up.setMode("ok");
  const right = await probeCapacity(port(), up, token.secret, LIMIT);
  (samples["capacity right after restart"] ??= []).push(right.admitted);
  await measure("runtime restart with the limit in flight", t, LEASE_TTL_MS + 15_000);
  requests += LIMIT * 2;
  console.error(`round ${round}/${ROUNDS}: worst so far ${JSON.stringify(worst)}`);
}

const summary = {
  rounds: ROUNDS,
  limit: LIMIT,
  upstreamTimeoutMs: TIMEOUT_MS,
  leaseTtlMs: LEASE_TTL_MS,
  overloads,
  requests,
  maxInFlightAtUpstream: maxInFlightSeen,
  worstRecoveryMs: worst,
  samplesMs: samples,
  failures,
};
console.log(`HARDENING permits ${JSON.stringify(summary)}`);
await stack.stop();
cleanupTempRoot(failures.length > 0);
process.exit(failures.length > 0 ? 1 : 0);
