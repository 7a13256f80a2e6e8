import { forgetTokenRecord } from "../data/lookup";
import { revocationIncomplete } from "../errors";
import { expireToken, revokeToken } from "../limiter/isolate-permits";
import type { AccessTokenRow, TokenRef } from "../store/access-tokens";
import type { Deployment } from "../store/deployments";
import type { TierRow } from "../store/tiers";
import { deleteTokenProjection, putTokenProjection, toTokenRecord } from "../store/token-projection";
import type { TokenRecord } from "../store/token-record";

/**
 * What follows a D1 commit at the edge: publishing a token's KV projection, and spreading a
 * revocation to the token's Durable Object, KV and this isolate's lookup cache.
 */

/** The projection of a token just written, built from values in hand (no read-back). */
export function recordFor(
  token: Pick<AccessTokenRow, "id" | "type" | "tenant_id" | "expires_at" | "allowed_networks" | "labels">,
  deployment: Deployment,
  tier: TierRow,
): TokenRecord {
  return toTokenRecord({
    token_id: token.id,
    access: token.type,
    tenant_id: token.tenant_id,
    expires_at: token.expires_at,
    allowed_networks: token.allowed_networks,
    labels: token.labels,
    deployment_id: deployment.id,
    deployment_type: deployment.type,
    upstream_url: deployment.upstream_url,
    insert_url: deployment.insert_url,
    select_url: deployment.select_url,
    concurrency: tier.access_token_concurrent_requests,
    max_wait_ms: tier.access_token_max_wait_ms,
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

/**
 * Spreads an expiry a rotation brought forward. The new expiry is already in D1 and the token's
 * KV projection (publishProjections; deleted when it is due within a minute), and this isolate
 * forgot its record; but other isolates keep the record they read for up to 30 s and remote KV
 * locations for 60 s or more. So the token's Durable Object, the authority revocation uses, is told
 * too: from `expires_at` on it answers every lease call as expired, and every isolate refuses the
 * token (401 `expired_token`) within one check-in — the revocation bound (docs/limiter.md).
 * Tried twice; if the object cannot be told, the rotation still stands (it is committed) and the
 * expiry takes effect from the records alone: logged, and DELETE on the old token stops it at once.
 */
export async function spreadExpiry(env: Env, token: TokenRef & { expires_at: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await expireToken(env.TOKEN_LIMITER, token.id, token.expires_at);
      return;
    } catch (err) {
      if (attempt < 2) continue;
      console.error(JSON.stringify({ level: "error", msg: "rotation: the old token's expiry did not reach its Durable Object", token_id: token.id, error: String(err) }));
      return;
    }
  }
}
