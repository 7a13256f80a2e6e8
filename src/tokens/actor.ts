import type { ApiKeyAccess } from "./vocabulary";

/** Who is calling the management API, as established by the auth middleware (src/admin/auth.ts). */
export interface Actor {
  /** Stable id: "bootstrap" for the ADMIN_API_KEY secret, the key row's id for stored keys. */
  id: string;
  /** Human-readable name, recorded as `created_by` and in the audit log. */
  name: string;
  /** r: read-only; rw: may also create, change, reveal and revoke. */
  access: ApiKeyAccess;
  /** Deployments the actor may see; null means all, future ones included. */
  deploymentIds: readonly string[] | null;
  /** Epoch ms after which the key stops working; null: never. Bounds the keys it may create. */
  expiresAt: number | null;
}

/** Who asks for a change, as every audit row records it. */
export interface Caller {
  actor: Actor;
  /** The request's id (`cf-ray` at the edge), recorded in the audit log. */
  requestId: string;
}

/** True when the actor's scope includes the deployment. Out-of-scope ids answer 404, like unknown ones. */
export function canAccessDeployment(actor: Actor, deploymentId: string): boolean {
  return actor.deploymentIds === null || actor.deploymentIds.includes(deploymentId);
}
