import { HttpError } from "../errors";
import { routeRequest, type RouteDecision } from "../policy/route";
import type { TokenRecord } from "../store/token-record";

export type Route = Extract<RouteDecision, { ok: true }> & { upstreamBase: string };

/**
 * Steps 4 and 5: classify the path and check it against what the token grants. The decision
 * itself is pure policy (src/policy); this only picks the upstream base URL it names.
 */
export function authorize(record: TokenRecord, rawPath: string): Route {
  let known = decided.get(record);
  const hit = known?.get(rawPath);
  if (hit) return hit;
  const decision = routeRequest(
    { deploymentType: record.deployment_type, access: record.access, tenantId: record.tenant_id },
    rawPath,
  );
  if (!decision.ok) {
    throw new HttpError(decision.status, decision.code, decision.reason);
  }
  const upstreamBase =
    decision.target === "insert" ? record.insert_url : decision.target === "select" ? record.select_url : record.upstream_url;
  if (!upstreamBase) {
    // A record without the URL its route needs is our data problem, not the client's.
    throw new Error(`token ${record.token_id} has no ${decision.target} URL`);
  }
  const route = { ...decision, upstreamBase };
  if (!known) decided.set(record, (known = new Map()));
  if (known.size < MAX_PATHS_PER_RECORD) known.set(rawPath, route);
  return route;
}

/**
 * Accepted routes by token record and raw path. The decision is a pure function of the two, and an
 * agent sends the same few paths with every request. Keyed by the record object, so a record
 * re-read from storage (a changed grant) starts afresh and a forgotten one takes its routes along.
 * Refusals are not kept: they are rare and cheap enough.
 */
const decided = new WeakMap<TokenRecord, Map<string, Route>>();
const MAX_PATHS_PER_RECORD = 64;

/** The path of a request URL exactly as sent, before any decoding; no query string. */
export function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("//") + 2;
  const pathStart = url.indexOf("/", afterScheme);
  if (pathStart < 0) return "/";
  const end = url.search(/[?#]/);
  return end < 0 ? url.slice(pathStart) : url.slice(pathStart, end);
}

/** The query string exactly as sent, including the leading `?`, or "". */
export function rawQueryOf(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const hash = url.indexOf("#", q);
  return hash < 0 ? url.slice(q) : url.slice(q, hash);
}
