import { HttpError } from "../errors";
import { hashSecret } from "../token/crypto";
import { clientKeyOf, recordFailedAuthentication, refuseIfThrottled } from "./auth-throttle";
import { rawPathOf, rawQueryOf } from "./authorize";
import { knownSecretHash, readSecret, rememberCredential } from "./credential";
import { forward, type ForwardLimits, type WaitUntil } from "./forward";
import type { TokenRecord } from "../store/token-record";
import { isKnownValidToken, lookupToken } from "./lookup";
import { takePermit } from "./permit";
import { decide } from "./decision";
import { withScopedBody } from "./token-policies";
import { countAnswer, countStreamedBytes, inFlightOf, newTrace, sweepUsage, type UsageTrace } from "./usage";

/**
 * The data path, in the order it happens (design §2). Each step throws an HttpError that the
 * app's error handler renders; nothing here answers 400, 409 or 415, which would make vmagent
 * and Prometheus drop data.
 */
export async function handleDataRequest(request: Request, env: Env, ctx: WaitUntil): Promise<Response> {
  const trace = newTrace(); // per-token usage (usage.ts): counted once, when answered
  try {
    const response = await handle(request, env, ctx, trace);
    countAnswer(trace, request, { response });
    return response;
  } catch (error) {
    countAnswer(trace, request, { error });
    throw error;
  } finally {
    sweepUsage(env, ctx); // at most once a minute: ships counts no lease call carried
  }
}

async function handle(request: Request, env: Env, ctx: WaitUntil, trace: UsageTrace): Promise<Response> {
  const record = (trace.record = await authenticate(env, request.headers, trace)); // 1.–3., behind the failed-auth throttle
  const { url, headers } = request;
  const decision = decide(record, rawPathOf(url), rawQueryOf(url), headers.get("cf-connecting-ip"), headers.get("content-type")); // 3a.–5a.
  trace.class = decision.route.requestClass;
  const upstreamRequest = await withScopedBody(request, decision); // 5a. a label-scoped read's form body
  const waitFrom = Date.now();
  const permit = await takePermit(env, record, ctx, request); // 6. permit
  const forwardFrom = Date.now();
  trace.permitWaitMs = forwardFrom - waitFrom;
  trace.inFlight = inFlightOf(record.token_id);
  const streamed = (inBytes: number, outBytes: number) => countStreamedBytes(record.token_id, inBytes, outBytes); // a chunked upload's and the answer's bytes
  const response = await forward(upstreamRequest, decision.route, decision.search, permit, forwardLimits(env), ctx, streamed); // 7. forward + 8. answer
  trace.upstreamMs = Date.now() - forwardFrom; // to the upstream's headers
  return response;
}

/**
 * Steps 1–3 behind the per-client throttle of failed authentications (auth-throttle.ts): a client
 * with too many recent failures gets 429 before any KV or D1 lookup, unless it presents a token
 * this isolate knows to be valid. Every 401 for a presented credential counts as one failure.
 * A header that named a valid token before skips parsing and hashing (credential.ts). A revoked or
 * expired token's record lands in `trace` before its 401, so the refusal is counted for it.
 */
async function authenticate(env: Env, headers: Headers, trace: UsageTrace): Promise<TokenRecord> {
  const header = headers.get("authorization");
  try {
    const known = header === null ? undefined : knownSecretHash(header);
    if (known !== undefined && isKnownValidToken(known)) return await lookupToken(env, known, trace); // 3. (never throttled)
    const secret = readSecret(headers); //                                        1. credential + 2. shape
    const secretHash = await hashSecret(secret);
    refuseIfThrottled(clientKeyOf(headers), isKnownValidToken(secretHash)); //   throttle: 429 before any lookup
    const record = await lookupToken(env, secretHash, trace); //                 3. lookup by hash
    rememberCredential(header!, secretHash);
    return record;
  } catch (err) {
    if (err instanceof HttpError && err.status === 401 && header !== null) recordFailedAuthentication(clientKeyOf(headers));
    throw err;
  }
}

/** Read once per isolate: the environment's variables do not change while it lives. */
let limits: { env: Env; value: ForwardLimits } | undefined;

function forwardLimits(env: Env): ForwardLimits {
  if (limits?.env !== env) {
    limits = {
      env,
      value: { maxBodyBytes: Number(env.MAX_BODY_BYTES) || 32 * 1024 * 1024, timeoutMs: Number(env.UPSTREAM_TIMEOUT_MS) || 30_000 },
    };
  }
  return limits.value;
}
