// For contrast with the authorizer's token store: vmauth 1.79.5 keeps every user in its config
// file and in memory. Config-load time (spawn → /health answers → the last user's token is
// accepted) and memory (VmRSS, VmHWM) with 10,000 and 100,000 bearer-token users.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { currentRss, peakRss } from "../lib/proc.ts";
import { makeTokens } from "../lib/seed.ts";
import { startVm, startVmauth } from "../lib/stack.ts";
import { fmt, mb, ms, table } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";
import { instantQueryPath } from "../lib/queries.ts";

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  for (const n of [10, 10_000, 100_000]) {
    const tokens = makeTokens(n).map((x) => x.secret);
    const started = Date.now();
    const vmauth = await startVmauth(tokens, vm.url, 300_000);
    const last = tokens[tokens.length - 1]!;
    const url = `${vmauth.url}${instantQueryPath(t)}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${last}` } });
    await res.arrayBuffer();
    const firstAccepted = Date.now() - started;
    const file = join(ctx.tmpDir, `vmauth-${n}.txt`);
    writeFileSync(file, tokens.slice(0, Math.min(n, 10_000)).join("\n") + "\n");
    const r = await runWrk({ url, tokensFile: file }, { connections: 16, durationSeconds: ctx.options.quick ? 2 : 3, tmpDir: ctx.tmpDir });
    const rss = currentRss([vmauth.pid]);
    const hwm = peakRss([vmauth.pid]);
    results[String(n)] = { readyMs: vmauth.startMs, firstAcceptedMs: firstAccepted, lastStatus: res.status, rss, hwm, rps: r.rps, errors: r.errors };
    rows.push([fmt(n), ms(vmauth.startMs * 1000, 0), `${ms(firstAccepted * 1000, 0)} (${res.status})`, mb(rss), mb(hwm), fmt(r.rps) + (r.errors ? ` (${r.errors} err)` : "")]);
    await vmauth.stop();
  }
  ctx.results.vmauthUsers = results;
  await vm.stop();
  return [
    "## vmauth with many users (bearer_token per user, one url_prefix), for contrast",
    "",
    table(["users", "spawn → /health", "spawn → last user's request answered", "VmRSS", "VmHWM", "req/s @c16 (random users)"], rows),
  ].join("\n");
}
