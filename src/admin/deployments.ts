import { Hono } from "hono";
import { HttpError, notFound } from "../errors";
import { insertAccessToken, revokeDeploymentTokens, type TokenRef } from "../store/access-tokens";
import { insertAudit, insertAuditForLiveTokens } from "../store/audit";
import {
  type Deployment,
  getDeployment,
  insertDeployment,
  listDeployments,
  markDeploymentDeleted,
  updateDeployment,
} from "../store/deployments";
import { getTier, type Tier } from "../store/tiers";
import { loadDeploymentTokenRecords } from "../store/token-projection";
import { canAccessDeployment, requireWrite } from "./auth";
import type { Actor, AdminEnv } from "./context";
import { CreateDeploymentBody, UpdateDeploymentBody } from "./schemas";
import { mintAccessToken, propagateRevocations, publishProjections, recordFor } from "./token-lifecycle";
import { invalidRequest, jsonBody } from "./validation";

/** Deployments: the upstreams tokens route to. Mounted at /api/v1/deployments. */

/** The JSON of a deployment: VictoriaMetrics Cloud's field names plus our upstream URLs. */
export function deploymentJson(d: Deployment, env: Env) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    tier: d.tier_id,
    created_at: new Date(d.created_at).toISOString(),
    // VictoriaMetrics Cloud's DeploymentStatus values are upper case; ours is always running.
    status: "RUNNING",
    access_endpoint: env.ACCESS_ENDPOINT,
    ...(d.type === "single_node" ? { upstream_url: d.upstream_url } : { insert_url: d.insert_url, select_url: d.select_url }),
  };
}

/** A live deployment the actor may see, or 404 (out-of-scope ids look unknown). */
export async function findDeployment(db: D1Database, actor: Actor, id: string): Promise<Deployment> {
  const deployment = canAccessDeployment(actor, id) ? await getDeployment(db, id) : null;
  if (!deployment) throw notFound(`No deployment ${JSON.stringify(id)}: list them with GET /admin/api/v1/deployments.`);
  return deployment;
}

/**
 * The tier named in a body, which must exist. A tier's `type` is informative only: here a tier is
 * a set of token limits, so any tier may serve either deployment type.
 */
async function tierFor(db: D1Database, tierId: number): Promise<Tier> {
  const tier = await getTier(db, tierId);
  if (!tier) throw invalidRequest("tier", `no tier with id ${tierId}; list them with GET /admin/api/v1/tiers`);
  return tier;
}

export const deploymentsApp = new Hono<AdminEnv>()
  .get("/", async function listDeploymentsRoute(c) {
    const deployments = await listDeployments(c.env.DB, c.var.actor.deploymentIds);
    return c.json(deployments.map((d) => deploymentJson(d, c.env)));
  })

  .post("/", requireWrite, jsonBody(CreateDeploymentBody), async function createDeploymentRoute(c) {
    const { actor, requestId } = c.var;
    if (actor.deploymentIds !== null) {
      throw new HttpError(403, "forbidden", "This API key is limited to some deployments: creating one needs a key scoped to all deployments.");
    }
    const body = c.req.valid("json");
    const tier = await tierFor(c.env.DB, body.tier);
    const now = Date.now();
    const deployment: Deployment = {
      id: crypto.randomUUID(),
      name: body.name,
      type: body.type,
      tier_id: tier.id,
      upstream_url: body.type === "single_node" ? body.upstream_url : null,
      insert_url: body.type === "cluster" ? body.insert_url : null,
      select_url: body.type === "cluster" ? body.select_url : null,
      created_at: now,
      updated_at: now,
    };
    const { row } = await mintAccessToken(c.env, {
      deploymentId: deployment.id,
      type: "rw",
      description: "default",
      tenantId: undefined,
      actor,
      now,
    });
    const audit = { at: now, requestId, actor, deploymentId: deployment.id };
    await c.env.DB.batch([
      insertDeployment(c.env.DB, deployment),
      insertAccessToken(c.env.DB, row),
      insertAudit(c.env.DB, { ...audit, action: "deployment.create", targetType: "deployment", targetId: deployment.id, detail: { name: deployment.name, type: deployment.type, tier: tier.id } }),
      insertAudit(c.env.DB, { ...audit, action: "access_token.create", targetType: "access_token", targetId: row.id, detail: { type: row.type, description: row.description } }),
    ]);
    await publishProjections(c.env, [{ secretHash: row.secret_hash, record: recordFor(row, deployment, tier) }]);
    return c.json(deploymentJson(deployment, c.env), 201);
  })

  .get("/:id", async function getDeploymentRoute(c) {
    return c.json(deploymentJson(await findDeployment(c.env.DB, c.var.actor, c.req.param("id")), c.env));
  })

  .put("/:id", requireWrite, jsonBody(UpdateDeploymentBody), async function updateDeploymentRoute(c) {
    const { actor, requestId } = c.var;
    const current = await findDeployment(c.env.DB, actor, c.req.param("id"));
    const body = c.req.valid("json");
    if (Object.keys(body).length === 0) {
      throw invalidRequest("body", "give at least one of name, tier, upstream_url, insert_url, select_url");
    }
    if (body.type !== undefined && body.type !== current.type) {
      throw invalidRequest("type", "cannot be changed; create a new deployment instead");
    }
    const urlFields = current.type === "single_node" ? ["insert_url", "select_url"] : ["upstream_url"];
    for (const field of urlFields) {
      if (body[field as keyof typeof body] !== undefined) throw invalidRequest(field, `does not apply to ${current.type} deployments`);
    }
    if (body.tier !== undefined) await tierFor(c.env.DB, body.tier);

    const now = Date.now();
    const next: Deployment = {
      ...current,
      name: body.name ?? current.name,
      tier_id: body.tier ?? current.tier_id,
      upstream_url: body.upstream_url ?? current.upstream_url,
      insert_url: body.insert_url ?? current.insert_url,
      select_url: body.select_url ?? current.select_url,
      updated_at: now,
    };
    const changed = (["name", "tier_id", "upstream_url", "insert_url", "select_url"] as const).filter((k) => next[k] !== current[k]);
    const detail = Object.fromEntries(changed.map((k) => [k === "tier_id" ? "tier" : k, next[k]]));
    await c.env.DB.batch([
      updateDeployment(c.env.DB, next),
      insertAudit(c.env.DB, { at: now, requestId, actor, action: "deployment.update", targetType: "deployment", targetId: current.id, deploymentId: current.id, detail }),
    ]);
    // Routing or concurrency may have changed: every usable token's projection is rewritten.
    await publishProjections(c.env, await loadDeploymentTokenRecords(c.env.DB, current.id));
    return c.json(deploymentJson(next, c.env));
  })

  .delete("/:id", requireWrite, async function deleteDeploymentRoute(c) {
    const { actor, requestId } = c.var;
    const deployment = await findDeployment(c.env.DB, actor, c.req.param("id"));
    const now = Date.now();
    const audit = { at: now, requestId, actor };
    const results = await c.env.DB.batch([
      insertAuditForLiveTokens(c.env.DB, deployment.id, { ...audit, detail: { reason: "deployment deleted" } }),
      revokeDeploymentTokens(c.env.DB, deployment.id, now),
      markDeploymentDeleted(c.env.DB, deployment.id, now),
      insertAudit(c.env.DB, { ...audit, action: "deployment.delete", targetType: "deployment", targetId: deployment.id, deploymentId: deployment.id }),
    ]);
    const revoked = (results[1]?.results ?? []) as TokenRef[];
    await propagateRevocations(c.env, revoked);
    return c.body(null, 204);
  })

  .on(["POST", "PATCH"], "/:id", function deploymentMethodNotAllowed() {
    throw new HttpError(405, "method_not_allowed", "Use PUT to change a deployment, DELETE to delete it.", { allow: "GET, PUT, DELETE" });
  });
