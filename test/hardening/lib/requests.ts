import fc from "fast-check";

/**
 * Generated requests around every row of the classification table (design §5): concrete
 * spellings written out here (not taken from src/policy), put under cluster tenant prefixes with
 * good and bad tenants, then mutated with the tricks a path parser can be fooled by. Shared by
 * the workerd property test and the raw-socket test.
 */

/** Single-node spellings, forbidden endpoints and a few non-APIs. `{n}` is a label or tag name. */
export const SINGLE_PATHS = [
  "/api/v1/write", "/api/v1/push", "/prometheus/api/v1/write", "/prometheus/api/v1/push",
  "/api/v1/import", "/api/v1/import/csv", "/api/v1/import/native", "/api/v1/import/prometheus",
  "/api/v1/import/prometheus/metrics/job/{n}/instance/x", "/prometheus/api/v1/import",
  "/influx/write", "/influx/api/v2/write", "/write", "/api/v2/write", "/influx/query", "/query", "/influx/health",
  "/opentelemetry/v1/metrics", "/opentelemetry/api/v1/push",
  "/datadog/api/v1/series", "/datadog/api/v2/series", "/datadog/api/beta/sketches", "/datadog/api/v1/validate",
  "/datadog/api/v1/check_run", "/datadog/intake/", "/newrelic", "/newrelic/inventory/deltas", "/newrelic/infra/v2/metrics/events/bulk",
  "/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/series", "/api/v1/series/count",
  "/api/v1/labels", "/api/v1/label/{n}/values", "/api/v1/metadata", "/api/v1/status/tsdb", "/api/v1/status/buildinfo",
  "/api/v1/status/active_queries", "/api/v1/status/top_queries", "/api/v1/status/config",
  "/api/v1/export", "/api/v1/export/csv", "/api/v1/export/native", "/federate", "/prometheus/federate",
  "/prometheus/api/v1/query", "/prometheus/api/v1/query_range", "/prometheus/api/v1/label/{n}/values",
  "/graphite/render", "/graphite/metrics/find", "/graphite/metrics/expand", "/graphite/metrics/index.json",
  "/graphite/functions", "/graphite/tags", "/graphite/tags/{n}", "/graphite/tags/findSeries",
  "/graphite/tags/autoComplete/tags", "/graphite/tags/autoComplete/values",
  "/graphite/tags/tagSeries", "/graphite/tags/tagMultiSeries", "/graphite/tags/delSeries",
  "/vmui", "/vmui/", "/vmui/static/js/main.js", "/prometheus/vmui/", "/api/v1/rules", "/api/v1/alerts",
  "/prettify-query", "/expand-with-exprs",
  "/api/v1/admin/tsdb/delete_series", "/prometheus/api/v1/admin/tsdb/delete_series",
  "/internal/force_merge", "/internal/resetRollupResultCache", "/snapshot/create", "/snapshot/list",
  "/-/reload", "/flags", "/metrics", "/admin/tenants", "/api/v1/admin/status/top_queries/reset", "/debug/pprof/heap",
  "/prometheus/metrics", "/prometheus/api/v1/admin/status/x/reset",
  "/", "/wp-login.php", "/api/v1", "/api/v1/", "/prometheus", "/prometheus/",
];

export const NAMES = ["job", "__name__", "a%20b", "%C3%A9", "dc%3Aeu", "tagSeries", "x.y", "..", "%2e%2e", "multitenant"];

export const TENANTS_GOOD = ["0", "1", "7", "42", "42:7", "7:9", "4294967295", "4294967295:4294967295", "0:0"];
export const TENANTS_BAD = [
  "multitenant", "MULTITENANT", "multitenant:1", "", "01", "007", "42:07", "4294967296", "1:4294967296", "-1", "+1",
  "1:", ":1", "1:2:3", "0x2a", "42%3A7", "42%3a7", "%34%32", "4%32", "42 ", "42%20", "1e3", "٤٢", "42;7", "42,7", "*", ".", "..", "%2e",
];

export const tenantArb = fc.oneof(
  { arbitrary: fc.constantFrom(...TENANTS_GOOD), weight: 4 },
  { arbitrary: fc.constantFrom(...TENANTS_BAD), weight: 3 },
  { arbitrary: fc.tuple(fc.nat(), fc.option(fc.nat(), { nil: undefined })).map(([a, p]) => (p === undefined ? `${a}` : `${a}:${p}`)), weight: 1 },
);

const nameArb = fc.constantFrom(...NAMES);
const singleArb = fc.tuple(fc.constantFrom(...SINGLE_PATHS), nameArb).map(([p, n]) => p.replace("{n}", n));

/** A single-node spelling under `/<component>/<tenant>`; the component is usually the right one, not always. */
const clusterArb = fc
  .tuple(singleArb, fc.constantFrom("insert", "select", "delete", "right", "right", "right"), tenantArb)
  .map(([p, component, tenant]) => {
    const api = /^\/(prometheus|influx|graphite|vmui|datadog|newrelic|opentelemetry)/.test(p) ? p : `/prometheus${p}`;
    const right = /delete_series/.test(p) ? "delete" : /write|push|import|influx|opentelemetry|datadog|newrelic/.test(p) ? "insert" : "select";
    return `/${component === "right" ? right : component}/${tenant}${api}`;
  });

const FRAGMENTS = [
  "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%2f", "%2F", "%252f", "%252e", "%252E%252E", "%255c", "%5c", "%5C", "%00", "%0a", "%0d",
  "%20", "%3A", "%3a", "%3B", "%41", "%61", "%", "%zz", "%C3%A9", "%FF", "%c0%ae", "%e2%80%a8",
  "\\", "\\..\\", ";", ";a=b", ";jsessionid=1", "/", "//", "///", "/./", "/../", "/../../", ".", "..", "...",
  "\u0000", "\u0001", "\t", "\u001f", "\u007f", "é", "．", "。", "\u2028", " ", "?", "#", ":", "@", "~", "+", "&",
  "/insert/0", "/select/7", "/delete/7", "/multitenant", "/prometheus", "/vmui", "/graphite/tags", "/admin", "/internal",
];

export type Mutation =
  | { op: "insert"; at: number; text: string }
  | { op: "replaceSegment"; at: number; text: string }
  | { op: "dropSegment"; at: number }
  | { op: "flipCase"; at: number }
  | { op: "upperSegment"; at: number }
  | { op: "encode"; at: number; lower: boolean; twice: boolean }
  | { op: "prefix"; text: string }
  | { op: "suffix"; text: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })) }),
  fc.record({
    op: fc.constant("replaceSegment" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(".", "..", "", "%2e", "%2e%2e", ".%2E", "multitenant", "x".repeat(300), "API", "Query", "V1", "PROMETHEUS"), tenantArb),
  }),
  fc.record({ op: fc.constant("dropSegment" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("flipCase" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("upperSegment" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("encode" as const), at: fc.nat(), lower: fc.boolean(), twice: fc.boolean() }),
  fc.record({
    op: fc.constant("prefix" as const),
    text: fc.constantFrom("/prometheus", "/insert/0", "/select/7", "/select/42:7", "/delete/0", "/insert/multitenant", "/select/multitenant", "/", "//", "/.", "/..", "/%2e%2e", "\\"),
  }),
  fc.record({ op: fc.constant("suffix" as const), text: fc.constantFrom("/", "//", "/.", "/..", "/%2e%2e", "%2f", "%2F..", ";x", "\u0000", "%00", "/x", "/values", "/../../internal/force_merge", "\\") }),
);

function encodeChar(ch: string, lower: boolean): string {
  const hex = Array.from(new TextEncoder().encode(ch), (b) => "%" + b.toString(16).padStart(2, "0")).join("");
  return lower ? hex.toLowerCase() : hex.toUpperCase();
}

export function applyMutation(path: string, m: Mutation): string {
  const segments = path.split("/");
  const s = "at" in m ? 1 + (m.at % Math.max(1, segments.length - 1)) : 0;
  const i = "at" in m ? m.at % (path.length + 1) : 0;
  switch (m.op) {
    case "insert":
      return path.slice(0, i) + m.text + path.slice(i);
    case "replaceSegment":
      segments[s] = m.text;
      return segments.join("/");
    case "dropSegment":
      segments.splice(s, 1);
      return segments.join("/");
    case "flipCase": {
      const ch = path[i] ?? "";
      const flipped = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
      return path.slice(0, i) + flipped + path.slice(i + 1);
    }
    case "upperSegment":
      segments[s] = (segments[s] ?? "").toUpperCase();
      return segments.join("/");
    case "encode": {
      const at = Math.min(i, Math.max(0, path.length - 1));
      const ch = path[at] ?? "/";
      let enc = encodeChar(ch, m.lower);
      if (m.twice) enc = enc.replace(/%/g, "%25");
      return path.slice(0, at) + enc + path.slice(at + 1);
    }
    case "prefix":
      return m.text + path;
    case "suffix":
      return path + m.text;
  }
}

/**
 * A request path for a token: usually shaped for it (single-node spellings, or `/<component>/<T>`
 * for a regular cluster token), sometimes the other shape; mutated in most cases, left alone in
 * some so that accepted requests stay common and the property is not vacuous.
 */
export function pathFor(p: PathChoice, wantsTenantPrefix: boolean): string {
  const ownShape = p.shapeRoll < 8;
  const base = ownShape === wantsTenantPrefix ? p.cluster : p.single;
  return p.untouched < 3 ? base : p.mutations.reduce(applyMutation, base);
}

export interface PathChoice {
  single: string;
  cluster: string;
  mutations: Mutation[];
  shapeRoll: number;
  untouched: number;
}

export const pathChoiceArb: fc.Arbitrary<PathChoice> = fc.record({
  single: singleArb,
  cluster: clusterArb,
  mutations: fc.array(mutationArb, { maxLength: 3 }),
  shapeRoll: fc.nat(9),
  untouched: fc.nat(9),
});

const QUERY_PARAMS = [
  "query=up", "query=sum(rate(x%5B5m%5D))", "match[]=up", "match%5B%5D=%7Bjob%3D%22a%22%7D", "start=1&end=2&step=1",
  "extra_label=vm_account_id%3D7", "extra_label=tenant=1", "extra_label=vm_project_id=9",
  'extra_filters={vm_account_id="7"}', "extra_filters%5B%5D=%7Bvm_project_id%3D%229%22%7D", 'extra_filters[]={a="b"}',
  "AccountID=7", "ProjectID=9", "tenant=7:9", "accountID=1&projectID=2", "multitenant", "get_vm_proto_version=1",
  "db=x", "%2e%2e", "..", "/../select/0", "nocache=1", "x=%00", "x=%ZZ", "a=1&a=2", "", "&", "=",
];
export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant(""), weight: 2 },
  { arbitrary: fc.array(fc.constantFrom(...QUERY_PARAMS), { minLength: 1, maxLength: 4 }).map((ps) => "?" + ps.join("&")), weight: 5 },
  { arbitrary: fc.string({ maxLength: 12 }).map((s) => "?" + s), weight: 1 },
);

const FORM_BODIES = [
  "extra_label=vm_account_id%3D7&query=up",
  "query=up&extra_filters%5B%5D=%7Bvm_account_id%3D%227%22%7D",
  "extra_filters=%7Btenant%3D%221%22%7D",
  "AccountID=7&ProjectID=9",
  "up 1",
  'metric{job="a"} 1',
];

export interface GeneratedRequest {
  method: string;
  path: PathChoice;
  query: string;
  /** Header names as sent (case kept); values ASCII. */
  headers: Record<string, string>;
  body: string;
  token: number;
  auth: "bearer" | "bearer-lower" | "basic-password" | "basic-user";
}

export function requestArb(tokenCount: number): fc.Arbitrary<GeneratedRequest> {
  return fc.record({
    method: fc.constantFrom("GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD"),
    path: pathChoiceArb,
    query: queryArb,
    headers: fc.record(
      {
        AccountID: fc.constantFrom("7", "0", "multitenant", "42"),
        ProjectID: fc.constantFrom("9", "0", "7"),
        Cookie: fc.constant("session=abc"),
        "X-Forwarded-For": fc.constant("10.0.0.1"),
        "X-Forwarded-Host": fc.constant("vmselect.internal"),
        "X-Original-URL": fc.constant("/select/0/prometheus/api/v1/query"),
        "Content-Type": fc.constantFrom("application/x-www-form-urlencoded", "text/plain"),
      },
      { requiredKeys: [] },
    ),
    body: fc.constantFrom(...FORM_BODIES),
    token: fc.nat(tokenCount - 1),
    auth: fc.constantFrom("bearer", "bearer", "bearer-lower", "basic-password", "basic-user"),
  });
}

export function authorizationFor(auth: GeneratedRequest["auth"], secret: string): string {
  switch (auth) {
    case "bearer":
      return `Bearer ${secret}`;
    case "bearer-lower":
      return `bearer ${secret}`;
    case "basic-password":
      return `Basic ${btoa(`vmagent:${secret}`)}`;
    case "basic-user":
      return `Basic ${btoa(`${secret}:`)}`;
  }
}

/** Methods that carry the generated body. */
export const hasBody = (method: string) => method === "POST" || method === "PUT";

/** Run count and seed: small and fixed in `npm test`; the long script raises both (VITE_* reach workerd too). */
export function runSettings(defaultRuns: number): { numRuns: number; seed: number } {
  const env = ((import.meta as { env?: Record<string, string | undefined> }).env ?? {}) as Record<string, string | undefined>;
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const runs = env.VITE_HARDENING_RUNS ?? proc.VITE_HARDENING_RUNS ?? proc.HARDENING_RUNS;
  const seed = env.VITE_HARDENING_SEED ?? proc.VITE_HARDENING_SEED ?? proc.HARDENING_SEED;
  return { numRuns: runs ? Number(runs) : defaultRuns, seed: seed ? Number(seed) : 20260101 };
}
