/** Shared vocabulary of the request policy; re-exported from `route.ts`, the module's entry point. */
import type { AccessLevel, DeploymentType } from "../tokens/vocabulary";

export type { AccessLevel, DeploymentType };
export type RequestClass = "read" | "write" | "delete";

/** What a token grants: the deployment it belongs to, its access level and, if pinned, its tenant. */
export interface Grant {
  deploymentType: DeploymentType;
  access: AccessLevel;
  /** Tenant-specific cluster token: `accountID` or `accountID:projectID`. Absent for a regular token. */
  tenantId?: string;
}

/** Which upstream base URL a request goes to: single-node `upstream_url`, cluster `insert_url` or `select_url`. */
export type RouteTarget = "upstream" | "insert" | "select";

export type RouteDecision =
  | {
      ok: true;
      target: RouteTarget;
      /** Exact path to send upstream: canonical, already rewritten; re-parsing it changes nothing. */
      path: string;
      requestClass: RequestClass;
      /** Cluster only: the tenant the forwarded path addresses. */
      tenantId?: string;
    }
  | {
      ok: false;
      status: 403 | 404;
      code: string;
      /** One line: what happened and what to do. Echoes at most a short, sanitised part of the input. */
      reason: string;
    };

export type Refusal = Extract<RouteDecision, { ok: false }>;

export function refuse(status: 403 | 404, code: string, reason: string): Refusal {
  return { ok: false, status, code, reason };
}
