import { invalidRequest, tokenLimitReached } from "../errors";
import { type AccessTokenRow, getAccessToken, insertSuccessorWithinLimit, shortenExpiry } from "../store/access-tokens";
import { insertAuditIfTokenInserted } from "../store/audit";
import { runBatch } from "../store/batch";
import type { Deployment } from "../store/deployments";
import { getTier } from "../store/tiers";
import type { Caller } from "./actor";
import { type CreatedToken, policyDetail, prepareToken } from "./access-tokens";
import { auditEntry } from "./audit";
import { publishProjections, recordFor, spreadExpiry } from "./propagation";

/**
 * Rotation with overlap: a successor with the same type, tenant, policies and description, and
 * the replaced token's expiry brought forward to now + overlap (never later than one it had).
 * Both work during the overlap; the pair takes two places in the tier's cap only while both are
 * alive (an overlap of 0 rotates a token even at the cap). One batch: the successor, the new
 * expiry and one audit row linking both ids — all or nothing.
 */

export interface RotatedToken extends CreatedToken {
  /** The replaced token, with the expiry the rotation gave it. */
  replaced: AccessTokenRow & { expires_at: number };
}

/** Why a token cannot be rotated (400 on `tokenId`), or undefined while it is live. */
function notRotatable(token: AccessTokenRow, now: number): string | undefined {
  if (token.revoked_at !== null) return "is revoked and cannot be rotated; create a new token instead";
  if (token.expires_at !== null && token.expires_at <= now) {
    return `expired at ${new Date(token.expires_at).toISOString()} and cannot be rotated; create a new token instead`;
  }
  return undefined;
}

/**
 * The successor's expiry: the one asked for, else the replaced token's lifetime counted again from
 * now (a token created for 30 days is replaced by one for 30 days), else none.
 */
function successorExpiry(token: AccessTokenRow, now: number, asked: number | undefined): number | undefined {
  if (asked !== undefined) return asked;
  return token.expires_at === null ? undefined : now + (token.expires_at - token.created_at);
}

export async function rotateToken(
  env: Env,
  caller: Caller,
  deployment: Deployment,
  token: AccessTokenRow,
  options: { overlapSeconds: number; expiresAt?: number },
): Promise<RotatedToken> {
  const now = Date.now();
  const problem = notRotatable(token, now);
  if (problem) throw invalidRequest("tokenId", problem);
  const tier = await getTier(env.DB, deployment.tier_id);
  if (!tier) throw new Error(`deployment ${deployment.id} names missing tier ${deployment.tier_id}`);

  const input = {
    type: token.type,
    description: token.description,
    ...(token.tenant_id !== null ? { tenantId: token.tenant_id } : {}),
    ...(token.allowed_networks !== null ? { allowedNetworks: token.allowed_networks } : {}),
    ...(token.labels !== null ? { labels: token.labels } : {}),
  };
  const expiresAt = successorExpiry(token, now, options.expiresAt);
  const creation = await prepareToken(env, caller, deployment, { ...input, ...(expiresAt !== undefined ? { expiresAt } : {}) }, now);
  const successor = creation.token;
  const replacedExpiry = Math.min(token.expires_at ?? Number.POSITIVE_INFINITY, now + options.overlapSeconds * 1000);
  const detail = {
    successor_id: successor.id,
    overlap_seconds: options.overlapSeconds,
    expires_at: new Date(replacedExpiry).toISOString(),
    type: successor.type,
    description: successor.description,
    ...policyDetail(successor),
  };
  const results = await runBatch(env.DB, {
    successor: insertSuccessorWithinLimit(env.DB, successor, token.id, replacedExpiry),
    replaced: shortenExpiry(env.DB, token.id, successor.id, replacedExpiry),
    audit: insertAuditIfTokenInserted(env.DB, auditEntry(caller, now, "access_token.rotate", { target: token.id, deployment: deployment.id, detail }), successor.id),
  });
  if (results.successor.meta.changes !== 1) {
    // Revoked or expired meanwhile (a concurrent change won), else the cap held it back.
    const current = await getAccessToken(env.DB, deployment.id, token.id);
    const lost = current ? notRotatable(current, now) : "no longer exists";
    if (lost) throw invalidRequest("tokenId", lost);
    throw tokenLimitReached(tier.access_token_limit);
  }
  const replaced = { ...token, expires_at: replacedExpiry };
  await publishProjections(env, [
    { secretHash: successor.secret_hash, record: recordFor(successor, deployment, tier) },
    { secretHash: token.secret_hash, record: recordFor(replaced, deployment, tier) },
  ]);
  await spreadExpiry(env, replaced);
  return { token: successor, secret: creation.secret, replaced };
}
