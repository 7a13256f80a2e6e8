import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError } from "../errors";
import type { AccessTokenSummary } from "../store/access-tokens";
import { createToken, explainRequest, findDeployment, findToken, listTokens, revealToken, revokeToken, rotateToken } from "../tokens";
import { requireWrite } from "./auth";
import type { AdminEnv } from "./context";
import { buildExamples } from "./examples";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { CreatedPosition, decodeCursor, pageOf, rowsToFetch } from "./pagination";
import { AccessToken, Explanation, RotatedAccessToken, TokenExamples } from "./response-schemas";
import { CreateAccessTokenBody, DeploymentId, ExplainRequestBody, PageQuery, RotateAccessTokenBody } from "./schemas";
import { jsonRequest } from "./validation";

/**
 * Access tokens of a deployment. Mounted at /api/v1/deployments, so paths carry the deployment.
 * Tokens are immutable: create, list, reveal, revoke.
 */

/**
 * The JSON of a token (VictoriaMetrics Cloud's AccessToken): empty tenant, never-used time and
 * unset policies are omitted, so that client decodes it strictly.
 */
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
    ...(t.expires_at !== null ? { expires_at: new Date(t.expires_at).toISOString() } : {}),
    ...(t.allowed_networks !== null ? { allowed_networks: t.allowed_networks } : {}),
    ...(t.labels !== null ? { labels: t.labels } : {}),
  };
}

function tokensAreImmutable(): never {
  throw new HttpError(405, "method_not_allowed", "Access tokens are immutable: create a new token and revoke the old one.", { allow: "GET, DELETE" });
}

const DeploymentPath = z.object({ deploymentId: DeploymentId });
const TokenPath = DeploymentPath.extend({ tokenId: z.string().meta({ description: "Access token id" }) });
const tags = ["access tokens"];

const listRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/access_tokens",
  operationId: "listAccessTokens",
  tags,
  summary: "List access tokens",
  description: "Live tokens of the deployment, oldest first, `value` cut to the last 4 characters of the secret. A plain array (VictoriaMetrics Cloud shape); pages with `limit`/`cursor`.",
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
    "`tenant_id` (cluster only) pins the token to a tenant; `expires_at`, `allowed_networks` and `labels` are optional policies, fixed for the token's life. The answer holds the whole secret in `value`. Refused with 409 when the tier's `access_token_limit` is reached. Audited. A request without Content-Type is read as JSON (the VictoriaMetrics Cloud client sends none).",
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

const rotateRoute = createRoute({
  method: "post",
  path: "/{deploymentId}/access_tokens/{tokenId}/rotate",
  operationId: "rotateAccessToken",
  tags,
  summary: "Rotate an access token",
  description:
    "Creates the successor with the same type, tenant, policies and description (its whole secret in `value`, as a create), and brings the replaced token's expiry forward to now + `overlap_seconds` (never later than an expiry it had). Both work during the overlap. The pair takes two places in the tier's `access_token_limit` only while both are alive, so an overlap of 0 works at the cap. A revoked or expired token cannot be rotated (400). Audited as one `access_token.rotate` entry on the replaced token, `detail.successor_id` naming the new one.",
  middleware: [requireWrite, jsonRequest] as const,
  request: { params: TokenPath, body: { required: true, content: jsonContent(RotateAccessTokenBody) } },
  responses: {
    201: { description: "The successor; `value` is its whole secret", content: jsonContent(RotatedAccessToken) },
    ...errors(400, 403, 404, 409, 413, 503),
  },
});

const explainRoute = createRoute({
  method: "post",
  path: "/{deploymentId}/access_tokens/{tokenId}/explain",
  operationId: "explainAccessTokenRequest",
  tags,
  summary: "Explain a request",
  description:
    "What the data path would do with this request from this token, decided by the data path's own code on the token's current settings: allowed (with the exact upstream URL, rewritten path and query, label scope included) or refused (status, code and one-line reason as the data path answers). Nothing is sent upstream, no permit is taken, nothing is written. A read-only key is enough: the answer holds no secret. Not audited, like other reads. A path is read as a client's HTTP library sends it (spaces and control characters percent-encoded, dot segments resolved); anything else is judged as the data path judges it.",
  middleware: [jsonRequest] as const,
  request: { params: TokenPath, body: { required: true, content: jsonContent(ExplainRequestBody) } },
  responses: {
    200: { description: "The decision", content: jsonContent(Explanation) },
    ...errors(400, 404, 413),
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
    const { limit, cursor } = c.req.valid("query");
    const deployment = await findDeployment(c.env, c.var.actor, c.req.valid("param").deploymentId);
    const rows = await listTokens(c.env, deployment, { after: decodeCursor(cursor, CreatedPosition), limit: rowsToFetch(limit) });
    return c.json(pageOf(c, rows, limit, (t) => [t.created_at, t.id]).map((t) => accessTokenJson(t, t.masked)), 200);
  })

  .openapi(createTokenRoute, async function createAccessTokenHandler(c) {
    const deployment = await findDeployment(c.env, c.var.actor, c.req.valid("param").deploymentId);
    const { type, description, tenant_id, expires_at, allowed_networks, labels } = c.req.valid("json");
    const { token, secret } = await createToken(c.env, c.var, deployment, {
      type,
      description,
      ...(tenant_id !== undefined ? { tenantId: tenant_id } : {}),
      ...(expires_at != null ? { expiresAt: expires_at } : {}),
      ...(allowed_networks != null ? { allowedNetworks: allowed_networks } : {}),
      ...(labels != null ? { labels } : {}),
    });
    return c.json(accessTokenJson(token, secret), 201);
  })

  .openapi(revealRoute, async function revealAccessTokenHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const { token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    const secret = await revealToken(c.env, c.var, token);
    c.header("cache-control", "no-store");
    return c.json(accessTokenJson(token, secret), 200);
  })

  .openapi(examplesRoute, async function accessTokenExamplesHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const { deployment, token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    const secret = await revealToken(c.env, c.var, token, "examples");
    c.header("cache-control", "no-store");
    return c.json(buildExamples({ endpoint: c.env.ACCESS_ENDPOINT, deployment, token, secret }), 200);
  })

  .openapi(rotateRoute, async function rotateAccessTokenHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const { deployment, token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    const { overlap_seconds, expires_at } = c.req.valid("json");
    const rotated = await rotateToken(c.env, c.var, deployment, token, { overlapSeconds: overlap_seconds, ...(expires_at != null ? { expiresAt: expires_at } : {}) });
    c.header("cache-control", "no-store");
    return c.json({ ...accessTokenJson(rotated.token, rotated.secret), replaces: { id: rotated.replaced.id, expires_at: new Date(rotated.replaced.expires_at).toISOString() } }, 201);
  })

  .openapi(explainRoute, async function explainAccessTokenRequestHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const { deployment, token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    const { method, path, client_address, content_type } = c.req.valid("json");
    const explanation = await explainRequest(c.env, deployment, token, {
      method,
      path,
      ...(client_address != null ? { clientAddress: client_address } : {}),
      ...(content_type != null ? { contentType: content_type } : {}),
    });
    return c.json(explanation, 200);
  })

  .openapi(revokeRoute, async function revokeAccessTokenHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const { token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    await revokeToken(c.env, c.var, token);
    return c.body(null, 204);
  })

  .on(["PUT", "PATCH", "POST"], "/:deploymentId/access_tokens/:tokenId", tokensAreImmutable)
  .on(["PUT", "PATCH", "DELETE"], "/:deploymentId/access_tokens/:tokenId/rotate", function rotateIsPostOnly() {
    throw new HttpError(405, "method_not_allowed", "Rotate a token with POST.", { allow: "POST" });
  })
  .on(["PUT", "PATCH", "DELETE"], "/:deploymentId/access_tokens/:tokenId/explain", function explainIsPostOnly() {
    throw new HttpError(405, "method_not_allowed", "Explain a request with POST and a JSON body {\"method\", \"path\"}.", { allow: "POST" });
  })
  .on(["PUT", "PATCH", "POST", "DELETE"], "/:deploymentId/access_tokens/:tokenId/examples", function examplesAreReadOnly() {
    throw new HttpError(405, "method_not_allowed", "Examples are generated on GET only.", { allow: "GET" });
  });
