// The Worker as a local HTTP server for the CLI tests: bundled exactly as `wrangler deploy` would
// (`--dry-run --outdir`), run in workerd through miniflare's API on a free 127.0.0.1 port, with
// KV, D1 and Durable Objects in memory and the D1 migrations applied through the binding. No
// network, no account; starts in a few seconds.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from "wrangler";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface LocalWorker {
  url: string;
  adminApiKey: string;
  stop(): Promise<void>;
}

function bundle(outDir: string): void {
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const run = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outDir], {
    cwd: ROOT,
    env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`wrangler deploy --dry-run failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
}

export async function startLocalWorker(): Promise<LocalWorker> {
  const dir = mkdtempSync(join(tmpdir(), "vmea-cli-"));
  const bundleDir = join(dir, "bundle");
  bundle(bundleDir);

  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") }, { hideWarnings: true });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  // The bundle lives outside the project: drop the project-relative root and module rules
  // (the v4→v5 converter refuses them; the bundle is one ES module).
  const { rootPath: _root, modulesRules: _rules, ...worker } = workerOptions as typeof workerOptions & { rootPath?: string; modulesRules?: unknown };
  const adminApiKey = randomBytes(24).toString("base64url");
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...worker,
      name: config.name,
      modules: true,
      modulesRoot: bundleDir,
      scriptPath: join(bundleDir, "index.js"),
      bindings: { ...(worker.bindings ?? {}), ADMIN_API_KEY: adminApiKey, TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64") },
      host: "127.0.0.1",
      port: 0,
      cf: false,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const ready = await mf.ready;
  const url = ready.origin;

  const db = await mf.getD1Database("DB");
  for (const file of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(join(ROOT, "migrations", file), "utf8")).filter((s) => s.trim() !== "");
    await db.batch(statements.map((s) => db.prepare(s)));
  }

  return {
    url,
    adminApiKey,
    async stop() {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
