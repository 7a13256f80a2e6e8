import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
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
import { canAccessDeployment, requireAllDeployments, requireWrite } from "./auth";
import type { Actor, AdminEnv } from "./context";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { CreatedPosition, decodeCursor, pageOf, rowsToFetch } from "./pagination";
import { Deployment as DeploymentJson } from "./response-schemas";
import { CreateDeploymentBody, PageQuery, UpdateDeploymentBody } from "./schemas";
import { mintAccessToken, propagateRevocations, publishProjections, recordFor } from "./token-lifecycle";
import { invalidRequest, jsonRequest } from "./validation";

/** Deployments: the upstreams tokens route to. Mounted at /api/v1/deployments. */

/** The JSON of a deployment: VictoriaMetrics Cloud's field names plus our upstream URLs. */
export function deploymentJson(d: Deployment, env: Env): DeploymentJson {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    tier: d.tier_id,
    created_at: new Date(d.created_at).toISOString(),
    // VictoriaMetrics Cloud's DeploymentStatus values are upper case; ours is always running.
    status: "RUNNING" as const,
    access_endpoint: env.ACCESS_ENDPOINT,
    ...(d.type === "single_node" ? { upstream_url: d.upstream_url ?? "" } : { insert_url: d.insert_url ?? "", select_url: d.select_url ?? "" }),
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

/** The `{id}` of a deployment path. Any string: an unknown or out-of-scope id answers 404. */
export const DeploymentParams = z.object({ id: z.string().meta({ description: "Deployment id" }) });

const tags = ["deployments"];

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listDeployments",
  tags,
  summary: "List deployments",
  description: "Live deployments the API key may see, oldest first. A plain array; pages with `limit`/`cursor`.",
  request: { query: PageQuery },
  responses: {
    200: { description: "Deployments", headers: PAGE_HEADERS, content: jsonContent(z.array(DeploymentJson)) },
    ...errors(400),
  },
});

const createDeploymentRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createDeployment",
  tags,
  summary: "Register a deployment",
  description:
    "Registers an upstream (`upstream_url` for single_node, `insert_url` + `select_url` for cluster) and creates its default `rw` access token. Needs a read-write key scoped to all deployments. Audited.",
  middleware: [requireWrite, requireAllDeployments, jsonRequest] as const,
  request: { body: { required: true, content: jsonContent(CreateDeploymentBody) } },
  responses: {
    201: { description: "Created", content: jsonContent(DeploymentJson) },
    ...errors(400, 403, 413),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getDeployment",
  tags,
  summary: "Get a deployment",
  request: { params: DeploymentParams },
  responses: {
    200: { description: "The deployment", content: jsonContent(DeploymentJson) },
    ...errors(404),
  },
});

const updateRoute = createRoute({
  method: "put",
  path: "/{id}",
  operationId: "updateDeployment",
  tags,
  summary: "Change a deployment",
  description:
    "Changes the fields given and keeps the others; `type` may be sent but not changed. Rewrites the KV projection of every usable token. Audited with the fields changed.",
  middleware: [requireWrite, jsonRequest] as const,
  request: { params: DeploymentParams, body: { required: true, content: jsonContent(UpdateDeploymentBody) } },
  responses: {
    200: { description: "The deployment as changed", content: jsonContent(DeploymentJson) },
    ...errors(400, 403, 404, 413),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteDeployment",
  tags,
  summary: "Delete a deployment",
  description: "Revokes every token of the deployment (D1, Durable Object, KV) and hides it. Audited, with one revoke entry per token.",
  middleware: [requireWrite] as const,
  request: { params: DeploymentParams },
  responses: {
    204: { description: "Deleted" },
    ...errors(403, 404, 503),
  },
});

export const deploymentsApp = new OpenAPIHono<AdminEnv>()
  .openapi(listRoute, async function listDeploymentsHandler(c) {
    const { limit, cursor } = c.req.valid("query");
    const after = decodeCursor(cursor, CreatedPosition);
    const rows = await listDeployments(c.env.DB, c.var.actor.deploymentIds, { after, limit: rowsToFetch(limit) });
    const page = pageOf(c, rows, limit, (d) => [d.created_at, d.id]);
    return c.json(page.map((d) => deploymentJson(d, c.env)), 200);
  })

  .openapi(createDeploymentRoute, async function createDeploymentHandler(c) {
    const { actor, requestId } = c.var;
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

  .openapi(getRoute, async function getDeploymentHandler(c) {
    return c.json(deploymentJson(await findDeployment(c.env.DB, c.var.actor, c.req.valid("param").id), c.env), 200);
  })

  .openapi(updateRoute, async function updateDeploymentHandler(c) {
    const { actor, requestId } = c.var;
    const current = await findDeployment(c.env.DB, actor, c.req.valid("param").id);
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
    return c.json(deploymentJson(next, c.env), 200);
  })

  .openapi(deleteRoute, async function deleteDeploymentHandler(c) {
    const { actor, requestId } = c.var;
    const deployment = await findDeployment(c.env.DB, actor, c.req.valid("param").id);
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
