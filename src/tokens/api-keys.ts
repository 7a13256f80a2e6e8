import { invalidRequest, notFound } from "../errors";
import { type ApiKeyRow, type ApiKeySummary, getApiKey, insertApiKey, revokeApiKey as revokeApiKeyRow } from "../store/api-keys";
import { insertAudit, insertAuditIfApiKeyRevokedNow } from "../store/audit";
import { runBatch } from "../store/batch";
import { liveDeploymentIds } from "../store/deployments";
import { hashSecret } from "../token/crypto";
import { API_KEY_PREFIX, generateSecret } from "../token/format";
import type { Actor, Caller } from "./actor";
import { auditEntry } from "./audit";
import type { ApiKeyAccess } from "./vocabulary";

/**
 * Management API keys: created (never wider or longer-lived than their creator), found, revoked.
 * A key is stored as its hash only; the secret is returned once, by `createApiKey`.
 */

export interface NewApiKey {
  name: string;
  access: ApiKeyAccess;
  /** Deployments the key may see; null: all, future ones included. */
  deploymentIds: readonly string[] | null;
  /** Epoch ms; null: never expires. */
  expiresAt: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What a creator may grant: no expiry later than its own (bootstrap never expires). Access and
 * scope cannot exceed it either, since only all-scope read-write keys get here.
 */
function checkGrant(actor: Actor, expiresAt: number | null, now: number): void {
  if (expiresAt !== null && expiresAt <= now) throw invalidRequest("expires_at", "must be in the future");
  if (actor.expiresAt !== null && (expiresAt === null || expiresAt > actor.expiresAt)) {
    throw invalidRequest("expires_at", `must be at or before ${iso(actor.expiresAt)}, when the key creating it expires`);
  }
}

/** Creates a key after checking the grant and that every named deployment is live. Audited. */
export async function createApiKey(env: Env, caller: Caller, input: NewApiKey): Promise<{ key: ApiKeyRow; secret: string }> {
  const now = Date.now();
  checkGrant(caller.actor, input.expiresAt, now);
  const { deploymentIds } = input;
  if (deploymentIds !== null) {
    const live = await liveDeploymentIds(env.DB, deploymentIds);
    const missing = deploymentIds.findIndex((id) => !live.has(id));
    if (missing >= 0) throw invalidRequest(`deployment_ids.${missing}`, `no deployment ${JSON.stringify(deploymentIds[missing])}; list them with GET /admin/api/v1/deployments`);
  }
  const secret = generateSecret(API_KEY_PREFIX);
  const key: ApiKeyRow = {
    id: crypto.randomUUID(),
    name: input.name,
    key_hash: await hashSecret(secret),
    access: input.access,
    deployment_ids: deploymentIds === null ? null : JSON.stringify(deploymentIds),
    expires_at: input.expiresAt,
    revoked_at: null,
    created_at: now,
    created_by: caller.actor.name,
  };
  const detail = {
    name: key.name,
    access: key.access,
    ...(deploymentIds !== null ? { deployment_ids: deploymentIds } : {}),
    ...(input.expiresAt !== null ? { expires_at: iso(input.expiresAt) } : {}),
  };
  await runBatch(env.DB, {
    key: insertApiKey(env.DB, key),
    audit: insertAudit(env.DB, auditEntry(caller, now, "api_key.create", { target: key.id, deployment: null, detail })),
  });
  return { key, secret };
}

/** A stored key, revoked ones included; else 404. */
export async function findApiKey(env: Env, id: string): Promise<ApiKeySummary> {
  const key = await getApiKey(env.DB, id);
  if (!key) throw notFound(`No API key ${JSON.stringify(id)}: list them with GET /admin/api/v1/api_keys.`);
  return key;
}

/** Revokes a key: refused from its next request on. Idempotent; audited once. */
export async function revokeApiKey(env: Env, caller: Caller, key: ApiKeySummary): Promise<void> {
  if (key.revoked_at !== null) return;
  const now = Date.now();
  // The audit row exists only if this UPDATE revoked the key: a concurrent repeat adds none.
  await runBatch(env.DB, {
    revoke: revokeApiKeyRow(env.DB, key.id, now),
    audit: insertAuditIfApiKeyRevokedNow(env.DB, auditEntry(caller, now, "api_key.revoke", { target: key.id, deployment: null, detail: { name: key.name } })),
  });
}
