import type { OpenAPIHono } from "@hono/zod-openapi";
import { API_KEY_HEADER } from "./auth";
import type { AdminEnv } from "./context";

/**
 * /admin/openapi.json: the management API described from the same route definitions and zod
 * schemas that validate its requests (src/admin/*.ts, `createRoute`). It is served without an API
 * key — it holds no data, only the shape of the API — so tools can fetch it before they have one.
 * Paths are relative to the server URL `<worker>/admin`, the base URL VictoriaMetrics Cloud
 * clients are given.
 */

const SECURITY_SCHEME = "ApiKey";

export function registerSecurity(app: OpenAPIHono<AdminEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", SECURITY_SCHEME, {
    type: "apiKey",
    in: "header",
    name: API_KEY_HEADER,
    description: "`ADMIN_API_KEY` (the bootstrap key: read-write, all deployments) or a key created with POST /api/v1/api_keys (`vmak_…`).",
  });
}

let cached: Record<string, unknown> | undefined;

/** The document, built once per isolate; `serverUrl` is where this request reached /admin. */
export function openApiDocument(app: OpenAPIHono<AdminEnv>, serverUrl: string): Record<string, unknown> {
  cached ??= app.getOpenAPIDocument({
    openapi: "3.0.3",
    info: {
      title: "vm-edge-authorizer management API",
      version: "1",
      description:
        "Deployments, access tokens, API keys and the audit log of an edge authorizer for hosted VictoriaMetrics. Compatible with the VictoriaMetrics Cloud API for tiers and access tokens: point its client at `<worker>/admin`. Lists are plain JSON arrays; with `limit` they are paged and the next page is in the `Link` header. Errors are `{error, message, field?}`.",
    },
    security: [{ [SECURITY_SCHEME]: [] }],
    tags: [
      { name: "tiers" },
      { name: "deployments" },
      { name: "access tokens" },
      { name: "API keys" },
      { name: "audit" },
    ],
  }) as unknown as Record<string, unknown>;
  return { ...cached, servers: [{ url: serverUrl }] };
}
