import type { Actor } from "../tokens/actor";

export type { Actor };

export interface AdminVariables {
  actor: Actor;
  /** `cf-ray` when Cloudflare set one, else a random UUID; echoed as `x-request-id`. */
  requestId: string;
}

export type AdminEnv = { Bindings: Env; Variables: AdminVariables };
