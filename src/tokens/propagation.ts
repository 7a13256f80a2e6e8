import { forgetTokenRecord } from "../data/lookup";
import { revocationIncomplete } from "../errors";
import { revokeToken } from "../limiter/permit-pool";
import type { TokenRef } from "../store/access-tokens";
import type { Deployment } from "../store/deployments";
import type { Tier } from "../store/tiers";
import { deleteTokenProjection, putTokenProjection, toTokenRecord } from "../store/token-projection";
import type { TokenRecord } from "../store/token-record";
import type { AccessLevel } from "./vocabulary";

/**
 * What follows a D1 commit at the edge: publishing a token's KV projection, and spreading a
 * revocation to the token's Durable Object, KV and this isolate's lookup cache.
 */

/** The projection of a token just written, built from values in hand (no read-back). */
export function recordFor(
  token: { id: string; type: AccessLevel; tenant_id: string | null; expires_at: number | null },
  deployment: Deployment,
  tier: Tier,
): TokenRecord {
  return toTokenRecord({
    token_id: token.id,
    access: token.type,
    tenant_id: token.tenant_id,
    expires_at: token.expires_at,
    deployment_id: deployment.id,
    deployment_type: deployment.type,
    upstream_url: deployment.upstream_url,
    insert_url: deployment.insert_url,
    select_url: deployment.select_url,
    concurrency: tier.access_token_concurrent_requests,
  });
}

/** Writes projections after D1 committed; the isolate entry is dropped so the next request rereads. */
export async function publishProjections(env: Env, entries: readonly { secretHash: string; record: TokenRecord }[]): Promise<void> {
  await Promise.all(
    entries.map(async ({ secretHash, record }) => {
      await putTokenProjection(env.TOKENS_KV, secretHash, record);
      forgetTokenRecord(secretHash);
    }),
  );
}

/**
 * Spreads revocations already committed in D1: the Durable Object first (the authority at the
 * edge), then the KV projection, then this isolate's cache. Every step runs for every token even
 * if another fails, so one failure does not leave a projection behind; a failure then answers
 * 503 `revocation_incomplete`, and repeating the revoke finishes the job.
 */
export async function propagateRevocations(env: Env, tokens: readonly TokenRef[]): Promise<void> {
  const outcomes = await Promise.all(
    tokens.map(async (token) => {
      const failures: unknown[] = [];
      await revokeToken(env.TOKEN_LIMITER, token.id).catch((err: unknown) => failures.push(err));
      await deleteTokenProjection(env.TOKENS_KV, token.secret_hash).catch((err: unknown) => failures.push(err));
      forgetTokenRecord(token.secret_hash);
      return failures.map((err) => ({ tokenId: token.id, err }));
    }),
  );
  const failures = outcomes.flat();
  if (failures.length > 0) {
    console.error(JSON.stringify({ level: "error", msg: "revocation propagation failed", failures: failures.map((f) => ({ token_id: f.tokenId, error: String(f.err) })) }));
    throw revocationIncomplete();
  }
}
