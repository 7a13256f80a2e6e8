import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HttpError, toErrorResponse } from "../errors";
import { accessTokensApp } from "./access-tokens";
import { authenticate } from "./auth";
import type { AdminEnv } from "./context";
import { deploymentsApp } from "./deployments";
import { requestId } from "./request-id";
import { tiersApp } from "./tiers";

/**
 * The management API, compatible with the VictoriaMetrics Cloud API for tiers and access tokens.
 * Mounted at /admin: a client given base URL https://<worker>/admin works unchanged.
 */

// Management bodies are a few hundred bytes; anything far larger is a mistake or abuse.
const MAX_BODY_BYTES = 64 * 1024;

export const adminApp = new Hono<AdminEnv>()
  .use(requestId)
  .use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError() {
        throw new HttpError(413, "payload_too_large", `Request body over ${MAX_BODY_BYTES} bytes: management requests are small JSON objects.`);
      },
    }),
  )
  .use(authenticate)
  .route("/api/v1/tiers", tiersApp)
  .route("/api/v1/deployments", deploymentsApp)
  .route("/api/v1/deployments", accessTokensApp)
  .all("*", function adminNotFound() {
    throw new HttpError(404, "not_found", "No such management API route: the API is /admin/api/v1/tiers and /admin/api/v1/deployments[/{id}[/access_tokens[/{tokenId}]]].");
  })
  .onError(function adminError(err, c) {
    const res = toErrorResponse(err, c.var.requestId);
    if (c.var.requestId) res.headers.set("x-request-id", c.var.requestId);
    return res;
  });
