// From a token's creation call returning to its first accepted request: the data path reads D1
// on a KV miss, so the token should work at once. Each sample: POST access_tokens, then send
// the query with the new secret until it is answered 2xx (bounded), timing both.

import type { BenchContext } from "../lib/context.ts";
import { admin, startAuthorizer, startVm } from "../lib/stack.ts";
import { fmt, median, table } from "../lib/stats.ts";

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const worker = await startAuthorizer();
  const api = admin(worker.harness);
  const samples = ctx.options.quick ? 5 : 20;
  const createMs: number[] = [];
  const firstMs: number[] = [];
  const attempts: number[] = [];
  // Tier 23 allows 50 tokens per deployment; a fresh deployment per 40 samples.
  let dep = await api.createDeployment(vm.url, 23);
  for (let i = 0; i < samples; i++) {
    if (i > 0 && i % 40 === 0) dep = await api.createDeployment(vm.url, 23);
    const t0 = performance.now();
    const token = await api.createToken(dep.id, `creation-${i}`);
    const t1 = performance.now();
    let tries = 0;
    for (;;) {
      tries++;
      const res = await worker.harness.fetch(`/api/v1/query?query=up&time=${t}`, { headers: { authorization: `Bearer ${token.value}` } });
      await res.arrayBuffer();
      if (res.ok) break;
      if (tries >= 200) throw new Error(`token ${i} still refused (${res.status}) after ${tries} tries`);
      await new Promise((ok) => setTimeout(ok, 10));
    }
    createMs.push(t1 - t0);
    firstMs.push(performance.now() - t1);
    attempts.push(tries);
  }
  ctx.results.creation = { createMs, firstMs, attempts };
  await worker.harness.stop();
  await vm.stop();
  const max = (a: number[]) => Math.max(...a);
  return [
    `## Token creation → first accepted request (${samples} tokens, one isolate, KV and D1 local)`,
    "",
    table(
      ["", "median", "max"],
      [
        ["creation call (POST access_tokens)", `${fmt(median(createMs), 1)} ms`, `${fmt(max(createMs), 1)} ms`],
        ["creation returned → first 2xx", `${fmt(median(firstMs), 1)} ms`, `${fmt(max(firstMs), 1)} ms`],
        ["requests until the first 2xx", fmt(median(attempts)), fmt(max(attempts))],
      ],
    ),
  ].join("\n");
}
