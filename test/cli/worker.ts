// The Worker as a local HTTP server for the CLI tests: the e2e harness's Worker (bundled exactly
// as `wrangler deploy` would, run in workerd through miniflare's API on a free 127.0.0.1 port,
// D1 migrations applied), with nothing but its URL and bootstrap key exposed here.

import { REPO_ROOT, startWorker } from "../e2e/lib/worker.ts";

export const ROOT = REPO_ROOT;

export interface LocalWorker {
  url: string;
  adminApiKey: string;
  stop(): Promise<void>;
}

export async function startLocalWorker(): Promise<LocalWorker> {
  const worker = await startWorker();
  return { url: worker.url, adminApiKey: worker.adminApiKey, stop: () => worker.stop() };
}
