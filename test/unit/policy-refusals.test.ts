import { describe, expect, it } from "vitest";
import { routeRequest, type Grant, type RouteDecision } from "../../src/policy/route";

const GRANTS: Record<string, Grant> = {
  single: { deploymentType: "single_node", access: "rw" },
  regular: { deploymentType: "cluster", access: "rw" },
  pinned: { deploymentType: "cluster", access: "rw", tenantId: "7" },
};

/** For each grant kind, the same base path as that grant would legitimately send it. */
const BASE = { single: "", regular: "/select/7/prometheus", pinned: "/prometheus" } as const;

function expectRefused(d: RouteDecision, status: 403 | 404, code: string) {
  expect(d).toMatchObject({ ok: false, status, code });
  if (!d.ok) {
    expect(d.reason).not.toMatch(/[\r\n]/);
    expect(d.reason.length).toBeGreaterThan(10);
  }
}

describe("non-canonical paths are refused, never repaired", () => {
  const mutations: Record<string, string> = {
    "dot-dot segment": "/api/v1/../v1/query",
    "dot segment": "/api/v1/./query",
    "trailing dot-dot": "/api/v1/query/..",
    "%2e segment": "/api/v1/%2e/query",
    "%2E%2E segment": "/api/%2E%2E/api/v1/query",
    "%2e inside a name": "/api/v1/%2equery",
    "%2f": "/api/v1%2fquery",
    "%2F": "/api/v1%2Fquery",
    "%252f (double-encoded /)": "/api/v1%252fquery",
    "%252e (double-encoded .)": "/api/v1/%252e%252e/query",
    "%5c": "/api/v1%5cquery",
    "%00": "/api/v1/query%00",
    "escaped letter": "/api/v1/%71uery",
    "doubled slash": "/api/v1//query",
    "leading doubled slash": "//api/v1/query",
    "backslash": "/api/v1\\query",
    "semicolon parameter": "/api/v1/query;jsessionid=1",
    "NUL byte": "/api/v1/query\u0000",
    "control byte": "/api/v1/\u001bquery",
    "DEL": "/api/v1/query\u007f",
    "non-ASCII": "/api/v1/qüery",
    "space": "/api/v1/ query",
    "malformed escape": "/api/v1/label/a%zz/values",
    "truncated escape": "/api/v1/label/a%2/values",
    "overlong segment": `/api/v1/label/${"a".repeat(257)}/values`,
  };
  for (const [what, path] of Object.entries(mutations)) {
    it(`${what}: ${JSON.stringify(path).slice(0, 60)}`, () => {
      for (const [kind, grant] of Object.entries(GRANTS)) {
        const prefixed = BASE[kind as keyof typeof BASE] + path;
        expectRefused(routeRequest(grant, prefixed), 403, "non_canonical_path");
      }
    });
  }

  it("refuses the dangerous escapes even inside a free-form name segment", () => {
    for (const name of ["a%2fb", "a%2Fb", "%2e%2e", "a%5cb", "a%00", "a%252fb", "a%41", "a%0a"]) {
      expectRefused(routeRequest(GRANTS.single!, `/api/v1/label/${name}/values`), 403, "non_canonical_path");
      expectRefused(routeRequest(GRANTS.pinned!, `/graphite/tags/${name}`), 403, "non_canonical_path");
    }
  });

  it("refuses percent-escapes outside name segments", () => {
    expectRefused(routeRequest(GRANTS.single!, "/api/v1/qu%3Aery"), 403, "non_canonical_path");
    expectRefused(routeRequest(GRANTS.regular!, "/select/1/prometheus/api/v1/query%20"), 403, "non_canonical_path");
    expectRefused(routeRequest(GRANTS.pinned!, "/vmui/a%20b.js"), 403, "non_canonical_path");
  });

  it("accepts escapes that name segments need, forwarded exactly as sent", () => {
    expect(routeRequest(GRANTS.single!, "/api/v1/label/http%20code/values")).toMatchObject({ ok: true, path: "/api/v1/label/http%20code/values" });
    expect(routeRequest(GRANTS.pinned!, "/api/v1/label/%C3%A9t%C3%A9/values")).toMatchObject({
      ok: true,
      path: "/select/7/prometheus/api/v1/label/%C3%A9t%C3%A9/values",
    });
    expect(routeRequest(GRANTS.regular!, "/select/0/graphite/tags/dc%3Aeu")).toMatchObject({ ok: true, requestClass: "read" });
  });

  it("refuses escapes that are not UTF-8", () => {
    expectRefused(routeRequest(GRANTS.single!, "/api/v1/label/%FF/values"), 403, "non_canonical_path");
  });

  it("refuses a path without a leading slash and an overlong path", () => {
    expectRefused(routeRequest(GRANTS.single!, "api/v1/query"), 403, "non_canonical_path");
    expectRefused(routeRequest(GRANTS.single!, "*"), 403, "non_canonical_path");
    expectRefused(routeRequest(GRANTS.single!, `/api/v1/import/prometheus/metrics/job${"/abcdefgh".repeat(500)}`), 403, "non_canonical_path");
  });
});

describe("tenants", () => {
  it("refuses multitenant and any tenant that is not canonical uint32 accountID[:projectID]", () => {
    const bad = ["multitenant", "01", "00", "007:1", "1:01", "4294967296", "1:4294967296", "99999999999", "-1", "+1", "1:", ":1", "1:2:3", "0x10", "1e3", "a", "1_000", "1.0"];
    for (const tenant of bad) {
      for (const component of ["insert", "select", "delete"]) {
        const path = `/${component}/${tenant}/prometheus/api/v1/write`;
        expectRefused(routeRequest(GRANTS.regular!, path), 403, "invalid_tenant");
      }
    }
    expectRefused(routeRequest(GRANTS.regular!, "/insert/multitenant/prometheus/api/v1/write"), 403, "invalid_tenant");
    expectRefused(routeRequest(GRANTS.regular!, "/select/multitenant/prometheus/api/v1/query"), 403, "invalid_tenant");
    expectRefused(routeRequest(GRANTS.regular!, "/insert"), 403, "invalid_tenant");
  });

  it("refuses a percent-encoded tenant", () => {
    expectRefused(routeRequest(GRANTS.regular!, "/insert/1%3A2/prometheus/api/v1/write"), 403, "invalid_tenant");
    expectRefused(routeRequest(GRANTS.regular!, "/insert/%31/prometheus/api/v1/write"), 403, "non_canonical_path");
  });

  it("refuses any tenant in the path of a tenant-specific token, even its own", () => {
    for (const path of ["/insert/7/prometheus/api/v1/write", "/select/8/prometheus/api/v1/query", "/delete/7/prometheus/api/v1/admin/tsdb/delete_series", "/insert/multitenant/influx/write", "/select"]) {
      const d = routeRequest(GRANTS.pinned!, path);
      expectRefused(d, 403, "tenant_in_path");
      if (!d.ok) expect(d.reason).toContain("pinned to tenant 7");
    }
  });

  it("accepts the largest tenant and the zero tenant", () => {
    expect(routeRequest(GRANTS.regular!, "/insert/4294967295:4294967295/influx/write")).toMatchObject({ ok: true, tenantId: "4294967295:4294967295" });
    expect(routeRequest(GRANTS.regular!, "/insert/0:0/influx/write")).toMatchObject({ ok: true, tenantId: "0:0" });
  });
});

describe("unknown and forbidden paths", () => {
  it("answers 404 for paths that are no VictoriaMetrics API", () => {
    for (const path of ["/", "/nope", "/api/v1/quer", "/API/v1/query", "/Api/V1/Write", "/prometheus/prometheus/api/v1/query", "/graphite/tags/findSeries/x", "/vmui/static/", "/health"]) {
      expectRefused(routeRequest(GRANTS.single!, path), 404, "unknown_path");
      expectRefused(routeRequest(GRANTS.pinned!, path), 404, "unknown_path");
      expectRefused(routeRequest(GRANTS.regular!, path), 404, "unknown_path");
    }
    expectRefused(routeRequest(GRANTS.regular!, "/select/1/nope"), 404, "unknown_path");
  });

  it("answers 404 with a hint for a trailing slash", () => {
    for (const [kind, grant] of Object.entries(GRANTS)) {
      const d = routeRequest(grant, `${BASE[kind as keyof typeof BASE]}/api/v1/query/`);
      expectRefused(d, 404, "unknown_path");
      if (!d.ok) expect(d.reason).toContain("trailing slash");
    }
  });

  it("refuses the /insert, /select and /delete forms on a single-node deployment with 404", () => {
    for (const path of ["/insert/0/prometheus/api/v1/write", "/select/0/prometheus/api/v1/query", "/delete/0/prometheus/api/v1/admin/tsdb/delete_series", "/insert/multitenant/prometheus/api/v1/write"]) {
      const d = routeRequest(GRANTS.single!, path);
      expectRefused(d, 404, "unknown_path");
      if (!d.ok) expect(d.reason).toContain("single-node deployment");
    }
  });

  it("refuses never-forwarded paths with 403 even for a full-access token", () => {
    for (const path of ["/-/reload", "/prometheus/-/reload", "/insert/0/-/reload", "/api/v1/admin/status/metric_names_stats/reset", "/select/0/prometheus/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series/extra", "/admin/tenants", "/metrics", "/flags", "/internal/force_merge", "/snapshot/list"]) {
      for (const grant of Object.values(GRANTS)) expectRefused(routeRequest(grant, path), 403, "forbidden_path");
    }
  });

  it("never echoes more than a short sanitised part of the input", () => {
    const d = routeRequest(GRANTS.single!, `/${"x".repeat(200)}<script>`);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).not.toContain("<script>");
      expect(d.reason).not.toContain("x".repeat(49));
    }
    const t = routeRequest(GRANTS.regular!, `/insert/${"9".repeat(40)}"'<>/influx/write`);
    if (!t.ok) expect(t.reason).not.toMatch(/["<>]/);
  });
});
