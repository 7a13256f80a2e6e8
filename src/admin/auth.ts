import { createMiddleware } from "hono/factory";
import { HttpError } from "../errors";
import { timingSafeEqualText } from "../token/crypto";
import type { Actor, AdminEnv } from "./context";

/** The header the VictoriaMetrics Cloud API client and Terraform provider send the API key in. */
export const API_KEY_HEADER = "X-VM-Cloud-Access";

/** The Worker secret ADMIN_API_KEY: read-write, every deployment, future ones included. */
export const BOOTSTRAP_ACTOR: Actor = Object.freeze({ id: "bootstrap", name: "bootstrap", access: "rw", deploymentIds: null });

/**
 * Maps a presented API key to an actor, or null when it is no valid key. Only the bootstrap key
 * exists so far; stored keys (`api_keys`, looked up by SHA-256) join here.
 */
export async function resolveActor(env: Env, presented: string): Promise<Actor | null> {
  const bootstrap = env.ADMIN_API_KEY;
  if (bootstrap && timingSafeEqualText(presented, bootstrap)) return BOOTSTRAP_ACTOR;
  // TODO(api-keys): look up hashSecret(presented) in api_keys (not revoked, not expired).
  return null;
}

export const authenticate = createMiddleware<AdminEnv>(async function authenticate(c, next) {
  const presented = c.req.header(API_KEY_HEADER);
  if (!presented) {
    throw new HttpError(401, "unauthorized", `Missing ${API_KEY_HEADER} header: send a management API key.`);
  }
  const actor = await resolveActor(c.env, presented);
  if (!actor) {
    throw new HttpError(401, "unauthorized", `The key in ${API_KEY_HEADER} is not a valid management API key.`);
  }
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

/** True when the actor's scope includes the deployment. Out-of-scope ids answer 404, like unknown ones. */
export function canAccessDeployment(actor: Actor, deploymentId: string): boolean {
  return actor.deploymentIds === null || actor.deploymentIds.includes(deploymentId);
}
