/**
 * The tenant-isolation invariant, stated independently of src/policy (nothing is imported from
 * it): given what a token grants and what actually reached an upstream, list every way the
 * forwarded request goes beyond the grant. Pure; used by the workerd property test (upstream
 * mocked inside the isolate) and by the raw-socket test (real upstream over loopback).
 *
 * The upstream is judged by what VictoriaMetrics would do with the path: Go's net/http
 * percent-decodes it, vmselect also collapses `//`, and routing then reads the decoded segments.
 * So the decoded path must still be one plain API path of a class the token's access allows, on
 * the component that serves it, for a tenant the token may address.
 */

export type Access = "r" | "w" | "rw";
export type Klass = "read" | "write" | "delete";

export interface GrantUnderTest {
  /** For messages. */
  name: string;
  deploymentType: "single_node" | "cluster";
  access: Access;
  /** Tenant-specific cluster token. */
  tenant?: string;
  /** single_node: the upstream origin. */
  upstream?: string;
  /** cluster: vminsert and vmselect origins. */
  insert?: string;
  select?: string;
}

export interface Forwarded {
  method: string;
  /** The URL exactly as the Worker handed it to fetch (mock) or as the request line arrived (socket). */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ClientSide {
  method: string;
  /** The query string the Worker saw, including `?`, or "". */
  query: string;
  body: string;
  /** Secrets the client sent; none may reach the upstream. */
  secrets: string[];
}

const ALLOWED: Record<Access, Klass[]> = { r: ["read"], w: ["write"], rw: ["read", "write", "delete"] };

/** Design §5, written out again as regular expressions over the decoded path. */
const NAME = "[^/]+";
const RULES: { klass: Klass; re: RegExp }[] = [
  // Deletes first: they sit inside read/admin namespaces.
  { klass: "delete", re: /^(\/prometheus)?\/api\/v1\/admin\/tsdb\/delete_series$/ },
  { klass: "delete", re: /^\/graphite\/tags\/delSeries$/ },
  { klass: "write", re: /^\/graphite\/tags\/(tagSeries|tagMultiSeries)$/ },
  // Writes.
  { klass: "write", re: /^(\/prometheus)?\/api\/v1\/(write|push)$/ },
  { klass: "write", re: /^(\/prometheus)?\/api\/v1\/import(\/csv|\/native|\/prometheus(\/metrics\/job\/.+)?)?$/ },
  { klass: "write", re: /^(\/influx)?\/(write|api\/v2\/write|query)$/ },
  { klass: "write", re: /^\/influx\/health$/ },
  { klass: "write", re: /^\/opentelemetry\/(v1\/metrics|api\/v1\/push)$/ },
  { klass: "write", re: /^\/datadog\/.+$/ },
  { klass: "write", re: /^\/newrelic(\/.+)?$/ },
  // Reads.
  {
    klass: "read",
    re: new RegExp(
      `^(/prometheus)?/api/v1/(query|query_range|query_exemplars|series|series/count|labels|label/${NAME}/values|metadata|status/(tsdb|buildinfo|active_queries|top_queries|metric_names_stats)|export|export/csv|export/native|rules|alerts)$`,
    ),
  },
  { klass: "read", re: /^(\/prometheus)?\/(federate|prettify-query|expand-with-exprs)$/ },
  { klass: "read", re: new RegExp(`^/graphite/(render|metrics/(find|expand|index\\.json)|functions(/${NAME})?|tags|tags/findSeries|tags/autoComplete/(tags|values)|tags/${NAME})$`) },
  { klass: "read", re: /^(\/prometheus)?\/vmui(\/.*)?$/ },
];
/** Cluster-only remote-write base that vminsert accepts. */
const INSERT_BASE = /^\/prometheus\/?$/;
/** Never forwarded, whatever the token (design §5), matched on decoded segments after the tenant prefix. */
const NEVER = /^(\/prometheus)?\/(internal|snapshot|-|debug|flags|metrics|admin|api\/v1\/admin\/(?!tsdb\/delete_series$)|api\/v1\/status\/config)(\/|$)/;

export function classify(decodedPath: string, cluster: boolean): Klass | "never" | undefined {
  if (NEVER.test(decodedPath)) return "never";
  if (cluster && INSERT_BASE.test(decodedPath)) return "write";
  return RULES.find((r) => r.re.test(decodedPath))?.klass;
}

function isUint32(s: string): boolean {
  return /^(0|[1-9][0-9]{0,9})$/.test(s) && Number(s) <= 4294967295;
}
export function isTenant(t: string): boolean {
  const parts = t.split(":");
  return parts.length <= 2 && parts.every(isUint32);
}

/** Splits a raw URL string without any URL parser (which would normalise what we must judge). */
export function splitRawUrl(url: string): { origin: string; path: string; query: string } {
  const schemeEnd = url.indexOf("://");
  const hostStart = schemeEnd < 0 ? 0 : schemeEnd + 3;
  const pathStart = url.slice(hostStart).search(/[/?#]/);
  const origin = pathStart < 0 ? url : url.slice(0, hostStart + pathStart);
  const rest = pathStart < 0 ? "" : url.slice(hostStart + pathStart);
  const q = rest.search(/[?#]/);
  const path = q < 0 ? rest : rest.slice(0, q);
  const afterPath = q < 0 ? "" : rest.slice(q);
  const hash = afterPath.indexOf("#");
  const query = afterPath.startsWith("?") ? (hash < 0 ? afterPath : afterPath.slice(0, hash)) : "";
  return { origin, path, query };
}

/** Go-style percent-decoding of a path: every %XX decoded; a malformed escape is an error. */
export function goUnescapePath(path: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    if (ch === 0x25) {
      const hex = path.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      bytes.push(...new TextEncoder().encode(path[i]!));
    }
  }
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(new Uint8Array(bytes));
}

/**
 * Every way `sent` exceeds `grant`. Empty means the forwarded request is within the grant:
 * right upstream, a plain API path after decoding, an allowed class, an allowed tenant, the
 * query byte for byte, the body unchanged, no credential or tenant header.
 */
export function violations(grant: GrantUnderTest, client: ClientSide, sent: Forwarded): string[] {
  const out: string[] = [];
  const { origin, path, query } = splitRawUrl(sent.url);
  const decoded = goUnescapePath(path);
  if (decoded === undefined) return [`forwarded a path with a malformed escape: ${path}`];
  if (!decoded.startsWith("/")) out.push(`forwarded path does not start with /: ${path}`);
  const segments = decoded.slice(1).split("/");
  segments.forEach((s, i) => {
    if (s === "." || s === "..") out.push(`forwarded a dot segment (after decoding): ${path}`);
    if (s === "" && i < segments.length - 1) out.push(`forwarded an empty segment (vmselect collapses //): ${path}`);
  });
  if (/[\\\x00-\x1f\x7f;]/.test(decoded)) out.push(`forwarded a backslash, ';' or control byte (after decoding): ${JSON.stringify(path)}`);
  if (path !== decoded && /%2f|%5c|%2e|%25|%00/i.test(path)) out.push(`forwarded an encoded separator/dot/percent/NUL: ${path}`);

  let apiPath = decoded;
  let expectedOrigin: string | undefined;
  if (grant.deploymentType === "single_node") {
    expectedOrigin = grant.upstream;
    if (/^\/(insert|select|delete)\//.test(decoded)) out.push(`single-node got a cluster tenant path: ${path}`);
  } else {
    const [component, tenant = "", ...rest] = segments;
    apiPath = "/" + rest.join("/");
    if (component === "insert") expectedOrigin = grant.insert;
    else if (component === "select" || component === "delete") expectedOrigin = grant.select;
    else out.push(`cluster path without /insert|/select|/delete: ${path}`);
    if (!isTenant(tenant)) out.push(`forwarded tenant ${JSON.stringify(tenant)} is not accountID[:projectID] uint32 (multitenant and friends must never pass)`);
    if (grant.tenant !== undefined && tenant !== grant.tenant) out.push(`tenant-specific token (${grant.tenant}) reached tenant ${JSON.stringify(tenant)}`);
    const klass = classify(apiPath, true);
    // The component must be the one that serves the class.
    if (component === "insert" && klass !== "write") out.push(`vminsert got a ${klass ?? "non-API"} path: ${path}`);
    if (component === "delete" && klass !== "delete") out.push(`/delete got a ${klass ?? "non-API"} path: ${path}`);
  }
  if (origin !== expectedOrigin) out.push(`reached ${origin}, not the token's upstream ${expectedOrigin ?? "(none)"}`);

  const klass = classify(apiPath, grant.deploymentType === "cluster");
  if (klass === undefined) out.push(`forwarded a path that is no VictoriaMetrics API: ${path}`);
  else if (klass === "never") out.push(`forwarded a never-forwarded endpoint: ${path}`);
  else if (!ALLOWED[grant.access].includes(klass)) out.push(`a "${grant.access}" token made a ${klass} request: ${path}`);

  if (query !== client.query) out.push(`query changed: sent ${JSON.stringify(client.query)}, upstream got ${JSON.stringify(query)}`);
  if (sent.method !== client.method) out.push(`method changed: ${client.method} → ${sent.method}`);
  if (sent.body !== client.body) out.push("body changed on the way");
  for (const h of ["authorization", "cookie", "accountid", "projectid", "proxy-authorization"]) {
    if (sent.headers[h] !== undefined) out.push(`header ${h} reached the upstream`);
  }
  const wire = JSON.stringify(sent);
  for (const secret of client.secrets) if (secret && wire.includes(secret)) out.push("a client secret reached the upstream");
  return out;
}

/** Statuses the Worker may answer when it forwards nothing for an auth/routing problem. */
export const REFUSAL_STATUSES = new Set([401, 403, 404]);
