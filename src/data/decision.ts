import { expiredToken, HttpError } from "../errors";
import { checkAllowedNetworks, scopeForToken } from "../policy/token-policy";
import type { TokenRecord } from "../store/token-record";
import { authorize, type Route } from "./authorize";

/**
 * What the data path decides about a request once its token is known and before it takes a
 * permit (steps 3a–5a), as one pure function of the token record and what the edge vouches for.
 * The data path and explain (src/tokens/explain.ts) both call it, so what explain answers is what
 * the data path does. Refusals are thrown as the HttpError the data path answers.
 */
export interface Decision {
  route: Route;
  /** The query string to forward, `?` included (label scope applied), or "". */
  search: string;
  /** "rewrite": a label-scoped read's urlencoded form body gets the same treatment (data-plane.ts). */
  body: "forward" | "rewrite";
}

/**
 * `rawPath` and `rawQuery` are the request's path and query string exactly as sent (authorize.ts's
 * rawPathOf/rawQueryOf); `clientIp` is `CF-Connecting-IP`, or undefined to skip the allowlist
 * (explain without a client address — never the data path, where a missing header is null).
 */
export function decide(record: TokenRecord, rawPath: string, rawQuery: string, clientIp: string | null | undefined, contentType: string | null): Decision {
  if (clientIp !== undefined) refuseOutsideAllowlist(record, clientIp); // 3a. allowed networks
  const route = authorize(record, rawPath); //                              4. classify + 5. authorize
  const scope = scopeForToken(record.labels, route.path, rawQuery, contentType); // 5a. label scope
  if (!scope.ok) throw new HttpError(scope.status, scope.code, scope.reason);
  return { route, search: scope.search, body: scope.body };
}

/** Step 3's last check: a token past its `expires_at` is refused as expired (401). */
export function refuseIfExpired(record: TokenRecord, now: number): void {
  if (record.expires_at !== undefined && record.expires_at <= now) throw expiredToken(record.expires_at);
}

/** Step 3a: only `CF-Connecting-IP`, which Cloudflare's edge sets itself, never a header a client controls. */
function refuseOutsideAllowlist(record: TokenRecord, clientIp: string | null): void {
  const refusal = checkAllowedNetworks(record.allowed_networks, clientIp);
  if (refusal) throw new HttpError(refusal.status, refusal.code, refusal.reason);
}

/** The URL the data path sends upstream for a decided request. */
export function upstreamUrlOf(route: Route, search: string): string {
  const base = route.upstreamBase.endsWith("/") ? route.upstreamBase.slice(0, -1) : route.upstreamBase;
  return base + route.path + search;
}
