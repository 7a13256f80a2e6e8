import { encryptionKeyMismatch, invalidRequest, notFound, tokenLimitReached } from "../errors";
import {
  type AccessTokenPosition,
  type AccessTokenRow,
  type AccessTokenSummary,
  insertAccessTokenWithinLimit,
  listAccessTokens,
  revokeAccessToken,
} from "../store/access-tokens";
import { insertAudit, insertAuditIfTokenExists } from "../store/audit";
import { runBatch } from "../store/batch";
import type { Deployment } from "../store/deployments";
import { getTier, type TierRow } from "../store/tiers";
import { decryptSecret, encryptSecret, hashSecret } from "../token/crypto";
import { generateSecret, maskSecret } from "../token/format";
import type { Caller } from "./actor";
import { auditEntry } from "./audit";
import { propagateRevocations, publishProjections, recordFor } from "./propagation";
import type { AccessLevel } from "./vocabulary";

/**
 * An access token's life: created within its tier's cap (a deployment's default token too),
 * listed with a masked value, revealed with an audit row first, revoked and propagated. Each
 * step writes D1 and its audit row in one batch, then publishes to the edge.
 */

/** What a caller chooses about a new token. */
export interface NewTokenInput {
  type: AccessLevel;
  description: string;
  /** Cluster only: the tenant the token is pinned to. */
  tenantId?: string;
  /** Epoch milliseconds, in the future; absent: never expires. */
  expiresAt?: number;
  /** Canonical CIDRs (already validated by the request schema); absent: every address. */
  allowedNetworks?: string[];
  /** Validated label scope; absent: none. */
  labels?: Record<string, string>;
}

/** A created token: its row and the whole secret, returned once and never stored in clear. */
export interface CreatedToken {
  token: AccessTokenRow;
  secret: string;
}

/** A listed token: its summary and the masked value a list shows. */
export type ListedToken = AccessTokenSummary & { masked: string };

/** The statements that create a token, for a batch of their own or the one creating its deployment. */
export interface TokenCreation extends CreatedToken {
  statements: { token: D1PreparedStatement; tokenAudit: D1PreparedStatement };
}

/** Mints a secret (hash + sealed copy) and prepares the insert within the cap and its audit row. */
export async function prepareToken(env: Env, caller: Caller, deployment: Deployment, input: NewTokenInput, now: number): Promise<TokenCreation> {
  if (input.tenantId !== undefined && deployment.type !== "cluster") {
    throw invalidRequest("tenant_id", "only cluster deployments have tenants; omit it for a single_node deployment");
  }
  if (input.expiresAt !== undefined && input.expiresAt <= now) throw invalidRequest("expires_at", "must be in the future");
  const id = crypto.randomUUID();
  const secret = generateSecret();
  const token: AccessTokenRow = {
    id,
    deployment_id: deployment.id,
    secret_hash: await hashSecret(secret),
    secret_sealed: await encryptSecret(env.TOKEN_ENCRYPTION_KEY, secret, id),
    type: input.type,
    description: input.description,
    tenant_id: input.tenantId ?? null,
    created_by: caller.actor.name,
    created_at: now,
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
    last_used_at: null,
    allowed_networks: input.allowedNetworks ?? null,
    labels: input.labels ?? null,
  };
  const detail = { type: token.type, description: token.description, ...policyDetail(token) };
  return {
    token,
    secret,
    statements: {
      token: insertAccessTokenWithinLimit(env.DB, token),
      tokenAudit: insertAuditIfTokenExists(env.DB, auditEntry(caller, now, "access_token.create", { target: id, deployment: deployment.id, detail })),
    },
  };
}

/** The audit detail of what a token enforces besides its type (non-secret; absent when unset). */
export function policyDetail(token: AccessTokenRow): Record<string, unknown> {
  return {
    ...(token.tenant_id ? { tenant_id: token.tenant_id } : {}),
    ...(token.expires_at !== null ? { expires_at: new Date(token.expires_at).toISOString() } : {}),
    ...(token.allowed_networks ? { allowed_networks: token.allowed_networks } : {}),
    ...(token.labels ? { labels: token.labels } : {}),
  };
}

/** After the batch: refuses with 409 when the cap held the insert back, else publishes the projection. */
export async function completeToken(env: Env, creation: TokenCreation, inserted: D1Result, deployment: Deployment, tier: TierRow): Promise<CreatedToken> {
  if (inserted.meta.changes !== 1) throw tokenLimitReached(tier.access_token_limit);
  const { token, secret } = creation;
  await publishProjections(env, [{ secretHash: token.secret_hash, record: recordFor(token, deployment, tier) }]);
  return { token, secret };
}

/** Creates a token in a deployment, within its tier's `access_token_limit` (409 beyond). Audited. */
export async function createToken(env: Env, caller: Caller, deployment: Deployment, input: NewTokenInput): Promise<CreatedToken> {
  const tier = await getTier(env.DB, deployment.tier_id);
  if (!tier) throw new Error(`deployment ${deployment.id} names missing tier ${deployment.tier_id}`);
  const creation = await prepareToken(env, caller, deployment, input, Date.now());
  const results = await runBatch(env.DB, creation.statements);
  return completeToken(env, creation, results.token, deployment, tier);
}

/** What a list shows for a secret the current TOKEN_ENCRYPTION_KEY cannot open. */
export const UNREADABLE_MASK = "????";

/** A token's secret; 503 naming TOKEN_ENCRYPTION_KEY when the key in use did not seal it. */
async function openSecret(env: Env, token: Pick<AccessTokenRow, "id" | "secret_sealed">): Promise<string> {
  try {
    return await decryptSecret(env.TOKEN_ENCRYPTION_KEY, token.secret_sealed, token.id);
  } catch {
    throw encryptionKeyMismatch();
  }
}

/**
 * Live tokens of a deployment, oldest first, paged. A list shows the last characters of each
 * secret (token/format.ts `maskSecret`): they tell tokens apart, unlike the shared prefix. A
 * secret the current key cannot open shows as "????": the list, and so revoking, keeps working.
 */
export async function listTokens(env: Env, deployment: Deployment, page: { after?: AccessTokenPosition; limit?: number }): Promise<ListedToken[]> {
  const rows = await listAccessTokens(env.DB, deployment.id, page);
  return Promise.all(
    rows.map(async ({ secret_sealed, ...summary }) => ({
      ...summary,
      masked: await openSecret(env, { id: summary.id, secret_sealed }).then(maskSecret, () => UNREADABLE_MASK),
    })),
  );
}

/** A live token's secret, after its audit row is written: no unaudited reveal. 404 once revoked. */
export async function revealToken(env: Env, caller: Caller, token: AccessTokenRow, via?: "examples"): Promise<string> {
  if (token.revoked_at !== null) throw notFound("This access token was revoked: create a new one.");
  const secret = await openSecret(env, token);
  const about = { target: token.id, deployment: token.deployment_id, ...(via ? { detail: { via } } : {}) };
  await insertAudit(env.DB, auditEntry(caller, Date.now(), "access_token.reveal", about)).run();
  return secret;
}

/**
 * Revokes a token in D1 (audited once) and spreads it to the edge. A repeat spreads it again:
 * a revocation whose propagation failed half-way is finished by retrying.
 */
export async function revokeToken(env: Env, caller: Caller, token: AccessTokenRow): Promise<void> {
  if (token.revoked_at === null) {
    const now = Date.now();
    await runBatch(env.DB, {
      revoke: revokeAccessToken(env.DB, token.id, now),
      audit: insertAudit(env.DB, auditEntry(caller, now, "access_token.revoke", { target: token.id, deployment: token.deployment_id })),
    });
  }
  await propagateRevocations(env, [token]);
}
