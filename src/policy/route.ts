import { accessAllows, levelsAllowing } from "./access";
import { canonicalSegments } from "./canonical";
import { isValidTenantId, TENANT_ID_RULE } from "./tenant";
import { refuse, type Grant, type Refusal, type RequestClass, type RouteDecision } from "./types";
import { isNeverForwarded, matchRoute, tenantPrefixOf, type Component, type Match } from "./url-map";

export type { AccessLevel, DeploymentType, Grant, RequestClass, RouteDecision, RouteTarget } from "./types";

type Accepted = Extract<RouteDecision, { ok: true }>;

/**
 * Design §2 steps 4 and 5 as one pure decision: is `rawPath` (as sent, before decoding, without
 * the query string) canonical, which VictoriaMetrics API is it, which upstream and exact path does
 * it go to, and does the grant allow it. Nothing outside the URL map is ever forwarded.
 *
 * Order: canonical form → never-forwarded paths → deployment and tenant rules → access level.
 * A grant's `tenantId` is honoured on clusters only; single-node has no tenants and ignores it.
 */
export function routeRequest(grant: Grant, rawPath: string): RouteDecision {
  const canonical = canonicalSegments(rawPath);
  if (!canonical.ok) {
    return refuse(403, "non_canonical_path", `Refused a non-canonical path: ${canonical.problem}; send the plain path, without escapes, dot segments or doubled slashes.`);
  }
  const segments = canonical.segments;
  if (isNeverForwarded(segments)) {
    return refuse(403, "forbidden_path", `${shown(rawPath)} is an internal VictoriaMetrics endpoint that is never reachable through an access token.`);
  }
  const routed =
    grant.deploymentType === "single_node"
      ? routeSingleNode(rawPath, segments)
      : grant.tenantId === undefined
        ? routeClusterRegular(rawPath, segments)
        : routeClusterTenant(grant.tenantId, rawPath, segments);
  return routed.ok ? checkAccess(grant, routed) : routed;
}

/**
 * The class of the API `rawPath` names, whatever the grant's access level: what a request refused
 * for its access level, tenant, label scope, address or credential was trying to do (per-token
 * usage counts it so).
 * Undefined when the path names no forwardable API for this deployment.
 */
export function requestClassOf(grant: Grant, rawPath: string): RequestClass | undefined {
  const routed = routeRequest({ ...grant, access: "rw" }, rawPath);
  if (routed.ok) return routed.requestClass;
  if (grant.deploymentType === "single_node" || !TENANT_REFUSALS.has(routed.code)) return undefined;
  // Refused for its tenant (none, an invalid one, or one a pinned token must not name): the API
  // the path names in the cluster's URL map, tenant aside.
  const canonical = canonicalSegments(rawPath);
  if (!canonical.ok) return undefined;
  const prefix = tenantPrefixOf(canonical.segments);
  const match = prefix ? matchRoute(prefix.rest, "cluster", prefix.component) : matchRoute(canonical.segments, "any");
  return match?.route.requestClass;
}

const TENANT_REFUSALS: ReadonlySet<string> = new Set(["tenant_required", "invalid_tenant", "tenant_in_path"]);

function routeSingleNode(rawPath: string, segments: string[]): RouteDecision {
  const prefix = tenantPrefixOf(segments);
  if (prefix) {
    return refuse(404, "unknown_path", `This is a single-node deployment: paths have no /${prefix.component}/<tenant> prefix; send e.g. /api/v1/write or /api/v1/query.`);
  }
  const match = matchRoute(segments, "single");
  if (!match) return unknownPath(rawPath);
  return { ok: true, target: "upstream", path: rawPath, requestClass: match.route.requestClass };
}

/** A regular token on a cluster names the tenant itself: `/insert/<T>/...`, `/select/<T>/...`, `/delete/<T>/...`. */
function routeClusterRegular(rawPath: string, segments: string[]): RouteDecision {
  const prefix = tenantPrefixOf(segments);
  if (!prefix) {
    const match = matchRoute(segments, "any");
    if (!match) return unknownPath(rawPath);
    return refuse(403, "tenant_required", `This cluster deployment needs the tenant in the path: send ${clusterExample(match)}, or use a tenant-specific token.`);
  }
  if (!isValidTenantId(prefix.tenant)) {
    return refuse(403, "invalid_tenant", `${shown(prefix.tenant || "(empty)")} is not a tenant: it ${TENANT_ID_RULE}.`);
  }
  const match = matchRoute(prefix.rest, "cluster", prefix.component);
  if (!match) return unknownClusterSuffix(rawPath, prefix.component, prefix.rest);
  return accepted(prefix.component, prefix.tenant, rawPath, match.route.requestClass);
}

/** A tenant-specific token must not name a tenant; the path is rewritten to its pinned tenant. */
function routeClusterTenant(tenant: string, rawPath: string, segments: string[]): RouteDecision {
  if (!isValidTenantId(tenant)) {
    return refuse(403, "invalid_tenant", "This token's tenant is not a valid accountID[:projectID]; create a new tenant-specific token.");
  }
  const prefix = tenantPrefixOf(segments);
  if (prefix) {
    return refuse(403, "tenant_in_path", `This token is pinned to tenant ${tenant}: drop the /${prefix.component}/<tenant> prefix and send e.g. /prometheus/api/v1/write.`);
  }
  const match = matchRoute(segments, "any");
  if (!match) return unknownPath(rawPath);
  const { component, requestClass } = match.route;
  return accepted(component, tenant, `/${component}/${tenant}${match.clusterSuffix}`, requestClass);
}

function accepted(component: Component, tenantId: string, path: string, requestClass: RequestClass): Accepted {
  return { ok: true, target: component === "insert" ? "insert" : "select", path, requestClass, tenantId };
}

function checkAccess(grant: Grant, decision: Accepted): RouteDecision {
  if (accessAllows(grant.access, decision.requestClass)) return decision;
  const needs = levelsAllowing(decision.requestClass).map((l) => `"${l}"`).join(" or ");
  return refuse(403, "insufficient_access", `This token has access "${grant.access}", but this is a ${decision.requestClass} request, which needs ${needs}; use a token with that access level.`);
}

function unknownPath(rawPath: string): Refusal {
  if (rawPath.includes("%")) {
    return refuse(403, "non_canonical_path", "Percent-escapes are allowed only in label and tag name segments; send the rest of the path unescaped.");
  }
  const hint = rawPath.length > 1 && rawPath.endsWith("/") ? " (remove the trailing slash)" : " (paths are case-sensitive)";
  return refuse(404, "unknown_path", `${shown(rawPath)} is not a VictoriaMetrics API path${hint}; check the URL against the VictoriaMetrics API docs.`);
}

/** After a valid tenant, point at the right component when the API lives under another one. */
function unknownClusterSuffix(rawPath: string, component: Component, rest: string[]): Refusal {
  const elsewhere = matchRoute(rest, "cluster");
  if (!elsewhere || rawPath.includes("%")) return unknownPath(rawPath);
  return refuse(404, "unknown_path", `/${component}/<tenant> does not serve this API; send it as ${clusterExample(elsewhere)}.`);
}

/** The endpoint's cluster form with placeholders, e.g. `/insert/<accountID>/prometheus/api/v1/write`. */
function clusterExample(match: Match): string {
  return `/${match.route.component}/<accountID>${match.route.cluster}`;
}

/** A short, sanitised rendering of client input for messages: never more than 48 safe characters. */
function shown(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9/_.:-]/g, "?");
  return safe.length > 48 ? `${safe.slice(0, 48)}...` : safe;
}
