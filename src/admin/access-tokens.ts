import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError, notFound } from "../errors";
import {
  type AccessTokenRow,
  type AccessTokenSummary,
  getAccessToken,
  insertAccessTokenWithinLimit,
  listAccessTokens,
  revokeAccessToken,
} from "../store/access-tokens";
import { insertAudit, insertAuditIfTokenExists } from "../store/audit";
import type { Deployment } from "../store/deployments";
import { getTier } from "../store/tiers";
import { decryptSecret } from "../token/crypto";
import { ACCESS_TOKEN_PREFIX, maskSecret } from "../token/format";
import { requireWrite } from "./auth";
import type { Actor, AdminEnv } from "./context";
import { DeploymentParams, findDeployment } from "./deployments";
import { buildExamples } from "./examples";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { CreatedPosition, decodeCursor, pageOf, rowsToFetch } from "./pagination";
import { AccessToken, TokenExamples } from "./response-schemas";
import { CreateAccessTokenBody, PageQuery } from "./schemas";
import { mintAccessToken, propagateRevocations, publishProjections, recordFor } from "./token-lifecycle";
import { invalidRequest, jsonRequest } from "./validation";

/**
 * Access tokens of a deployment. Mounted at /api/v1/deployments, so paths carry the deployment.
 * Tokens are immutable: create, list, reveal, revoke.
 */

/** The JSON of a token (VictoriaMetrics Cloud's AccessToken): empty tenant and never-used time are omitted. */
export function accessTokenJson(t: AccessTokenSummary, value: string): AccessToken {
  return {
    id: t.id,
    value,
    type: t.type,
    description: t.description,
    created_by: t.created_by,
    created_at: new Date(t.created_at).toISOString(),
    ...(t.tenant_id ? { tenant_id: t.tenant_id } : {}),
    ...(t.last_used_at !== null ? { last_used_at: new Date(t.last_used_at).toISOString() } : {}),
  };
}

// Every secret starts with the fixed prefix, so its first four characters are known without
// decrypting anything: a list costs no crypto.
const MASKED_VALUE = maskSecret(ACCESS_TOKEN_PREFIX);

/** A token of a deployment the actor may see (revoked ones included), with its deployment; else 404. */
async function findToken(db: D1Database, actor: Actor, deploymentId: string, tokenId: string): Promise<{ deployment: Deployment; token: AccessTokenRow }> {
  const deployment = await findDeployment(db, actor, deploymentId);
  const token = await getAccessToken(db, deployment.id, tokenId);
  if (!token) throw notFound(`No access token ${JSON.stringify(tokenId)} in this deployment: list them with GET .../access_tokens.`);
  return { deployment, token };
}

function tokensAreImmutable(): never {
  throw new HttpError(405, "method_not_allowed", "Access tokens are immutable: create a new token and revoke the old one.", { allow: "GET, DELETE" });
}

/** Reveals a live token's secret after writing its audit row: no unaudited reveal. */
async function revealSecret(env: Env, token: AccessTokenRow, audit: { actor: Actor; requestId: string; via?: "examples" }): Promise<string> {
  if (token.revoked_at !== null) throw notFound("This access token was revoked: create a new one.");
  const secret = await decryptSecret(env.TOKEN_ENCRYPTION_KEY, token.secret_sealed, token.id);
  await insertAudit(env.DB, {
    at: Date.now(),
    requestId: audit.requestId,
    actor: audit.actor,
    action: "access_token.reveal",
    targetType: "access_token",
    targetId: token.id,
    deploymentId: token.deployment_id,
    ...(audit.via ? { detail: { via: audit.via } } : {}),
  }).run();
  return secret;
}

const DeploymentPath = z.object({ deploymentId: DeploymentParams.shape.id });
const TokenPath = DeploymentPath.extend({ tokenId: z.string().meta({ description: "Access token id" }) });
const tags = ["access tokens"];

const listRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/access_tokens",
  operationId: "listAccessTokens",
  tags,
  summary: "List access tokens",
  description: "Live tokens of the deployment, oldest first, `value` cut to its first 4 characters. A plain array (VictoriaMetrics Cloud shape); pages with `limit`/`cursor`.",
  request: { params: DeploymentPath, query: PageQuery },
  responses: {
    200: { description: "Tokens", headers: PAGE_HEADERS, content: jsonContent(z.array(AccessToken)) },
    ...errors(400, 404),
  },
});

const createTokenRoute = createRoute({
  method: "post",
  path: "/{deploymentId}/access_tokens",
  operationId: "createAccessToken",
  tags,
  summary: "Create an access token",
  description:
    "`tenant_id` (cluster only) pins the token to a tenant. The answer holds the whole secret in `value`. Refused with 409 when the tier's `access_token_limit` is reached. Audited. A request without Content-Type is read as JSON (the VictoriaMetrics Cloud client sends none).",
  middleware: [requireWrite, jsonRequest] as const,
  request: { params: DeploymentPath, body: { required: true, content: jsonContent(CreateAccessTokenBody) } },
  responses: {
    201: { description: "Created; `value` is the whole secret", content: jsonContent(AccessToken) },
    ...errors(400, 403, 404, 409, 413),
  },
});

const revealRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/access_tokens/{tokenId}",
  operationId: "revealAccessToken",
  tags,
  summary: "Reveal an access token",
  description: "The token with its whole secret in `value`. Needs a read-write key; audited before the secret leaves; answered with `cache-control: no-store`.",
  middleware: [requireWrite] as const,
  request: { params: TokenPath },
  responses: {
    200: { description: "The token, secret included", content: jsonContent(AccessToken) },
    ...errors(403, 404),
  },
});

const examplesRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/access_tokens/{tokenId}/examples",
  operationId: "accessTokenExamples",
  tags,
  summary: "Client configuration examples",
  description:
    "Ready-to-paste snippets with the secret and the right URL filled in: vmagent flags, Prometheus remote_write and curl for tokens that may write; a Grafana data source and curl for tokens that may read. Reveals the secret, so it needs the same permission as reveal and is audited as one (`detail.via = examples`).",
  middleware: [requireWrite] as const,
  request: { params: TokenPath },
  responses: {
    200: { description: "Examples", content: jsonContent(TokenExamples) },
    ...errors(403, 404),
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/{deploymentId}/access_tokens/{tokenId}",
  operationId: "revokeAccessToken",
  tags,
  summary: "Revoke an access token",
  description: "Refused at its next request at every edge (Durable Object), then removed from KV. Idempotent; audited once.",
  middleware: [requireWrite] as const,
  request: { params: TokenPath },
  responses: {
    204: { description: "Revoked" },
    ...errors(403, 404, 503),
  },
});

export const accessTokensApp = new OpenAPIHono<AdminEnv>()
  .openapi(listRoute, async function listAccessTokensHandler(c) {
    const { deploymentId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const deployment = await findDeployment(c.env.DB, c.var.actor, deploymentId);
    const after = decodeCursor(cursor, CreatedPosition);
    const rows = await listAccessTokens(c.env.DB, deployment.id, { after, limit: rowsToFetch(limit) });
    return c.json(pageOf(c, rows, limit, (t) => [t.created_at, t.id]).map((t) => accessTokenJson(t, MASKED_VALUE)), 200);
  })

  .openapi(createTokenRoute, async function createAccessTokenHandler(c) {
    const { actor, requestId } = c.var;
    const deployment = await findDeployment(c.env.DB, actor, c.req.valid("param").deploymentId);
    const body = c.req.valid("json");
    if (body.tenant_id !== undefined && deployment.type !== "cluster") {
      throw invalidRequest("tenant_id", "only cluster deployments have tenants; omit it for a single_node deployment");
    }
    const tier = await getTier(c.env.DB, deployment.tier_id);
    if (!tier) throw new Error(`deployment ${deployment.id} names missing tier ${deployment.tier_id}`);

    const now = Date.now();
    const { row, secret } = await mintAccessToken(c.env, {
      deploymentId: deployment.id,
      type: body.type,
      description: body.description,
      tenantId: body.tenant_id,
      actor,
      now,
    });
    const detail = { type: row.type, description: row.description, ...(row.tenant_id ? { tenant_id: row.tenant_id } : {}) };
    const [inserted] = await c.env.DB.batch([
      insertAccessTokenWithinLimit(c.env.DB, row),
      insertAuditIfTokenExists(c.env.DB, { at: now, requestId, actor, action: "access_token.create", targetType: "access_token", targetId: row.id, deploymentId: deployment.id, detail }),
    ]);
    if (!inserted || inserted.meta.changes !== 1) {
      throw new HttpError(
        409,
        "token_limit_reached",
        `Deployment has reached its tier's limit of ${tier.access_token_limit} access tokens: revoke one or move to a bigger tier.`,
        {},
        { limit: tier.access_token_limit },
      );
    }
    await publishProjections(c.env, [{ secretHash: row.secret_hash, record: recordFor(row, deployment, tier) }]);
    return c.json(accessTokenJson(row, secret), 201);
  })

  .openapi(revealRoute, async function revealAccessTokenHandler(c) {
    const { actor, requestId } = c.var;
    const { deploymentId, tokenId } = c.req.valid("param");
    const { token } = await findToken(c.env.DB, actor, deploymentId, tokenId);
    const secret = await revealSecret(c.env, token, { actor, requestId });
    c.header("cache-control", "no-store");
    return c.json(accessTokenJson(token, secret), 200);
  })

  .openapi(examplesRoute, async function accessTokenExamplesHandler(c) {
    const { actor, requestId } = c.var;
    const { deploymentId, tokenId } = c.req.valid("param");
    const { deployment, token } = await findToken(c.env.DB, actor, deploymentId, tokenId);
    const secret = await revealSecret(c.env, token, { actor, requestId, via: "examples" });
    c.header("cache-control", "no-store");
    return c.json(buildExamples({ endpoint: c.env.ACCESS_ENDPOINT, deployment, token, secret }), 200);
  })

  .openapi(revokeRoute, async function revokeAccessTokenHandler(c) {
    const { actor, requestId } = c.var;
    const { deploymentId, tokenId } = c.req.valid("param");
    const { token } = await findToken(c.env.DB, actor, deploymentId, tokenId);
    if (token.revoked_at === null) {
      const now = Date.now();
      await c.env.DB.batch([
        revokeAccessToken(c.env.DB, token.id, now),
        insertAudit(c.env.DB, { at: now, requestId, actor, action: "access_token.revoke", targetType: "access_token", targetId: token.id, deploymentId: token.deployment_id }),
      ]);
    }
    // Also on a repeat: a revocation whose propagation failed half-way is finished by retrying.
    await propagateRevocations(c.env, [token]);
    return c.body(null, 204);
  })

  .on(["PUT", "PATCH", "POST"], "/:deploymentId/access_tokens/:tokenId", tokensAreImmutable)
  .on(["PUT", "PATCH", "POST", "DELETE"], "/:deploymentId/access_tokens/:tokenId/examples", function examplesAreReadOnly() {
    throw new HttpError(405, "method_not_allowed", "Examples are generated on GET only.", { allow: "GET" });
  });
