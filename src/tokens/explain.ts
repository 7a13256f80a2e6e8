import { rawPathOf, rawQueryOf } from "../data/authorize";
import { decide, refuseIfExpired, upstreamUrlOf } from "../data/decision";
import { HttpError, unknownToken } from "../errors";
import type { RequestClass } from "../policy/types";
import type { AccessTokenRow } from "../store/access-tokens";
import type { Deployment } from "../store/deployments";
import { getTier } from "../store/tiers";
import { recordFor } from "./propagation";

/**
 * Explain: what the data path would do with one request from one token, by running its own
 * decision (src/data/decision.ts) on the token's projection — without a secret, a permit or an
 * upstream. Read-only: nothing is written, nothing audited.
 */

export interface ExplainInput {
  method: string;
  /** The request target as a client sends it: a path with its query string (or an absolute URL). */
  path: string;
  /** The client address (`CF-Connecting-IP`) to judge an allowlist by; absent: not judged. */
  clientAddress?: string;
  contentType?: string;
}

export type Explanation =
  | {
      decision: "allowed";
      request_class: RequestClass;
      upstream_url: string;
      path: string;
      query: string;
      tenant_id?: string;
      body: "forwarded" | "rewritten";
      not_checked: string[];
    }
  | { decision: "refused"; status: number; code: string; reason: string; not_checked: string[] };

/** Left to the moment a real request arrives: what no explanation can promise. */
const ALWAYS_UNCHECKED = ["concurrency_limit", "body_size", "upstream"];

export async function explainRequest(env: Env, deployment: Deployment, token: AccessTokenRow, input: ExplainInput, now = Date.now()): Promise<Explanation> {
  const notChecked = input.clientAddress === undefined && token.allowed_networks !== null ? ["allowed_networks", ...ALWAYS_UNCHECKED] : ALWAYS_UNCHECKED;
  const tier = await getTier(env.DB, deployment.tier_id);
  if (!tier) throw new Error(`deployment ${deployment.id} names missing tier ${deployment.tier_id}`);
  const record = recordFor(token, deployment, tier);
  const { rawPath, rawQuery } = requestTargetOf(input.path);
  try {
    if (token.revoked_at !== null) throw unknownToken(); // what the data path answers a revoked secret
    if (isManagementPath(rawPath)) throw new HttpError(403, "management_path", "This path is the management API or console, not the data path: an access token is never forwarded there.");
    refuseIfExpired(record, now);
    const decided = decide(record, rawPath, rawQuery, input.clientAddress, input.contentType ?? null);
    const { route, search } = decided;
    return {
      decision: "allowed",
      request_class: route.requestClass,
      upstream_url: upstreamUrlOf(route, search),
      path: route.path,
      query: search,
      ...(route.tenantId !== undefined ? { tenant_id: route.tenantId } : {}),
      body: decided.body === "rewrite" && input.method !== "GET" && input.method !== "HEAD" ? "rewritten" : "forwarded",
      not_checked: [...notChecked],
    };
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return { decision: "refused", status: err.status, code: err.code, reason: err.message, not_checked: [...notChecked] };
  }
}

/** Any origin: only the path and query string reach the decision. */
const ORIGIN = "https://authorizer.invalid";

/**
 * The raw path and query string the data path would see for a request target. A path is parsed the
 * way the runtime parses a request URL (WHATWG: spaces and control characters percent-encoded, tab
 * and newline dropped, dot segments resolved — what `fetch` does before sending). An absolute
 * http(s) URL stands for a request to the authorizer: its path and query count, its host does not.
 * Anything else is judged literally, as a path, which the policy refuses as non-canonical.
 */
export function requestTargetOf(target: string): { rawPath: string; rawQuery: string } {
  const url = target.startsWith("/") || target.startsWith("\\") ? parsed(ORIGIN + target) : /^https?:\/\//i.test(target) ? parsed(target) : undefined;
  if (url !== undefined) return { rawPath: rawPathOf(url), rawQuery: rawQueryOf(url) };
  const end = target.search(/[?#]/);
  const rawPath = end < 0 ? target : target.slice(0, end);
  const hash = target.indexOf("#");
  const rawQuery = end < 0 || target[end] === "#" ? "" : hash < 0 ? target.slice(end) : target.slice(end, hash);
  return { rawPath, rawQuery };
}

function parsed(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).href : undefined;
}

/** index.ts sends `/admin` and `/console` (and below) to the management plane, never to the data path. */
function isManagementPath(rawPath: string): boolean {
  return ["/admin", "/console"].some((p) => rawPath === p || rawPath.startsWith(`${p}/`));
}
