import type { Context } from "hono";
import { authorize, rawPathOf, rawQueryOf } from "./authorize";
import { readSecret } from "./credential";
import { forward } from "./forward";
import { lookupToken } from "./lookup";
import { takePermit } from "./permit";

/**
 * The data path, in the order it happens (design §2). Each step throws an HttpError that the
 * app's error handler renders; nothing here answers 400, 409 or 415, which would make vmagent
 * and Prometheus drop data.
 */
export async function handleDataRequest(c: Context<{ Bindings: Env }>): Promise<Response> {
  const request = c.req.raw;
  const secret = readSecret(request.headers); //          1. credential + 2. shape
  const { record } = await lookupToken(c.env, secret); // 3. lookup by hash
  const route = authorize(record, rawPathOf(request.url)); // 4. classify + 5. authorize
  const permit = await takePermit(c.env, record, c.executionCtx); // 6. permit
  return forward(request, route, rawQueryOf(request.url), permit, forwardLimits(c.env), c.executionCtx); // 7. forward + 8. answer
}

function forwardLimits(env: Env) {
  return {
    maxBodyBytes: Number(env.MAX_BODY_BYTES) || 32 * 1024 * 1024,
    timeoutMs: Number(env.UPSTREAM_TIMEOUT_MS) || 30_000,
  };
}
