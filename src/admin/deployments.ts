import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError } from "../errors";
import { type Deployment, listDeployments } from "../store/deployments";
import { changeDeployment, deleteDeployment, findDeployment, registerDeployment } from "../tokens";
import { requireAllDeployments, requireWrite } from "./auth";
import type { AdminEnv } from "./context";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { CreatedPosition, decodeCursor, pageOf, rowsToFetch } from "./pagination";
import { Deployment as DeploymentJson } from "./response-schemas";
import { CreateDeploymentBody, DeploymentId, PageQuery, UpdateDeploymentBody } from "./schemas";
import { jsonRequest } from "./validation";

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

const DeploymentParams = z.object({ id: DeploymentId });

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
    const deployment = await registerDeployment(c.env, c.var, c.req.valid("json"));
    return c.json(deploymentJson(deployment, c.env), 201);
  })

  .openapi(getRoute, async function getDeploymentHandler(c) {
    const deployment = await findDeployment(c.env, c.var.actor, c.req.valid("param").id);
    return c.json(deploymentJson(deployment, c.env), 200);
  })

  .openapi(updateRoute, async function updateDeploymentHandler(c) {
    const current = await findDeployment(c.env, c.var.actor, c.req.valid("param").id);
    const next = await changeDeployment(c.env, c.var, current, c.req.valid("json"));
    return c.json(deploymentJson(next, c.env), 200);
  })

  .openapi(deleteRoute, async function deleteDeploymentHandler(c) {
    await deleteDeployment(c.env, c.var, await findDeployment(c.env, c.var.actor, c.req.valid("param").id));
    return c.body(null, 204);
  })

  .on(["POST", "PATCH"], "/:id", function deploymentMethodNotAllowed() {
    throw new HttpError(405, "method_not_allowed", "Use PUT to change a deployment, DELETE to delete it.", { allow: "GET, PUT, DELETE" });
  });
