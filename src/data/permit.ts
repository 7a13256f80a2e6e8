import { expiredToken, serviceUnavailable, tooManyRequests, unknownToken } from "../errors";
import { acquirePermit } from "../limiter/isolate-permits";
import type { Permit } from "../limiter/permit-result";
import type { LimiterNamespace } from "../limiter/pool-state";
import type { TokenRecord } from "../store/token-record";
import type { WaitUntil } from "./forward";
import { shippingNamespace } from "./usage";

/**
 * Step 6: hold one of the token's concurrency permits for the whole request. The token's
 * Durable Object is also the authority on revocation, so a revoked token stops here even while
 * KV still holds its projection. The limiter answers with values; this is where they become HTTP.
 * An acquire that finds no permit waits (bounded, in arrival order) before it is refused; a client
 * that disconnects meanwhile leaves the queue through `signal`.
 */
export async function takePermit(env: Env, record: TokenRecord, ctx: WaitUntil, request?: Request): Promise<Permit> {
  const colo = env.LOCATION_LIMITER ? (request?.cf as { colo?: unknown } | undefined)?.colo : undefined;
  const result = await acquirePermit(shippingNamespace(env.TOKEN_LIMITER), record.token_id, record.concurrency, (p) => ctx.waitUntil(p), {
    signal: request?.signal,
    // The tier's wait when it sets one, else the Worker's (PERMIT_MAX_WAIT_MS); the pool caps either at 5 s.
    maxWaitMs: record.max_wait_ms ?? maxWaitOf(env),
    location: typeof colo === "string" && env.LOCATION_LIMITER ? locationObjects(env.LOCATION_LIMITER, colo) : undefined,
  });
  if (result.ok) return result.permit;
  switch (result.reason) {
    case "revoked":
      throw result.expiredAt !== undefined ? expiredToken(result.expiredAt) : unknownToken();
    case "unavailable":
      throw serviceUnavailable("limiter_unavailable", "The token's concurrency limiter did not answer; retry shortly.", result.retryAfterSeconds);
    case "aborted":
    case "limit":
      throw tooManyRequests(
        `Concurrency limit of ${record.concurrency} requests for this token reached: retry after the Retry-After delay or use a tier with a higher limit.`,
        result.retryAfterSeconds,
      );
  }
}

/** PERMIT_MAX_WAIT_MS, parsed once per isolate: the environment does not change while it lives. */
let maxWait: { env: Env; value: number | undefined } | undefined;

function maxWaitOf(env: Env): number | undefined {
  if (maxWait?.env !== env) {
    const ms = Number(env.PERMIT_MAX_WAIT_MS);
    maxWait = { env, value: Number.isFinite(ms) ? ms : undefined };
  }
  return maxWait.value;
}

/**
 * The second level: the token's object for this location, `<token id>@<colo>` (docs/limiter.md).
 * One per colo and binding, kept: an isolate serves one location, and a pool keeps the first it
 * is given, so a new object per request would be garbage at once.
 */
function locationObjects(ns: Env["LOCATION_LIMITER"], colo: string): LimiterNamespace {
  if (locations.ns !== ns) locations = { ns, byColo: new Map() };
  let objects = locations.byColo.get(colo);
  if (!objects) {
    if (locations.byColo.size >= 64) locations.byColo.clear(); // colo names are few; bounded all the same
    objects = { getByName: (tokenId) => ns.getByName(`${tokenId}@${colo}`) };
    locations.byColo.set(colo, objects);
  }
  return objects;
}
let locations: { ns: Env["LOCATION_LIMITER"] | undefined; byColo: Map<string, LimiterNamespace> } = { ns: undefined, byColo: new Map() };
