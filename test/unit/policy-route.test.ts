import { describe, expect, it } from "vitest";
import { requestClassOf, routeRequest, type AccessLevel, type Grant, type RequestClass } from "../../src/policy/route";

/**
 * Design §5, row by row, written out by hand (independent of src/policy/url-map.ts).
 * `single`: paths a single-node deployment answers (also what a tenant-specific token may send).
 * `cluster`: the cluster path, T standing for the tenant; `rest` is what a tenant-specific token
 * sends instead of it (the cluster path without /insert/T, /select/T or /delete/T).
 */
interface Row {
  single: string[];
  cluster: string;
  requestClass: RequestClass;
}

const DESIGN_TABLE: Row[] = [
  // write
  { single: ["/api/v1/write", "/api/v1/push", "/prometheus/api/v1/write"], cluster: "/insert/T/prometheus/api/v1/write", requestClass: "write" },
  { single: ["/api/v1/import", "/prometheus/api/v1/import"], cluster: "/insert/T/prometheus/api/v1/import", requestClass: "write" },
  { single: ["/api/v1/import/csv"], cluster: "/insert/T/prometheus/api/v1/import/csv", requestClass: "write" },
  { single: ["/api/v1/import/native"], cluster: "/insert/T/prometheus/api/v1/import/native", requestClass: "write" },
  { single: ["/api/v1/import/prometheus"], cluster: "/insert/T/prometheus/api/v1/import/prometheus", requestClass: "write" },
  { single: ["/influx/write", "/write"], cluster: "/insert/T/influx/write", requestClass: "write" },
  { single: ["/influx/api/v2/write", "/api/v2/write"], cluster: "/insert/T/influx/api/v2/write", requestClass: "write" },
  { single: ["/influx/query"], cluster: "/insert/T/influx/query", requestClass: "write" },
  { single: ["/influx/health"], cluster: "/insert/T/influx/health", requestClass: "write" },
  { single: ["/opentelemetry/v1/metrics"], cluster: "/insert/T/opentelemetry/v1/metrics", requestClass: "write" },
  { single: ["/opentelemetry/api/v1/push"], cluster: "/insert/T/opentelemetry/api/v1/push", requestClass: "write" },
  { single: ["/datadog/api/v1/series"], cluster: "/insert/T/datadog/api/v1/series", requestClass: "write" },
  { single: ["/datadog/api/v2/series"], cluster: "/insert/T/datadog/api/v2/series", requestClass: "write" },
  { single: ["/newrelic/infra/v2/metrics/events/bulk"], cluster: "/insert/T/newrelic/infra/v2/metrics/events/bulk", requestClass: "write" },
  // read: Prometheus querying API
  { single: ["/api/v1/query", "/prometheus/api/v1/query"], cluster: "/select/T/prometheus/api/v1/query", requestClass: "read" },
  { single: ["/api/v1/query_range"], cluster: "/select/T/prometheus/api/v1/query_range", requestClass: "read" },
  { single: ["/api/v1/query_exemplars"], cluster: "/select/T/prometheus/api/v1/query_exemplars", requestClass: "read" },
  { single: ["/api/v1/series"], cluster: "/select/T/prometheus/api/v1/series", requestClass: "read" },
  { single: ["/api/v1/series/count"], cluster: "/select/T/prometheus/api/v1/series/count", requestClass: "read" },
  { single: ["/api/v1/labels"], cluster: "/select/T/prometheus/api/v1/labels", requestClass: "read" },
  { single: ["/api/v1/label/job/values", "/prometheus/api/v1/label/job/values"], cluster: "/select/T/prometheus/api/v1/label/job/values", requestClass: "read" },
  { single: ["/api/v1/label/__name__/values"], cluster: "/select/T/prometheus/api/v1/label/__name__/values", requestClass: "read" },
  { single: ["/api/v1/metadata"], cluster: "/select/T/prometheus/api/v1/metadata", requestClass: "read" },
  { single: ["/api/v1/status/tsdb"], cluster: "/select/T/prometheus/api/v1/status/tsdb", requestClass: "read" },
  { single: ["/api/v1/status/buildinfo"], cluster: "/select/T/prometheus/api/v1/status/buildinfo", requestClass: "read" },
  { single: ["/api/v1/export"], cluster: "/select/T/prometheus/api/v1/export", requestClass: "read" },
  { single: ["/api/v1/export/csv"], cluster: "/select/T/prometheus/api/v1/export/csv", requestClass: "read" },
  { single: ["/api/v1/export/native"], cluster: "/select/T/prometheus/api/v1/export/native", requestClass: "read" },
  { single: ["/federate", "/prometheus/federate"], cluster: "/select/T/prometheus/federate", requestClass: "read" },
  // read: Graphite
  { single: ["/graphite/render"], cluster: "/select/T/graphite/render", requestClass: "read" },
  { single: ["/graphite/metrics/find"], cluster: "/select/T/graphite/metrics/find", requestClass: "read" },
  { single: ["/graphite/metrics/expand"], cluster: "/select/T/graphite/metrics/expand", requestClass: "read" },
  { single: ["/graphite/metrics/index.json"], cluster: "/select/T/graphite/metrics/index.json", requestClass: "read" },
  { single: ["/graphite/tags"], cluster: "/select/T/graphite/tags", requestClass: "read" },
  { single: ["/graphite/tags/env"], cluster: "/select/T/graphite/tags/env", requestClass: "read" },
  { single: ["/graphite/tags/findSeries"], cluster: "/select/T/graphite/tags/findSeries", requestClass: "read" },
  { single: ["/graphite/tags/autoComplete/tags"], cluster: "/select/T/graphite/tags/autoComplete/tags", requestClass: "read" },
  { single: ["/graphite/tags/autoComplete/values"], cluster: "/select/T/graphite/tags/autoComplete/values", requestClass: "read" },
  // write served by vmselect
  { single: ["/graphite/tags/tagSeries"], cluster: "/select/T/graphite/tags/tagSeries", requestClass: "write" },
  { single: ["/graphite/tags/tagMultiSeries"], cluster: "/select/T/graphite/tags/tagMultiSeries", requestClass: "write" },
  // read: vmui, rules, alerts
  { single: ["/vmui/", "/prometheus/vmui/"], cluster: "/select/T/vmui/", requestClass: "read" },
  { single: ["/vmui/static/js/main.1a2b3c.js"], cluster: "/select/T/vmui/static/js/main.1a2b3c.js", requestClass: "read" },
  { single: ["/api/v1/rules"], cluster: "/select/T/prometheus/api/v1/rules", requestClass: "read" },
  { single: ["/api/v1/alerts"], cluster: "/select/T/prometheus/api/v1/alerts", requestClass: "read" },
  // delete
  { single: ["/api/v1/admin/tsdb/delete_series", "/prometheus/api/v1/admin/tsdb/delete_series"], cluster: "/delete/T/prometheus/api/v1/admin/tsdb/delete_series", requestClass: "delete" },
  { single: ["/graphite/tags/delSeries"], cluster: "/select/T/graphite/tags/delSeries", requestClass: "delete" },
];

const NEVER_FORWARDED = [
  "/internal/force_merge",
  "/internal/resetRollupResultCache",
  "/snapshot/create",
  "/snapshot/delete_all",
  "/-/reload",
  "/-/healthy",
  "/flags",
  "/metrics",
  "/admin/tenants",
  "/api/v1/admin/status/metric_names_stats/reset",
  "/api/v1/admin/tsdb/snapshot",
  "/debug/pprof/heap",
];

const TENANTS = ["0", "42", "7:9", "4294967295", "4294967295:4294967295"];
const single = (access: AccessLevel = "rw"): Grant => ({ deploymentType: "single_node", access });
const regular = (access: AccessLevel = "rw"): Grant => ({ deploymentType: "cluster", access });
const pinned = (tenantId: string, access: AccessLevel = "rw"): Grant => ({ deploymentType: "cluster", access, tenantId });

/** The path a tenant-specific token sends for a cluster path: without /insert/T etc. */
const restOf = (clusterPath: string) => clusterPath.replace(/^\/(insert|select|delete)\/T/, "");
const withTenant = (clusterPath: string, tenant: string) => clusterPath.replace("/T/", `/${tenant}/`);
const targetOf = (clusterPath: string) => (clusterPath.startsWith("/insert/") ? "insert" : "select");

describe("design §5 table: single-node", () => {
  for (const row of DESIGN_TABLE) {
    for (const path of row.single) {
      it(`${path} → upstream, unchanged, ${row.requestClass}`, () => {
        expect(routeRequest(single(), path)).toEqual({ ok: true, target: "upstream", path, requestClass: row.requestClass });
      });
    }
    it(`${row.cluster} → 404 (not a single-node path)`, () => {
      const d = routeRequest(single(), withTenant(row.cluster, "0"));
      expect(d).toMatchObject({ ok: false, status: 404, code: "unknown_path" });
      if (!d.ok) expect(d.reason).toContain("single-node");
    });
  }
});

describe("design §5 table: cluster, regular token", () => {
  for (const row of DESIGN_TABLE) {
    it(`${row.cluster} → ${targetOf(row.cluster)}, unchanged, ${row.requestClass}, for every tenant form`, () => {
      for (const tenant of TENANTS) {
        const path = withTenant(row.cluster, tenant);
        expect(routeRequest(regular(), path)).toEqual({ ok: true, target: targetOf(row.cluster), path, requestClass: row.requestClass, tenantId: tenant });
      }
    });
    it(`${row.single.join(", ")} without a tenant → 403 tenant_required`, () => {
      for (const path of [...row.single, restOf(row.cluster)]) {
        const d = routeRequest(regular(), path);
        expect(d).toMatchObject({ ok: false, status: 403, code: "tenant_required" });
        if (!d.ok) expect(d.reason).toMatch(/^This cluster deployment needs the tenant in the path: send \/(insert|select|delete)\/<accountID>\//);
      }
    });
  }
});

describe("design §5 table: cluster, tenant-specific token", () => {
  for (const row of DESIGN_TABLE) {
    const inputs = [...new Set([...row.single, restOf(row.cluster)])];
    it(`${inputs.join(", ")} → ${withTenant(row.cluster, "<T>")}, ${row.requestClass}`, () => {
      for (const tenant of TENANTS) {
        for (const path of inputs) {
          expect(routeRequest(pinned(tenant), path), path).toEqual({
            ok: true,
            target: targetOf(row.cluster),
            path: withTenant(row.cluster, tenant),
            requestClass: row.requestClass,
            tenantId: tenant,
          });
        }
      }
    });
    it(`${row.cluster} naming a tenant → 403 tenant_in_path`, () => {
      for (const tenant of ["7", "8", "0"]) {
        expect(routeRequest(pinned("7"), withTenant(row.cluster, tenant))).toMatchObject({ ok: false, status: 403, code: "tenant_in_path" });
      }
    });
  }
});

describe("design §5 table: never forwarded", () => {
  const grants = [single(), regular(), pinned("3")];
  const prefixes = ["", "/prometheus", "/insert/0", "/select/0", "/delete/0", "/select/0/prometheus", "/insert/multitenant"];
  for (const path of NEVER_FORWARDED) {
    it(`${path} (and under ${prefixes.filter(Boolean).join(", ")}) → 403 forbidden_path`, () => {
      for (const grant of grants) {
        for (const prefix of prefixes) {
          expect(routeRequest(grant, prefix + path), prefix + path).toMatchObject({ ok: false, status: 403, code: "forbidden_path" });
        }
      }
    });
  }
});

describe("access levels against request classes", () => {
  const samples: Record<RequestClass, { single: string; cluster: string; rest: string }> = {
    read: { single: "/api/v1/query", cluster: "/select/1/prometheus/api/v1/query", rest: "/prometheus/api/v1/query" },
    write: { single: "/api/v1/write", cluster: "/insert/1/prometheus/api/v1/write", rest: "/prometheus/api/v1/write" },
    delete: { single: "/api/v1/admin/tsdb/delete_series", cluster: "/delete/1/prometheus/api/v1/admin/tsdb/delete_series", rest: "/prometheus/api/v1/admin/tsdb/delete_series" },
  };
  const allowed: Record<AccessLevel, RequestClass[]> = { r: ["read"], w: ["write"], rw: ["read", "write", "delete"] };
  const needs: Record<RequestClass, string> = { read: `"r" or "rw"`, write: `"w" or "rw"`, delete: `"rw"` };

  for (const access of ["r", "w", "rw"] as const) {
    for (const requestClass of ["read", "write", "delete"] as const) {
      const ok = allowed[access].includes(requestClass);
      it(`${access} ${ok ? "allows" : "refuses"} ${requestClass}`, () => {
        const cases: [Grant, string][] = [
          [single(access), samples[requestClass].single],
          [regular(access), samples[requestClass].cluster],
          [pinned("1", access), samples[requestClass].rest],
          [pinned("1", access), samples[requestClass].single],
        ];
        for (const [grant, path] of cases) {
          const d = routeRequest(grant, path);
          if (ok) {
            expect(d).toMatchObject({ ok: true, requestClass });
          } else {
            expect(d).toMatchObject({ ok: false, status: 403, code: "insufficient_access" });
            if (!d.ok) expect(d.reason).toBe(`This token has access "${access}", but this is a ${requestClass} request, which needs ${needs[requestClass]}; use a token with that access level.`);
          }
        }
      });
    }
  }

  it("graphite delSeries is a delete and tagSeries a write, though both go to vmselect", () => {
    expect(routeRequest(regular("w"), "/select/1/graphite/tags/delSeries")).toMatchObject({ ok: false, code: "insufficient_access" });
    expect(routeRequest(regular("r"), "/select/1/graphite/tags/tagSeries")).toMatchObject({ ok: false, code: "insufficient_access" });
    expect(routeRequest(regular("w"), "/select/1/graphite/tags/tagSeries")).toMatchObject({ ok: true, target: "select", requestClass: "write" });
  });
});

describe("choices where the design is silent", () => {
  it("accepts vminsert's bare remote-write base on clusters only", () => {
    for (const path of ["/insert/3/prometheus", "/insert/3/prometheus/"]) {
      expect(routeRequest(regular(), path)).toMatchObject({ ok: true, target: "insert", path, requestClass: "write" });
    }
    expect(routeRequest(pinned("3"), "/prometheus/")).toMatchObject({ ok: true, path: "/insert/3/prometheus/api/v1/write" });
    expect(routeRequest(single(), "/prometheus/")).toMatchObject({ ok: false, status: 404 });
  });

  it("accepts the pushgateway form of the Prometheus text import as a write", () => {
    const path = "/api/v1/import/prometheus/metrics/job/backup/instance/db%3A5432";
    expect(routeRequest(single("w"), path)).toMatchObject({ ok: true, path, requestClass: "write" });
    expect(routeRequest(pinned("4:2", "w"), path)).toMatchObject({ ok: true, path: `/insert/4:2/prometheus${path}` });
  });

  it("accepts legacy Datadog agents' trailing slash, and a trailing slash nowhere else", () => {
    expect(routeRequest(single(), "/datadog/api/v1/series/")).toMatchObject({ ok: true, path: "/datadog/api/v1/series/" });
    expect(routeRequest(pinned("2"), "/datadog/api/v1/series/")).toMatchObject({ ok: true, path: "/insert/2/datadog/api/v1/series" });
    expect(routeRequest(single(), "/api/v1/query/")).toMatchObject({ ok: false, status: 404, code: "unknown_path" });
  });

  it("serves vmui under /prometheus too and rewrites it to /select/T/vmui", () => {
    expect(routeRequest(pinned("2"), "/prometheus/vmui/favicon.svg")).toMatchObject({ ok: true, path: "/select/2/vmui/favicon.svg" });
    expect(routeRequest(regular(), "/select/2/prometheus/vmui/")).toMatchObject({ ok: true, path: "/select/2/prometheus/vmui/" });
    expect(routeRequest(single(), "/vmui")).toMatchObject({ ok: true, path: "/vmui", requestClass: "read" });
  });

  it("does not forward status pages outside the read-only list, nor vmalert's UI proxy", () => {
    for (const path of ["/api/v1/status/config", "/api/v1/status/flags", "/prometheus/vmalert/api/v1/rules", "/metric-relabel-debug", "/api/v1/targets"]) {
      expect(routeRequest(single(), path)).toMatchObject({ ok: false, status: 404 });
    }
  });

  it("keeps a tenant-specific token's tenant verbatim and ignores a tenant on a single-node grant", () => {
    expect(routeRequest(pinned("5:0"), "/api/v1/query")).toMatchObject({ ok: true, path: "/select/5:0/prometheus/api/v1/query", tenantId: "5:0" });
    expect(routeRequest({ deploymentType: "single_node", access: "rw", tenantId: "5" }, "/api/v1/query")).toEqual({
      ok: true,
      target: "upstream",
      path: "/api/v1/query",
      requestClass: "read",
    });
  });

  it("refuses a tenant-specific token whose own tenant is malformed, rather than acting as a regular token", () => {
    for (const tenantId of ["", "multitenant", "01", "4294967296", "1:2:3"]) {
      expect(routeRequest(pinned(tenantId), "/api/v1/query")).toMatchObject({ ok: false, status: 403, code: "invalid_tenant" });
    }
  });

  it("points to the right component when the API is under another one", () => {
    const d = routeRequest(regular(), "/insert/1/prometheus/api/v1/query");
    expect(d).toMatchObject({ ok: false, status: 404, code: "unknown_path" });
    if (!d.ok) expect(d.reason).toContain("/select/<accountID>/prometheus/api/v1/query");
    expect(routeRequest(regular(), "/select/1/prometheus/api/v1/admin/tsdb/delete_series")).toMatchObject({ ok: false, status: 404 });
  });
});

describe("requestClassOf: what a refused request tried to do", () => {
  it("names the class whatever the access level, and nothing for paths that name no API", () => {
    const readOnly: Grant = { deploymentType: "single_node", access: "r" };
    expect(routeRequest(readOnly, "/api/v1/write").ok).toBe(false);
    expect(requestClassOf(readOnly, "/api/v1/write")).toBe("write");
    expect(requestClassOf({ deploymentType: "single_node", access: "w" }, "/api/v1/query")).toBe("read");
    expect(requestClassOf(readOnly, "/api/v1/admin/tsdb/delete_series")).toBe("delete");
    expect(requestClassOf({ deploymentType: "cluster", access: "r", tenantId: "42" }, "/prometheus/api/v1/write")).toBe("write");
    expect(requestClassOf(readOnly, "/no/such/api")).toBeUndefined();
    expect(requestClassOf(readOnly, "/metrics")).toBeUndefined(); // never forwarded
  });

  it("names the API a request refused for its tenant tried to use", () => {
    const regularRw: Grant = { deploymentType: "cluster", access: "rw" };
    const pinned: Grant = { deploymentType: "cluster", access: "rw", tenantId: "42:7" };
    const cases: [Grant, string, string, RequestClass | undefined][] = [
      [regularRw, "/prometheus/api/v1/query", "tenant_required", "read"],
      [regularRw, "/prometheus/api/v1/write", "tenant_required", "write"],
      [regularRw, "/select/multitenant/prometheus/api/v1/query", "invalid_tenant", "read"],
      [regularRw, "/delete/-1/prometheus/api/v1/admin/tsdb/delete_series", "invalid_tenant", "delete"],
      [pinned, "/insert/1/prometheus/api/v1/write", "tenant_in_path", "write"],
      [pinned, "/select/42:7/prometheus/api/v1/query", "tenant_in_path", "read"],
      [regularRw, "/select/multitenant/no/such/api", "invalid_tenant", undefined],
    ];
    for (const [grant, path, code, cls] of cases) {
      expect(routeRequest(grant, path)).toMatchObject({ ok: false, code });
      expect([path, requestClassOf(grant, path)]).toEqual([path, cls]);
    }
  });
});
