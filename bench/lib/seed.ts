// Seeds access tokens straight into local storage: D1 through miniflare's API (multi-row
// INSERTs sent in batches), KV through the tools bundle's /__bench/kv-put (bench/tools-worker.ts),
// which puts from inside workerd. The tokens are real (generateSecret, SHA-256 hash) so the
// Worker accepts them; their sealed copy is a placeholder (never revealed here).

import { createHash, randomUUID } from "node:crypto";
import { generateSecret } from "../../src/token/format.ts";
import type { D1 } from "../../test/e2e/lib/worker.ts";

export interface SeededToken {
  id: string;
  secret: string;
  hash: string;
}

const ROWS_PER_STATEMENT = 250;
const STATEMENTS_PER_BATCH = 20;
const KV_BATCH = 5_000;

export function makeTokens(n: number): SeededToken[] {
  return Array.from({ length: n }, () => {
    const secret = generateSecret();
    return { id: randomUUID(), secret, hash: createHash("sha256").update(secret).digest("hex") };
  });
}

/** Inserts the tokens under `deploymentId` (bypassing the tier's token cap) and writes their KV projections. */
export async function seedTokens(
  worker: { d1(): Promise<D1>; fetch(path: string, init?: RequestInit, timeoutMs?: number): Promise<Response> },
  deployment: { id: string; upstreamUrl: string; concurrency: number },
  tokens: SeededToken[],
  opts: { kv?: boolean; log?: (m: string) => void } = {},
): Promise<{ d1Ms: number; kvMs: number }> {
  const db = await worker.d1();
  const now = Date.now();
  const started = Date.now();
  const statements = [];
  for (let i = 0; i < tokens.length; i += ROWS_PER_STATEMENT) {
    const values = tokens
      .slice(i, i + ROWS_PER_STATEMENT)
      // ids, hashes and the deployment id are [0-9a-f-] only: safe as literals.
      .map((t) => `('${t.id}','${deployment.id}','${t.hash}','v1:seeded:placeholder','rw','seeded','bench',${now})`)
      .join(",");
    statements.push(
      db.prepare(`INSERT INTO access_tokens (id, deployment_id, secret_hash, secret_sealed, type, description, created_by, created_at) VALUES ${values}`),
    );
  }
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH));
    if (i % (STATEMENTS_PER_BATCH * 40) === 0 && i > 0) opts.log?.(`D1: ${i * ROWS_PER_STATEMENT} rows`);
  }
  const d1Ms = Date.now() - started;
  let kvMs = 0;
  if (opts.kv ?? true) {
    // Through the tools bundle's /__bench/kv-put: the puts run inside workerd, 100 at a time.
    const kvStarted = Date.now();
    const record = (t: SeededToken) =>
      JSON.stringify({
        v: 1,
        token_id: t.id,
        deployment_id: deployment.id,
        deployment_type: "single_node",
        access: "rw",
        concurrency: deployment.concurrency,
        upstream_url: deployment.upstreamUrl,
      });
    for (let i = 0; i < tokens.length; i += KV_BATCH) {
      const pairs = tokens.slice(i, i + KV_BATCH).map((t) => [`token:${t.hash}`, record(t)]);
      const res = await worker.fetch("/__bench/kv-put", { method: "POST", body: JSON.stringify(pairs) }, 120_000);
      if (!res.ok) throw new Error(`/__bench/kv-put answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      if (i > 0 && i % 50_000 === 0) opts.log?.(`KV: ${i} keys`);
    }
    kvMs = Date.now() - kvStarted;
  }
  return { d1Ms, kvMs };
}
