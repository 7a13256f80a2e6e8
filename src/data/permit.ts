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
  // The tier's wait when it sets one, else the Worker's (PERMIT_MAX_WAIT_MS); the pool caps either at 5 s.
  const maxWaitMs = record.max_wait_ms ?? Number(env.PERMIT_MAX_WAIT_MS);
  const colo = (request?.cf as { colo?: unknown } | undefined)?.colo;
  const result = await acquirePermit(shippingNamespace(env.TOKEN_LIMITER), record.token_id, record.concurrency, (p) => ctx.waitUntil(p), {
    signal: request?.signal,
    maxWaitMs: Number.isFinite(maxWaitMs) ? maxWaitMs : undefined,
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

/** The second level: the token's object for this location, `<token id>@<colo>` (docs/limiter.md). */
function locationObjects(ns: Env["LOCATION_LIMITER"], colo: string): LimiterNamespace {
  return { getByName: (tokenId) => ns.getByName(`${tokenId}@${colo}`) };
}
