import type { Context } from "hono";
import { HttpError } from "../errors";
import { hashSecret } from "../token/crypto";
import { clientKeyOf, recordFailedAuthentication, refuseIfThrottled } from "./auth-throttle";
import { authorize, rawPathOf, rawQueryOf } from "./authorize";
import { readSecret } from "./credential";
import { forward } from "./forward";
import type { TokenRecord } from "../store/token-record";
import { isKnownValidToken, lookupToken } from "./lookup";
import { takePermit } from "./permit";

/**
 * The data path, in the order it happens (design §2). Each step throws an HttpError that the
 * app's error handler renders; nothing here answers 400, 409 or 415, which would make vmagent
 * and Prometheus drop data.
 */
export async function handleDataRequest(c: Context<{ Bindings: Env }>): Promise<Response> {
  const request = c.req.raw;
  const record = await authenticate(c.env, request.headers); //   1.–3., behind the failed-auth throttle
  const route = authorize(record, rawPathOf(request.url)); //         4. classify + 5. authorize
  const permit = await takePermit(c.env, record, c.executionCtx, request); // 6. permit
  return forward(request, route, rawQueryOf(request.url), permit, forwardLimits(c.env), c.executionCtx); // 7. forward + 8. answer
}

/**
 * Steps 1–3 behind the per-client throttle of failed authentications (auth-throttle.ts): a client
 * with too many recent failures gets 429 before any KV or D1 lookup, unless it presents a token
 * this isolate knows to be valid. Every 401 for a presented credential counts as one failure.
 */
async function authenticate(env: Env, headers: Headers): Promise<TokenRecord> {
  const client = clientKeyOf(headers);
  try {
    const secret = readSecret(headers); //                             1. credential + 2. shape
    const secretHash = await hashSecret(secret);
    refuseIfThrottled(client, isKnownValidToken(secretHash)); //       throttle: 429 before any lookup
    return await lookupToken(env, secretHash); //                      3. lookup by hash
  } catch (err) {
    if (err instanceof HttpError && err.status === 401 && headers.has("authorization")) recordFailedAuthentication(client);
    throw err;
  }
}

function forwardLimits(env: Env) {
  return {
    maxBodyBytes: Number(env.MAX_BODY_BYTES) || 32 * 1024 * 1024,
    timeoutMs: Number(env.UPSTREAM_TIMEOUT_MS) || 30_000,
  };
}
