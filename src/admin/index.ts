import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { HttpError, toErrorResponse } from "../errors";
import { accessTokensApp } from "./access-tokens";
import { apiKeysApp } from "./api-keys";
import { auditApp } from "./audit-log";
import { authenticate, requireSecrets } from "./auth";
import type { AdminEnv } from "./context";
import { deploymentsApp } from "./deployments";
import { openApiDocument, registerSecurity } from "./openapi";
import { requestId } from "./request-id";
import { tiersApp } from "./tiers";
import { metricsApp, usageApp } from "./usage";
import { validationHook } from "./validation";

/**
 * The management API, compatible with the VictoriaMetrics Cloud API for tiers and access tokens.
 * Mounted at /admin: a client given base URL https://<worker>/admin works unchanged.
 */

// Management bodies are a few hundred bytes; anything far larger is a mistake or abuse.
const MAX_BODY_BYTES = 64 * 1024;

/** Errors raised by Hono itself (not by our code) keep their status but get our body. */
function asHttpError(err: unknown): unknown {
  if (!(err instanceof HTTPException)) return err;
  if (err.status === 415) return new HttpError(400, "invalid_request", "body: send a JSON body with Content-Type: application/json", {}, { field: "body" });
  if (err.status === 400) return new HttpError(400, "invalid_request", "body: is not valid JSON", {}, { field: "body" });
  return err.status >= 500 ? err : new HttpError(err.status as 400, "invalid_request", err.message);
}

export const adminApp: OpenAPIHono<AdminEnv> = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

adminApp
  .use(requestId)
  .use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError() {
        throw new HttpError(413, "payload_too_large", `Request body over ${MAX_BODY_BYTES} bytes: management requests are small JSON objects.`);
      },
    }),
  )
  // Before authentication: the document is public (shape only, no data).
  .get("/openapi.json", function openApiJson(c): Response {
    return c.json(openApiDocument(adminApp, c.req.url.replace(/\/openapi\.json(\?.*)?$/, "")));
  })
  .use(requireSecrets)
  .use(authenticate);

registerSecurity(adminApp);
adminApp
  .route("/api/v1/tiers", tiersApp)
  .route("/api/v1/deployments", deploymentsApp)
  .route("/api/v1/deployments", accessTokensApp)
  .route("/api/v1/deployments", usageApp)
  .route("/api/v1/api_keys", apiKeysApp)
  .route("/api/v1/audit", auditApp)
  .route("/", metricsApp) // GET /metrics: Prometheus text of the usage counters the key may see
  .all("*", function adminNotFound() {
    throw new HttpError(
      404,
      "not_found",
      "No such management API route: see /admin/openapi.json (tiers, deployments[/{id}[/usage|/access_tokens[/{tokenId}[/examples|/usage]]]], api_keys[/{id}], audit under /admin/api/v1; /admin/metrics).",
    );
  })
  .onError(function adminError(err, c) {
    const res = toErrorResponse(asHttpError(err), c.var.requestId);
    if (c.var.requestId) res.headers.set("x-request-id", c.var.requestId);
    return res;
  });
