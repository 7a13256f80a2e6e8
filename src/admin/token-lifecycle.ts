import { forgetTokenRecord } from "../data/lookup";
import { HttpError } from "../errors";
import { revokeToken } from "../limiter/permit-pool";
import type { AccessTokenRow, AccessType, TokenRef } from "../store/access-tokens";
import type { Deployment } from "../store/deployments";
import type { Tier } from "../store/tiers";
import type { TokenRecord } from "../store/token-record";
import { deleteTokenProjection, putTokenProjection, toTokenRecord } from "../store/token-projection";
import { encryptSecret, hashSecret } from "../token/crypto";
import { generateSecret } from "../token/format";
import type { Actor } from "./context";

/**
 * The steps of a token's life that touch more than D1: minting a secret (hash + sealed copy),
 * publishing the KV projection after D1 commits, and spreading a revocation committed in D1 to
 * the Durable Object, KV and this isolate's cache.
 */

export interface NewToken {
  row: AccessTokenRow;
  /** The whole secret: returned once in the create answer, never stored in clear. */
  secret: string;
}

export async function mintAccessToken(
  env: Env,
  input: { deploymentId: string; type: AccessType; description: string; tenantId: string | undefined; actor: Actor; now: number },
): Promise<NewToken> {
  const id = crypto.randomUUID();
  const secret = generateSecret();
  const row: AccessTokenRow = {
    id,
    deployment_id: input.deploymentId,
    secret_hash: await hashSecret(secret),
    secret_sealed: await encryptSecret(env.TOKEN_ENCRYPTION_KEY, secret, id),
    type: input.type,
    description: input.description,
    tenant_id: input.tenantId ?? null,
    created_by: input.actor.name,
    created_at: input.now,
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
  };
  return { row, secret };
}

/** The projection of a token just written, built from values in hand (no read-back). */
export function recordFor(token: AccessTokenRow, deployment: Deployment, tier: Tier): TokenRecord {
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
 * if another fails, so one failure does not leave a projection behind; failures are then thrown.
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
    throw new HttpError(503, "revocation_incomplete", "Revoked in the database, but not yet at every edge: retry the request to finish.");
  }
}
