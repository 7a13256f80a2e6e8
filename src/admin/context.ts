/** Who is calling the management API, as established by the auth middleware. */
export interface Actor {
  /** Stable id: "bootstrap" for the ADMIN_API_KEY secret, the key row's id for stored keys. */
  id: string;
  /** Human-readable name, recorded as `created_by` and in the audit log. */
  name: string;
  /** r: read-only; rw: may also create, change, reveal and revoke. */
  access: "r" | "rw";
  /** Deployments the actor may see; null means all, future ones included. */
  deploymentIds: readonly string[] | null;
  /** Epoch ms after which the key stops working; null: never. Bounds the keys it may create. */
  expiresAt: number | null;
}

export interface AdminVariables {
  actor: Actor;
  /** `cf-ray` when Cloudflare set one, else a random UUID; echoed as `x-request-id`. */
  requestId: string;
}

export type AdminEnv = { Bindings: Env; Variables: AdminVariables };
