import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError } from "../errors";
import { type ApiKeySummary, listApiKeys } from "../store/api-keys";
import { createApiKey, findApiKey, revokeApiKey } from "../tokens";
import { requireAllDeployments, requireWrite } from "./auth";
import type { AdminEnv } from "./context";
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

export const apiKeysApp = new OpenAPIHono<AdminEnv>()
  .openapi(listRoute, async function listApiKeysHandler(c) {
    const { limit, cursor } = c.req.valid("query");
    const after = decodeCursor(cursor, CreatedPosition);
    const rows = await listApiKeys(c.env.DB, { after, limit: rowsToFetch(limit) });
    return c.json(pageOf(c, rows, limit, (k) => [k.created_at, k.id]).map(apiKeyJson), 200);
  })

  .openapi(createKeyRoute, async function createApiKeyHandler(c) {
    const body = c.req.valid("json");
    const { key, secret } = await createApiKey(c.env, c.var, {
      name: body.name,
      access: body.access,
      deploymentIds: body.deployment_ids ?? null,
      expiresAt: body.expires_at ?? null,
    });
    c.header("cache-control", "no-store");
    return c.json({ ...apiKeyJson(key), value: secret }, 201);
  })

  .openapi(getRoute, async function getApiKeyHandler(c) {
    return c.json(apiKeyJson(await findApiKey(c.env, c.req.valid("param").id)), 200);
  })

  .openapi(revokeRoute, async function revokeApiKeyHandler(c) {
    await revokeApiKey(c.env, c.var, await findApiKey(c.env, c.req.valid("param").id));
    return c.body(null, 204);
  })

  .on(["PUT", "PATCH", "POST"], "/:id", function apiKeysAreImmutable() {
    throw new HttpError(405, "method_not_allowed", "API keys are immutable: create a new key and revoke the old one.", { allow: "GET, DELETE" });
  });
