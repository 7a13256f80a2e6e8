import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError, invalidRequest, notFound } from "../errors";
import { type ApiKeyRow, type ApiKeySummary, getApiKey, insertApiKey, listApiKeys, revokeApiKey } from "../store/api-keys";
import { insertAudit, insertAuditIfApiKeyRevokedNow } from "../store/audit";
import { liveDeploymentIds } from "../store/deployments";
import { hashSecret } from "../token/crypto";
import { API_KEY_PREFIX, generateSecret } from "../token/format";
import { requireAllDeployments, requireWrite } from "./auth";
import type { Actor, AdminEnv } from "./context";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { CreatedPosition, decodeCursor, pageOf, rowsToFetch } from "./pagination";
import { ApiKey, CreatedApiKey } from "./response-schemas";
import { CreateApiKeyBody, PageQuery } from "./schemas";
import { jsonRequest } from "./validation";

/**
 * Management API keys, mounted at /api/v1/api_keys. Only a key scoped to all deployments may use
 * these routes (read-only to list and get, read-write to create and revoke), so a scoped key can
 * neither see other keys nor mint a wider one. A created key never outlives its creator.
 */

const iso = (ms: number) => new Date(ms).toISOString();

export function apiKeyJson(k: ApiKeySummary): ApiKey {
  return {
    id: k.id,
    name: k.name,
    access: k.access,
    ...(k.deployment_ids !== null ? { deployment_ids: JSON.parse(k.deployment_ids) as string[] } : {}),
    ...(k.expires_at !== null ? { expires_at: iso(k.expires_at) } : {}),
    created_at: iso(k.created_at),
    created_by: k.created_by,
    ...(k.revoked_at !== null ? { revoked_at: iso(k.revoked_at) } : {}),
  };
}

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

const KeyParams = z.object({ id: z.string().meta({ description: "API key id" }) });
const tags = ["API keys"];

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listApiKeys",
  tags,
  summary: "List API keys",
  description: "Keys not revoked (expired ones included), oldest first, never with a secret. Needs a key scoped to all deployments. A plain array; pages with `limit`/`cursor`.",
  middleware: [requireAllDeployments] as const,
  request: { query: PageQuery },
  responses: {
    200: { description: "API keys", headers: PAGE_HEADERS, content: jsonContent(z.array(ApiKey)) },
    ...errors(400, 403),
  },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createApiKey",
  tags,
  summary: "Create an API key",
  description:
    "`access` r (read-only: lists and gets, no reveal, no change) or rw; `deployment_ids` limits the key to those deployments (absent: all, future ones included); `expires_at` (RFC 3339) is optional, but a key that itself expires can only create keys that expire no later. The secret is in `value` of this answer only. Needs a read-write key scoped to all deployments. Audited.",
  middleware: [requireWrite, requireAllDeployments, jsonRequest] as const,
  request: { body: { required: true, content: jsonContent(CreateApiKeyBody) } },
  responses: {
    201: { description: "Created; `value` is the key, shown once", content: jsonContent(CreatedApiKey) },
    ...errors(400, 403, 413),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getApiKey",
  tags,
  summary: "Get an API key",
  description: "Revoked keys too (with `revoked_at`). Never the secret: it is stored only as a hash.",
  middleware: [requireAllDeployments] as const,
  request: { params: KeyParams },
  responses: {
    200: { description: "The key", content: jsonContent(ApiKey) },
    ...errors(403, 404),
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "revokeApiKey",
  tags,
  summary: "Revoke an API key",
  description: "The key is refused (401) from its next request on. Idempotent; audited once. The bootstrap key is a Worker secret: rotate it with `wrangler secret put ADMIN_API_KEY`.",
  middleware: [requireWrite, requireAllDeployments] as const,
  request: { params: KeyParams },
  responses: {
    204: { description: "Revoked" },
    ...errors(403, 404),
  },
});

const keyNotFound = (id: string) => notFound(`No API key ${JSON.stringify(id)}: list them with GET /admin/api/v1/api_keys.`);

export const apiKeysApp = new OpenAPIHono<AdminEnv>()
  .openapi(listRoute, async function listApiKeysHandler(c) {
    const { limit, cursor } = c.req.valid("query");
    const after = decodeCursor(cursor, CreatedPosition);
    const rows = await listApiKeys(c.env.DB, { after, limit: rowsToFetch(limit) });
    return c.json(pageOf(c, rows, limit, (k) => [k.created_at, k.id]).map(apiKeyJson), 200);
  })

  .openapi(createKeyRoute, async function createApiKeyHandler(c) {
    const { actor, requestId } = c.var;
    const body = c.req.valid("json");
    const now = Date.now();
    const expiresAt = body.expires_at ?? null;
    checkGrant(actor, expiresAt, now);
    const deploymentIds = body.deployment_ids ?? null;
    if (deploymentIds !== null) {
      const live = await liveDeploymentIds(c.env.DB, deploymentIds);
      const missing = deploymentIds.findIndex((id) => !live.has(id));
      if (missing >= 0) throw invalidRequest(`deployment_ids.${missing}`, `no deployment ${JSON.stringify(deploymentIds[missing])}; list them with GET /admin/api/v1/deployments`);
    }
    const secret = generateSecret(API_KEY_PREFIX);
    const row: ApiKeyRow = {
      id: crypto.randomUUID(),
      name: body.name,
      key_hash: await hashSecret(secret),
      access: body.access,
      deployment_ids: deploymentIds === null ? null : JSON.stringify(deploymentIds),
      expires_at: expiresAt,
      revoked_at: null,
      created_at: now,
      created_by: actor.name,
    };
    const summary = apiKeyJson(row);
    const { name, access, deployment_ids, expires_at } = summary;
    await c.env.DB.batch([
      insertApiKey(c.env.DB, row),
      insertAudit(c.env.DB, {
        at: now,
        requestId,
        actor,
        action: "api_key.create",
        targetType: "api_key",
        targetId: row.id,
        deploymentId: null,
        detail: { name, access, ...(deployment_ids ? { deployment_ids } : {}), ...(expires_at ? { expires_at } : {}) },
      }),
    ]);
    c.header("cache-control", "no-store");
    return c.json({ ...summary, value: secret }, 201);
  })

  .openapi(getRoute, async function getApiKeyHandler(c) {
    const { id } = c.req.valid("param");
    const key = await getApiKey(c.env.DB, id);
    if (!key) throw keyNotFound(id);
    return c.json(apiKeyJson(key), 200);
  })

  .openapi(revokeRoute, async function revokeApiKeyHandler(c) {
    const { actor, requestId } = c.var;
    const { id } = c.req.valid("param");
    const key = await getApiKey(c.env.DB, id);
    if (!key) throw keyNotFound(id);
    if (key.revoked_at === null) {
      const now = Date.now();
      // The audit row exists only if this UPDATE revoked the key: a concurrent repeat adds none.
      await c.env.DB.batch([
        revokeApiKey(c.env.DB, key.id, now),
        insertAuditIfApiKeyRevokedNow(c.env.DB, { at: now, requestId, actor, action: "api_key.revoke", targetType: "api_key", targetId: key.id, deploymentId: null, detail: { name: key.name } }),
      ]);
    }
    return c.body(null, 204);
  })

  .on(["PUT", "PATCH", "POST"], "/:id", function apiKeysAreImmutable() {
    throw new HttpError(405, "method_not_allowed", "API keys are immutable: create a new key and revoke the old one.", { allow: "GET, DELETE" });
  });
