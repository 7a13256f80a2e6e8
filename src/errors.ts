/**
 * The one place that builds error responses. Every error body is JSON with a stable `error`
 * code and a one-line `message` that says what happened and what to do — never a secret,
 * never an upstream's raw body.
 */

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504;

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra machine-readable detail, such as the field a validation error concerns. */
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const DATA_REALM = 'Bearer realm="vm-edge-authorizer"';

function errorResponse(err: HttpError): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify({ error: err.code, message: err.message, ...err.detail }), {
    status: err.status,
    headers,
  });
}

/** Renders any thrown value: our own errors as they are, anything else as a logged plain 500. */
export function toErrorResponse(err: unknown, requestId?: string): Response {
  if (err instanceof HttpError) return errorResponse(err);
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", request_id: requestId, error: String(err) }));
  return errorResponse(new HttpError(500, "internal_error", "Internal error; retry later and report the request id if it persists.", requestId ? { "x-request-id": requestId } : {}));
}

// Named constructors for the data plane's status contract (design §6).
export const unauthorized = (message: string) => new HttpError(401, "unauthorized", message, { "www-authenticate": DATA_REALM });
/** Unknown and revoked tokens get the same answer: it confirms nothing about a secret. */
export const unknownToken = () => unauthorized("Unknown or revoked access token: create a new one in the management API or console.");
/** An expired token: its owner set the expiry (or a rotation did), so saying so reveals nothing new. */
export const expiredToken = (expiresAt: number) =>
  new HttpError(401, "expired_token", `Access token expired at ${new Date(expiresAt).toISOString()}: use its successor, or create a new token in the management API or console.`, {
    "www-authenticate": DATA_REALM,
  });
export const notFound = (message: string) => new HttpError(404, "not_found", message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new HttpError(429, "too_many_requests", message, { "retry-after": String(retryAfterSeconds) });
export const serviceUnavailable = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(503, code, message, { "retry-after": String(retryAfterSeconds) });
export const payloadTooLarge = (message: string) => new HttpError(413, "payload_too_large", message);
export const badGateway = (message: string) => new HttpError(502, "bad_gateway", message);
export const gatewayTimeout = (message: string) => new HttpError(504, "gateway_timeout", message);

// Management plane (src/admin, src/tokens).
/** A request field that breaks a rule: `400 {error: "invalid_request", message: "<field>: <rule>", field}`. */
export const invalidRequest = (field: string, rule: string) => new HttpError(400, "invalid_request", `${field}: ${rule}`, {}, { field });
export const tokenLimitReached = (limit: number) =>
  new HttpError(
    409,
    "token_limit_reached",
    `Deployment has reached its tier's limit of ${limit} access tokens: revoke one or move to a bigger tier.`,
    {},
    { limit },
  );
export const revocationIncomplete = () =>
  new HttpError(503, "revocation_incomplete", "Revoked in the database, but not yet at every edge: retry the request to finish.");

/** The Worker secrets the management plane needs, with what each must be and how to set it. */
const WORKER_SECRETS = {
  ADMIN_API_KEY: { rule: "a long random string of printable ASCII", set: "npx wrangler secret put ADMIN_API_KEY" },
  TOKEN_ENCRYPTION_KEY: { rule: "32 random bytes, base64-encoded", set: "openssl rand -base64 32 | npx wrangler secret put TOKEN_ENCRYPTION_KEY" },
} as const;
export type WorkerSecret = keyof typeof WORKER_SECRETS;

/**
 * 503: TOKEN_ENCRYPTION_KEY is well formed but did not seal this token's secret (it was replaced):
 * a reveal cannot work until the original key is back.
 */
export const encryptionKeyMismatch = () =>
  new HttpError(
    503,
    "not_configured",
    `The Worker secret TOKEN_ENCRYPTION_KEY does not open this token's stored secret (it is not the key that sealed it): put the original key back with \`npx wrangler secret put TOKEN_ENCRYPTION_KEY\`; a token sealed with a lost key can only be revoked and replaced.`,
  );

/** 503: a Worker secret is missing or unusable. Names the secret and how to set it; never its value. */
export function secretNotConfigured(name: WorkerSecret, problem: "missing" | "malformed"): HttpError {
  const { rule, set } = WORKER_SECRETS[name];
  const what = problem === "missing" ? "is not set" : `is not ${rule}`;
  return new HttpError(
    503,
    "not_configured",
    `The Worker secret ${name} ${what}: set it with \`${set}\` (locally: ${name}=<${rule}> in .dev.vars), then retry.`,
  );
}

