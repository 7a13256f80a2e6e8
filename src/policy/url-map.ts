import { compile, matchSlots, render, type Slot } from "./template";
import type { RequestClass } from "./types";

/**
 * The VictoriaMetrics URL map (design §5) as data: every API path the authorizer forwards, its
 * request class, and the cluster component that serves it. Anything not listed is never forwarded.
 *
 * Each row is one endpoint with all the spellings VictoriaMetrics accepts for it:
 * - `cluster`: canonical suffix after `/<component>/<tenant>` on a cluster (vminsert for `insert`,
 *   vmselect for `select` and `delete`). A tenant-specific token is rewritten to this spelling.
 * - `clusterAlso`: other suffixes vminsert/vmselect accept after the tenant (forwarded as sent).
 * - `single`: paths single-node answers (forwarded as sent). A tenant-specific token may use these
 *   too — `/api/v1/write` becomes `/insert/<T>/prometheus/api/v1/write`.
 *
 * Templates may hold `{name}` (a free-form label or tag name: the only place percent-escapes are
 * accepted), `{word}` and `{file}` slots, `+` for one or more segments; see template.ts.
 * Literal rows come before `{name}` rows that could match the same text (`/graphite/tags/tagSeries`
 * before `/graphite/tags/{name}`), and the first matching row wins.
 *
 * Choices where design §5 is silent, made for what a VictoriaMetrics Cloud user would expect:
 * - Only endpoints VictoriaMetrics documents are listed; `/datadog/...` and `/newrelic/...` are the
 *   concrete agent endpoints vminsert serves, `status/*` is the read-only status pages (tsdb,
 *   buildinfo, active_queries, top_queries, metric_names_stats) — not `status/config`, which shows
 *   scrape configuration.
 * - vminsert's bare remote-write base `/insert/<T>/prometheus` and `/insert/<T>/prometheus/` (the
 *   `-remoteWrite.url` its docs show) are accepted on clusters; single-node has no such path.
 * - Datadog paths also with a trailing slash (VictoriaMetrics trims it for legacy Datadog agents);
 *   everywhere else a trailing slash is an unknown path.
 * - The Prometheus pushgateway form `/api/v1/import/prometheus/metrics/job/<name>/...` is a write.
 * - `/vmui`, `/vmui/` and `/vmui/<assets>` (also under `/prometheus`) are reads, as are the helper
 *   endpoints vmui calls (`prettify-query`, `expand-with-exprs`) and Graphite `functions`. vmalert's
 *   UI proxy (`/prometheus/vmalert/...`) and relabel debuggers are not forwarded.
 * - Graphite `tagSeries`/`tagMultiSeries` are writes served by vmselect; `tags/delSeries` is a delete.
 * - Influx `/query` and `/influx/health` (what Telegraf calls before writing) are writes, so a
 *   write-only agent token works end to end.
 */

export type Component = "insert" | "select" | "delete";

export interface ApiRoute {
  requestClass: RequestClass;
  component: Component;
  cluster: string;
  clusterAlso: readonly string[];
  single: readonly string[];
}

interface Spellings {
  clusterAlso?: string[];
  single?: string[];
}

/** An endpoint spelled the same on single-node and after a cluster tenant (`/influx/write`). */
function same(component: Component, requestClass: RequestClass, path: string, more: Spellings = {}): ApiRoute {
  return { requestClass, component, cluster: path, clusterAlso: more.clusterAlso ?? [], single: [path, ...(more.single ?? [])] };
}

/** A Prometheus-API endpoint: `/prometheus<path>` on a cluster; single-node answers `<path>` and `/prometheus<path>`. */
function prom(component: Component, requestClass: RequestClass, path: string, more: Spellings = {}): ApiRoute {
  const cluster = `/prometheus${path}`;
  return { requestClass, component, cluster, clusterAlso: more.clusterAlso ?? [], single: [path, cluster, ...(more.single ?? [])] };
}

/** A Datadog agent endpoint; legacy agents add a trailing slash, which VictoriaMetrics trims. */
function datadog(path: string): ApiRoute {
  const p = `/datadog${path}`;
  return same("insert", "write", p, { clusterAlso: [`${p}/`], single: [`${p}/`] });
}

/** vmui pages, also reachable under `/prometheus`. */
function vmui(path: string): ApiRoute {
  return same("select", "read", path, { clusterAlso: [`/prometheus${path}`], single: [`/prometheus${path}`] });
}

export const API_ROUTES: readonly ApiRoute[] = [
  // Ingestion — vminsert, class write.
  prom("insert", "write", "/api/v1/write", {
    clusterAlso: ["/prometheus/api/v1/push", "/prometheus", "/prometheus/"],
    single: ["/api/v1/push", "/prometheus/api/v1/push"],
  }),
  prom("insert", "write", "/api/v1/import"),
  prom("insert", "write", "/api/v1/import/csv"),
  prom("insert", "write", "/api/v1/import/native"),
  prom("insert", "write", "/api/v1/import/prometheus"),
  prom("insert", "write", "/api/v1/import/prometheus/metrics/job/{name+}"),
  same("insert", "write", "/influx/write", { single: ["/write"] }),
  same("insert", "write", "/influx/api/v2/write", { single: ["/api/v2/write"] }),
  same("insert", "write", "/influx/query", { single: ["/query"] }),
  same("insert", "write", "/influx/health"),
  same("insert", "write", "/opentelemetry/v1/metrics"),
  same("insert", "write", "/opentelemetry/api/v1/push"),
  datadog("/api/v1/series"),
  datadog("/api/v2/series"),
  datadog("/api/beta/sketches"),
  datadog("/api/v1/validate"),
  datadog("/api/v1/check_run"),
  datadog("/api/v1/metadata"),
  datadog("/intake"),
  same("insert", "write", "/newrelic"),
  same("insert", "write", "/newrelic/inventory/deltas"),
  same("insert", "write", "/newrelic/infra/v2/metrics/events/bulk"),

  // Prometheus querying API — vmselect, class read.
  prom("select", "read", "/api/v1/query"),
  prom("select", "read", "/api/v1/query_range"),
  prom("select", "read", "/api/v1/query_exemplars"),
  prom("select", "read", "/api/v1/series"),
  prom("select", "read", "/api/v1/series/count"),
  prom("select", "read", "/api/v1/labels"),
  prom("select", "read", "/api/v1/label/{name}/values"),
  prom("select", "read", "/api/v1/metadata"),
  prom("select", "read", "/api/v1/status/tsdb"),
  prom("select", "read", "/api/v1/status/buildinfo"),
  prom("select", "read", "/api/v1/status/active_queries"),
  prom("select", "read", "/api/v1/status/top_queries"),
  prom("select", "read", "/api/v1/status/metric_names_stats"),
  prom("select", "read", "/api/v1/export"),
  prom("select", "read", "/api/v1/export/csv"),
  prom("select", "read", "/api/v1/export/native"),
  prom("select", "read", "/federate"),
  prom("select", "read", "/api/v1/rules"),
  prom("select", "read", "/api/v1/alerts"),
  prom("select", "read", "/prettify-query", { clusterAlso: ["/prettify-query"] }),
  prom("select", "read", "/expand-with-exprs", { clusterAlso: ["/expand-with-exprs"] }),

  // Graphite API — vmselect. Literal tag paths first: they must win over /graphite/tags/{name}.
  same("select", "read", "/graphite/render"),
  same("select", "read", "/graphite/metrics/find"),
  same("select", "read", "/graphite/metrics/expand"),
  same("select", "read", "/graphite/metrics/index.json"),
  same("select", "read", "/graphite/functions"),
  same("select", "read", "/graphite/functions/{word}"),
  same("select", "read", "/graphite/tags"),
  same("select", "read", "/graphite/tags/findSeries"),
  same("select", "read", "/graphite/tags/autoComplete/tags"),
  same("select", "read", "/graphite/tags/autoComplete/values"),
  same("select", "write", "/graphite/tags/tagSeries"),
  same("select", "write", "/graphite/tags/tagMultiSeries"),
  same("select", "delete", "/graphite/tags/delSeries"),
  same("select", "read", "/graphite/tags/{name}"),

  // vmui — vmselect, class read.
  vmui("/vmui"),
  vmui("/vmui/"),
  vmui("/vmui/{file+}"),

  // Deleting series — vmselect under /delete, class delete.
  prom("delete", "delete", "/api/v1/admin/tsdb/delete_series"),
];

/**
 * Paths that are never forwarded, whatever the token (403): VictoriaMetrics' operational and
 * cross-tenant endpoints. Matched by leading segments after an optional `/<component>/<T>` and an
 * optional `/prometheus` (single-node strips that prefix). `/debug` (pprof) is added to design §5's
 * list. Everything under `/api/v1/admin` except delete_series is refused, which covers
 * `/api/v1/admin/status/<name>/reset`.
 */
const NEVER_FORWARDED: readonly string[][] = [
  ["internal"],
  ["snapshot"],
  ["-"],
  ["debug"],
  ["flags"],
  ["metrics"],
  ["admin"],
  ["api", "v1", "admin"],
];
const DELETE_SERIES = ["api", "v1", "admin", "tsdb", "delete_series"];

export function isNeverForwarded(segments: readonly string[]): boolean {
  let inner = tenantPrefixOf(segments)?.rest ?? segments;
  if (inner[0] === "prometheus") inner = inner.slice(1);
  if (startsWith(inner, DELETE_SERIES) && inner.length === DELETE_SERIES.length) return false;
  return NEVER_FORWARDED.some((prefix) => startsWith(inner, prefix));
}

/** A cluster path's `/<component>/<tenant>/<rest>` split; `tenant` may be anything, even missing (""). */
export interface TenantPrefix {
  component: Component;
  tenant: string;
  rest: string[];
}

export function tenantPrefixOf(segments: readonly string[]): TenantPrefix | undefined {
  const [first, tenant = "", ...rest] = segments;
  if (first !== "insert" && first !== "select" && first !== "delete") return undefined;
  return { component: first, tenant, rest };
}

interface CompiledRoute {
  route: ApiRoute;
  cluster: Slot[][];
  single: Slot[][];
}

const COMPILED: readonly CompiledRoute[] = API_ROUTES.map((route) => ({
  route,
  cluster: [route.cluster, ...route.clusterAlso].map(compile),
  single: route.single.map(compile),
}));

export interface Match {
  route: ApiRoute;
  captures: string[];
  /** The canonical cluster suffix with the captured names as they were sent. */
  clusterSuffix: string;
}

/** Which spellings to look at: after a cluster tenant, single-node paths, or both (tenant-specific tokens). */
export type SpellingSet = "cluster" | "single" | "any";

export function matchRoute(segments: readonly string[], set: SpellingSet, component?: Component): Match | undefined {
  for (const compiled of COMPILED) {
    if (component && compiled.route.component !== component) continue;
    const templates = set === "cluster" ? compiled.cluster : set === "single" ? compiled.single : [...compiled.cluster, ...compiled.single];
    for (const slots of templates) {
      const captures = matchSlots(slots, segments);
      if (captures) return { route: compiled.route, captures, clusterSuffix: render(compiled.cluster[0]!, captures) };
    }
  }
  return undefined;
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= segments.length && prefix.every((p, i) => segments[i] === p);
}
