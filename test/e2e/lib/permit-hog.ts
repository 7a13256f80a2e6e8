// Extra concurrent load with one token, to drive it into its concurrency limit on purpose: `count`
// uploads to a write path that send their body slowly and stay open until release(). The Worker
// holds a permit for each for as long as its body streams, so with `count` above the token's
// limit every further request with that token — the real client's included — gets 429 until the
// hog is released. The bodies are Prometheus-text comment lines: they write no samples.

import { request as httpRequest, type ClientRequest } from "node:http";
import { waitFor } from "./processes.ts";

export interface PermitHog {
  /** Answers so far: status → count (the uploads still open have none yet). */
  answered(): Record<string, number>;
  /** Uploads still open (holding a permit, or waiting for an answer). */
  open(): number;
  /** `Retry-After` of each 429 answer (null when the header was missing). */
  retryAfter(): (string | null)[];
  /** Finish every open upload and wait for all answers (bounded). */
  release(timeoutMs?: number): Promise<Record<string, number>>;
}

export async function holdPermits(opts: {
  /** Worker base URL. */
  url: string;
  token: string;
  count: number;
  /** Default /api/v1/import/prometheus. */
  path?: string;
  /** Resolve once at least this many uploads were refused with 429 (default 1). */
  minRefused?: number;
}): Promise<PermitHog> {
  const target = new URL(opts.url);
  const statuses: (number | "error" | undefined)[] = new Array(opts.count).fill(undefined);
  const requests: ClientRequest[] = [];
  const retryAfter: (string | null)[] = [];
  for (let i = 0; i < opts.count; i++) {
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      method: "POST",
      path: opts.path ?? "/api/v1/import/prometheus",
      headers: { authorization: `Bearer ${opts.token}`, "content-type": "text/plain" }, // chunked: no length
      agent: false, // one connection each: they must be concurrent
    });
    req.once("response", (res) => {
      statuses[i] = res.statusCode ?? 0;
      if (res.statusCode === 429) retryAfter.push(typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : null);
      res.resume();
    });
    req.once("error", () => {
      statuses[i] ??= "error";
    });
    req.write("# held open by the e2e permit hog\n");
    requests.push(req);
  }
  const answered = () => {
    const out: Record<string, number> = {};
    for (const s of statuses) if (s !== undefined) out[String(s)] = (out[String(s)] ?? 0) + 1;
    return out;
  };
  const open = () => statuses.filter((s) => s === undefined).length;
  // The refused ones are answered at once; the others stay open, holding their permits.
  await waitFor(() => (answered()["429"] ?? 0) >= (opts.minRefused ?? 1), {
    timeoutMs: 10_000,
    intervalMs: 20,
    what: `permit hog: ${opts.minRefused ?? 1} uploads refused with 429 (answered so far ${JSON.stringify(answered())})`,
  });
  return {
    answered,
    open,
    retryAfter: () => retryAfter,
    async release(timeoutMs = 15_000) {
      for (const r of requests) r.end();
      await waitFor(() => open() === 0, { timeoutMs, intervalMs: 20, what: "permit hog uploads to finish" });
      return answered();
    },
  };
}
