import { createMiddleware } from "hono/factory";
import { HttpError, secretNotConfigured } from "../errors";
import { type ApiKeyRow, findApiKeyByHash } from "../store/api-keys";
import { encryptionKeyBytes, hashSecret, timingSafeEqualText } from "../token/crypto";
import { API_KEY_PREFIX, isWellFormedSecret } from "../token/format";
import { API_KEY_HEADER } from "../tokens/words";
import type { Actor, AdminEnv } from "./context";

export { API_KEY_HEADER };

/** The Worker secret ADMIN_API_KEY: read-write, every deployment, future ones included. */
export const BOOTSTRAP_ACTOR: Actor = Object.freeze({ id: "bootstrap", name: "bootstrap", access: "rw", deploymentIds: null, expiresAt: null });

/** Why a presented key is refused; each becomes a 401 with its own one-line message. */
export type KeyRefusal = "unknown" | "revoked" | "expired";

/** The actor of a stored key row, or why it is refused at `now`. */
export function actorOfKey(row: ApiKeyRow, now: number): Actor | KeyRefusal {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && row.expires_at <= now) return "expired";
  return {
    id: row.id,
    name: row.name,
    access: row.access,
    deploymentIds: row.deployment_ids === null ? null : (JSON.parse(row.deployment_ids) as string[]),
    expiresAt: row.expires_at,
  };
}

/**
 * Maps a presented API key to an actor. The bootstrap secret is compared in constant time; a
 * stored key (`vmak_…`) is shape-checked before any I/O, then looked up by SHA-256 in D1 on every
 * request — no cache, so a revocation or an expiry takes effect at the next request.
 */
export async function resolveActor(env: Env, presented: string, now = Date.now()): Promise<Actor | KeyRefusal> {
  const bootstrap = env.ADMIN_API_KEY;
  if (bootstrap && (await timingSafeEqualText(presented, bootstrap))) return BOOTSTRAP_ACTOR;
  if (!isWellFormedSecret(presented, API_KEY_PREFIX)) return "unknown";
  const row = await findApiKeyByHash(env.DB, await hashSecret(presented));
  return row ? actorOfKey(row, now) : "unknown";
}

/** Printable ASCII, no space at either end: what a client can send in a header and get compared as is. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * Answers 503, naming the secret and how to set it, while a Worker secret the management plane
 * needs is missing or unusable — a `.dev.vars` written by hand, a deploy without `wrangler secret
 * put` — instead of a 500 at the first create. Runs before authentication: without ADMIN_API_KEY
 * nobody could authenticate to learn why.
 */
export const requireSecrets = createMiddleware<AdminEnv>(async function requireSecrets(c, next) {
  const { ADMIN_API_KEY, TOKEN_ENCRYPTION_KEY } = c.env;
  if (!ADMIN_API_KEY) throw secretNotConfigured("ADMIN_API_KEY", "missing");
  if (!HEADER_SAFE.test(ADMIN_API_KEY)) throw secretNotConfigured("ADMIN_API_KEY", "malformed");
  if (!TOKEN_ENCRYPTION_KEY) throw secretNotConfigured("TOKEN_ENCRYPTION_KEY", "missing");
  if (!encryptionKeyBytes(TOKEN_ENCRYPTION_KEY)) throw secretNotConfigured("TOKEN_ENCRYPTION_KEY", "malformed");
  await next();
});

const REFUSALS: Record<KeyRefusal, string> = {
  unknown: `The key in ${API_KEY_HEADER} is not a valid management API key.`,
  revoked: `The key in ${API_KEY_HEADER} was revoked: ask for a new management API key.`,
  expired: `The key in ${API_KEY_HEADER} has expired: ask for a new management API key.`,
};

export const authenticate = createMiddleware<AdminEnv>(async function authenticate(c, next) {
  const presented = c.req.header(API_KEY_HEADER);
  if (!presented) {
    throw new HttpError(401, "unauthorized", `Missing ${API_KEY_HEADER} header: send a management API key.`);
  }
  const actor = await resolveActor(c.env, presented);
  if (typeof actor === "string") throw new HttpError(401, "unauthorized", REFUSALS[actor]);
  c.set("actor", actor);
  await next();
});

/** Refuses read-only keys on routes that change state or reveal a secret. */
export const requireWrite = createMiddleware<AdminEnv>(async function requireWrite(c, next) {
  if (c.var.actor.access !== "rw") {
    throw new HttpError(403, "forbidden", "This API key is read-only: use a read-write key for this operation.");
  }
  await next();
});

/**
 * Refuses keys limited to some deployments. Creating deployments and managing API keys need a key
 * scoped to all deployments: a scoped key could otherwise widen its own reach.
 */
export const requireAllDeployments = createMiddleware<AdminEnv>(async function requireAllDeployments(c, next) {
  if (c.var.actor.deploymentIds !== null) {
    throw new HttpError(403, "forbidden", "This API key is limited to some deployments: this operation needs a key scoped to all deployments.");
  }
  await next();
});
