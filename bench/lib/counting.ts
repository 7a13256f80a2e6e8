// Builds bench variants of the authorizer: an entry that imports the production bundle (what
// `wrangler deploy --dry-run` produced) and wraps it, bundled by esbuild into `<dir>/index.js`
// so the harness starts it with the project's wrangler.toml (same bindings, same class name).
//  - counting: bench/counting-worker.ts counts KV, D1, Durable Object calls and subrequests;
//  - tools: bench/tools-worker.ts adds /__bench/ endpoints (fast KV seeding), nothing else.
// Every Durable Object class wrangler.toml binds must be re-exported, or its binding has no class
// and every call to it fails (the data plane then answers 503 without reaching the upstream).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { makeTempDir } from "../../test/e2e/lib/processes.ts";
import { BENCH_DIR } from "./stack.ts";

async function buildWrapped(productionBundleDir: string, lines: string[]): Promise<string> {
  const dir = makeTempDir("wrapped-src");
  const entry = join(dir, "entry.js");
  writeFileSync(entry, [`import inner, { TokenLimiter as Limiter, LocationLimiter as Location } from ${JSON.stringify(join(productionBundleDir, "index.js"))};`, ...lines, ""].join("\n"));
  const out = makeTempDir("wrapped-bundle");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: join(out, "index.js"),
    external: ["cloudflare:*", "node:*"],
    logLevel: "error",
  });
  return out;
}

export function buildCountingBundle(productionBundleDir: string): Promise<string> {
  return buildWrapped(productionBundleDir, [
    `import { countingWorker, countingLimiter, countingLocationLimiter } from ${JSON.stringify(join(BENCH_DIR, "counting-worker.ts"))};`,
    `export const TokenLimiter = countingLimiter(Limiter);`,
    `export const LocationLimiter = countingLocationLimiter(Location);`,
    `export default countingWorker(inner);`,
  ]);
}

export function buildToolsBundle(productionBundleDir: string): Promise<string> {
  return buildWrapped(productionBundleDir, [
    `import { withBenchTools } from ${JSON.stringify(join(BENCH_DIR, "tools-worker.ts"))};`,
    `export const TokenLimiter = Limiter;`,
    `export const LocationLimiter = Location;`,
    `export default withBenchTools(inner);`,
  ]);
}
