import { invalidRequest } from "../errors";
import { revokeDeploymentTokens, revokedTokens } from "../store/access-tokens";
import { insertAudit, insertAuditForLiveTokens } from "../store/audit";
import { runBatch } from "../store/batch";
import { type Deployment, insertDeployment, markDeploymentDeleted, updateDeployment as writeDeployment } from "../store/deployments";
import { getTier, type TierRow } from "../store/tiers";
import { loadDeploymentTokenRecords } from "../store/token-projection";
import type { Caller } from "./actor";
import { auditEntry } from "./audit";
import { completeToken, prepareToken } from "./access-tokens";
import { propagateRevocations, publishProjections } from "./propagation";
import { DEFAULT_TOKEN_DESCRIPTION, type DeploymentType } from "./vocabulary";

/**
 * A deployment's life: registered with its default token (created like any other token, within
 * the tier's cap), changed (every usable token's projection rewritten), deleted (every token
 * revoked and propagated). Each step is one D1 batch with its audit rows.
 */

export type NewDeployment = { name: string; tier: number } & (
  | { type: "single_node"; upstream_url: string }
  | { type: "cluster"; insert_url: string; select_url: string }
);

/** Fields a change may name; the others are kept. `type` may be given but not changed. */
export interface DeploymentChanges {
  name?: string;
  type?: DeploymentType;
  tier?: number;
  upstream_url?: string;
  insert_url?: string;
  select_url?: string;
}

/**
 * The tier a request names, which must exist. A tier's `type` is informative only: here a tier is
 * a set of token limits, so any tier may serve either deployment type.
 */
async function tierFor(env: Env, tierId: number): Promise<TierRow> {
  const tier = await getTier(env.DB, tierId);
  if (!tier) throw invalidRequest("tier", `no tier with id ${tierId}; list them with GET /admin/api/v1/tiers`);
  return tier;
}

/** Registers a deployment and creates its default `rw` token in the same batch. Audited (both). */
export async function registerDeployment(env: Env, caller: Caller, input: NewDeployment): Promise<Deployment> {
  const tier = await tierFor(env, input.tier);
  const now = Date.now();
  const deployment: Deployment = {
    id: crypto.randomUUID(),
    name: input.name,
    type: input.type,
    tier_id: tier.id,
    upstream_url: input.type === "single_node" ? input.upstream_url : null,
    insert_url: input.type === "cluster" ? input.insert_url : null,
    select_url: input.type === "cluster" ? input.select_url : null,
    created_at: now,
    updated_at: now,
  };
  const creation = await prepareToken(env, caller, deployment, { type: "rw", description: DEFAULT_TOKEN_DESCRIPTION }, now);
  const results = await runBatch(env.DB, {
    deployment: insertDeployment(env.DB, deployment),
    token: creation.statements.token,
    deploymentAudit: insertAudit(
      env.DB,
      auditEntry(caller, now, "deployment.create", { target: deployment.id, deployment: deployment.id, detail: { name: deployment.name, type: deployment.type, tier: tier.id } }),
    ),
    tokenAudit: creation.statements.tokenAudit,
  });
  // Every tier allows at least one token (a CHECK in the schema), so the default one fits.
  await completeToken(env, creation, results.token, deployment, tier);
  return deployment;
}

/** Applies the changes a request names (400 for one that does not fit), audited with what changed. */
export async function changeDeployment(env: Env, caller: Caller, current: Deployment, changes: DeploymentChanges): Promise<Deployment> {
  if (Object.keys(changes).length === 0) {
    throw invalidRequest("body", "give at least one of name, tier, upstream_url, insert_url, select_url");
  }
  if (changes.type !== undefined && changes.type !== current.type) {
    throw invalidRequest("type", "cannot be changed; create a new deployment instead");
  }
  const urlFields = current.type === "single_node" ? (["insert_url", "select_url"] as const) : (["upstream_url"] as const);
  for (const field of urlFields) {
    if (changes[field] !== undefined) throw invalidRequest(field, `does not apply to ${current.type} deployments`);
  }
  if (changes.tier !== undefined) await tierFor(env, changes.tier);

  const now = Date.now();
  const next: Deployment = {
    ...current,
    name: changes.name ?? current.name,
    tier_id: changes.tier ?? current.tier_id,
    upstream_url: changes.upstream_url ?? current.upstream_url,
    insert_url: changes.insert_url ?? current.insert_url,
    select_url: changes.select_url ?? current.select_url,
    updated_at: now,
  };
  const changed = (["name", "tier_id", "upstream_url", "insert_url", "select_url"] as const).filter((k) => next[k] !== current[k]);
  const detail = Object.fromEntries(changed.map((k) => [k === "tier_id" ? "tier" : k, next[k]]));
  await runBatch(env.DB, {
    update: writeDeployment(env.DB, next),
    audit: insertAudit(env.DB, auditEntry(caller, now, "deployment.update", { target: current.id, deployment: current.id, detail })),
  });
  // Routing or concurrency may have changed: every usable token's projection is rewritten.
  await publishProjections(env, await loadDeploymentTokenRecords(env.DB, current.id));
  return next;
}

/** Revokes every token of the deployment (one audit row each), hides it, and propagates the revocations. */
export async function deleteDeployment(env: Env, caller: Caller, deployment: Deployment): Promise<void> {
  const now = Date.now();
  const results = await runBatch(env.DB, {
    // One access_token.revoke row per token the next statement revokes.
    tokenAudits: insertAuditForLiveTokens(env.DB, deployment.id, { at: now, requestId: caller.requestId, actor: caller.actor, detail: { reason: "deployment deleted" } }),
    revoked: revokeDeploymentTokens(env.DB, deployment.id, now),
    deleted: markDeploymentDeleted(env.DB, deployment.id, now),
    audit: insertAudit(env.DB, auditEntry(caller, now, "deployment.delete", { target: deployment.id, deployment: deployment.id })),
  });
  await propagateRevocations(env, revokedTokens(results.revoked));
}
