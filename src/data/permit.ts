import { tooManyRequests, unknownToken } from "../errors";
import { acquirePermit, type Permit } from "../limiter/permit-pool";
import type { TokenRecord } from "../store/token-record";
import type { WaitUntil } from "./forward";

/**
 * Step 6: hold one of the token's concurrency permits for the whole request. The token's
 * Durable Object is also the authority on revocation, so a revoked token stops here even while
 * KV still holds its projection.
 */
export async function takePermit(env: Env, record: TokenRecord, ctx: WaitUntil): Promise<Permit> {
  const result = await acquirePermit(env.TOKEN_LIMITER, record.token_id, record.concurrency, (p) => ctx.waitUntil(p));
  if (result.ok) return result.permit;
  if (result.reason === "revoked") throw unknownToken();
  throw tooManyRequests(
    `Concurrency limit of ${record.concurrency} requests for this token reached: retry after the Retry-After delay or use a tier with a higher limit.`,
    result.retryAfterSeconds,
  );
}
