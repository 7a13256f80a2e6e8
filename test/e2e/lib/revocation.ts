// Measure how fast a revocation takes effect: poll with the old token, one request at a time and
// back to back, while the revoke call runs; report when its answer arrived and when the first
// refusal came back.

import { sleep } from "./processes.ts";

export interface Poll {
  startedAt: number;
  endedAt: number;
  /** HTTP status, or 0 when the request failed. */
  status: number;
}

export interface RevocationMeasurement {
  /** Date.now() when the revoke call's answer arrived. */
  revokedAt: number;
  /** ms from the revoke answer to the first refused answer (negative: refused before the answer arrived). */
  firstRefusalMs: number;
  /** Status of the first refusal (401 expected). */
  refusalStatus: number;
  /** Requests that started after the revoke answer and still succeeded: must be 0. */
  acceptedAfterRevoke: number;
  /** Requests that started after the revoke answer, in total. */
  pollsAfterRevoke: number;
  polls: Poll[];
}

export async function measureRevocation(opts: {
  /** One request with the old token; resolves to its status (0 on a network error). */
  request: () => Promise<number>;
  /** The revoke call; resolves when its answer arrived. */
  revoke: () => Promise<void>;
  /** Polls before revoking, to show the token worked (default 3). */
  warmup?: number;
  /** Keep polling until this many refusals after the answer (default 5), or `timeoutMs`. */
  refusalsAfter?: number;
  timeoutMs?: number;
}): Promise<RevocationMeasurement> {
  const polls: Poll[] = [];
  const one = async () => {
    const startedAt = Date.now();
    const status = await opts.request().catch(() => 0);
    polls.push({ startedAt, endedAt: Date.now(), status });
    return status;
  };
  for (let i = 0; i < (opts.warmup ?? 3); i++) {
    const s = await one();
    if (s < 200 || s > 299) throw new Error(`the token does not work before revocation (HTTP ${s})`);
  }
  let revokedAt: number | undefined;
  let stop = false;
  const poller = (async () => {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    while (!stop && Date.now() < deadline) {
      await one();
      const after = revokedAt === undefined ? [] : polls.filter((p) => p.startedAt >= revokedAt!);
      if (after.filter((p) => p.status === 401 || p.status === 403).length >= (opts.refusalsAfter ?? 5)) return;
      if (polls.length > 10_000) await sleep(1); // never spin without yielding
    }
  })();
  await sleep(20); // the poller is running when the revoke call goes out
  await opts.revoke();
  revokedAt = Date.now();
  await poller;
  stop = true;
  const refused = (p: Poll) => p.status === 401 || p.status === 403;
  const first = polls.find((p) => refused(p));
  if (first === undefined) throw new Error(`no refusal within ${opts.timeoutMs ?? 10_000} ms of the revoke answer`);
  const after = polls.filter((p) => p.startedAt >= revokedAt!);
  return {
    revokedAt,
    firstRefusalMs: first.endedAt - revokedAt,
    refusalStatus: first.status,
    acceptedAfterRevoke: after.filter((p) => p.status >= 200 && p.status < 300).length,
    pollsAfterRevoke: after.length,
    polls,
  };
}
