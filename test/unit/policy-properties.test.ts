import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { routeRequest, type AccessLevel, type Grant, type RequestClass, type RouteDecision } from "../../src/policy/route";
import { API_ROUTES } from "../../src/policy/url-map";

// ---- Independent statements of the rules (not imported from the implementation) --------------

const ALLOWED: Record<AccessLevel, RequestClass[]> = { r: ["read"], w: ["write"], rw: ["read", "write", "delete"] };

function isUint32Tenant(tenant: string): boolean {
  const parts = tenant.split(":");
  return parts.length <= 2 && parts.every((p) => /^(0|[1-9][0-9]*)$/.test(p) && BigInt(p) <= 4294967295n);
}

/** Things that must never be in an accepted path, whatever the grant. */
const NEVER_IN_ACCEPTED = /%2e|%2f|%5c|%00|%25|\\|;|\/\/|\/\.\.?(\/|$)|[^\x21-\x7e]/i;

// ---- Inputs: every table path, then mutated ---------------------------------------------------

function sample(template: string, name: string): string {
  return template.replace("{name+}", `job/${name}`).replace("{name}", name).replace("{word}", "sumSeries").replace("{file+}", "static/js/main.js");
}
const NAMES = ["job", "__name__", "a%20b", "%C3%A9", "dc%3Aeu", "tagSeries", "x.y"];
const SPELLINGS = API_ROUTES.flatMap((r) => [r.cluster, ...r.clusterAlso, ...r.single]);
const CLUSTER_FORMS = API_ROUTES.flatMap((r) => [r.cluster, ...r.clusterAlso].map((s) => ({ component: r.component, suffix: s })));
const NEVER = ["/internal/force_merge", "/snapshot/create", "/-/reload", "/flags", "/metrics", "/admin/tenants", "/api/v1/admin/status/x/reset", "/debug/pprof/"];

const tenantArb = fc.oneof(
  { arbitrary: fc.constantFrom("0", "1", "7", "7:9", "42:0", "4294967295", "4294967295:4294967295"), weight: 4 },
  fc.constantFrom("4294967296", "1:4294967296", "01", "007", "multitenant", "", "1:", ":1", "1:2:3", "-1", "%37", "0x7", "7 "),
  fc.nat().map(String),
  fc.tuple(fc.nat(), fc.nat()).map(([a, p]) => `${a}:${p}`),
);

const spellingArb = fc.tuple(fc.constantFrom(...SPELLINGS), fc.constantFrom(...NAMES)).map(([t, n]) => sample(t, n));
const clusterPathArb = fc
  .tuple(fc.constantFrom(...CLUSTER_FORMS), fc.constantFrom("insert", "select", "delete", "same", "same", "same"), tenantArb, fc.constantFrom(...NAMES))
  .map(([form, component, tenant, name]) => `/${component === "same" ? form.component : component}/${tenant}${sample(form.suffix, name)}`);
const neverArb = fc.tuple(fc.constantFrom("", "/prometheus", "/insert/0", "/select/7", "/delete/7"), fc.constantFrom(...NEVER)).map(([p, n]) => p + n);

/** Mostly paths shaped for the grant (so accepted decisions are common), the rest any shape. */
function basePathFor(grant: Grant): fc.Arbitrary<string> {
  const ownShape = grant.deploymentType === "cluster" && grant.tenantId === undefined ? clusterPathArb : spellingArb;
  return fc.oneof({ arbitrary: ownShape, weight: 4 }, { arbitrary: spellingArb, weight: 1 }, { arbitrary: clusterPathArb, weight: 1 }, { arbitrary: neverArb, weight: 1 });
}

const FRAGMENTS = [
  "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2f", "%2F", "%252f", "%252e", "%255c", "%5c", "%5C", "%00", "%0a", "%20", "%3A", "%3a", "%41", "%", "%zz", "%C3%A9", "%FF",
  "\\", ";", ";a=b", "/", "//", "/./", "/../", ".", "..", "\u0000", "\u0001", "\u001f", "\u007f", "é", "\u2028", "\ud800", " ", "?", "#", ":", "@", "~", "+",
  "/insert/0", "/select/7", "/delete/7", "/multitenant", "/prometheus", "/vmui", "/graphite/tags",
];

type Mutation =
  | { op: "insert"; at: number; text: string }
  | { op: "replaceSegment"; at: number; text: string }
  | { op: "dropSegment"; at: number }
  | { op: "flipCase"; at: number }
  | { op: "encode"; at: number; lower: boolean }
  | { op: "prefix"; text: string }
  | { op: "suffix"; text: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4, unit: "binary" })) }),
  fc.record({
    op: fc.constant("replaceSegment" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(".", "..", "", "%2e", "%2e%2e", "multitenant", "01", "4294967296", "x".repeat(257), "API", "Query"), tenantArb),
  }),
  fc.record({ op: fc.constant("dropSegment" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("flipCase" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("encode" as const), at: fc.nat(), lower: fc.boolean() }),
  fc.record({ op: fc.constant("prefix" as const), text: fc.constantFrom("/prometheus", "/insert/0", "/select/7", "/select/7:9", "/delete/0", "/insert/multitenant", "/", "//", "/.") }),
  fc.record({ op: fc.constant("suffix" as const), text: fc.constantFrom("/", "//", "/.", "/..", "%2f", ";x", "\u0000", "/x", "/values") }),
);

function applyMutation(path: string, m: Mutation): string {
  const i = "at" in m ? m.at % (path.length + 1) : 0;
  const segments = path.split("/");
  const s = "at" in m ? 1 + (m.at % Math.max(1, segments.length - 1)) : 0;
  switch (m.op) {
    case "insert":
      return path.slice(0, i) + m.text + path.slice(i);
    case "replaceSegment":
      return segments.map((seg, k) => (k === s ? m.text : seg)).join("/");
    case "dropSegment":
      return segments.filter((_, k) => k !== s).join("/");
    case "flipCase": {
      const ch = path.charAt(i);
      const flipped = ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
      return path.slice(0, i) + flipped + path.slice(i + 1);
    }
    case "encode": {
      const ch = path.charAt(i);
      if (!ch) return path;
      const hex = ch.charCodeAt(0).toString(16).padStart(2, "0");
      return path.slice(0, i) + "%" + (m.lower ? hex.toLowerCase() : hex.toUpperCase()) + path.slice(i + 1);
    }
    case "prefix":
      return m.text + path;
    case "suffix":
      return path + m.text;
  }
}

/** A third of the paths stay unmutated, so accepted decisions are common enough to check. */
const mutationsArb = fc.oneof({ arbitrary: fc.constant<Mutation[]>([]), weight: 1 }, { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), weight: 2 });


const grantArb: fc.Arbitrary<Grant> = fc.tuple(
  fc.constantFrom<AccessLevel>("r", "w", "rw"),
  fc.constantFrom<"single" | "regular" | string>("single", "regular", "0", "7", "7:9", "4294967295:1"),
).map(([access, kind]) =>
  kind === "single"
    ? { deploymentType: "single_node", access }
    : kind === "regular"
      ? { deploymentType: "cluster", access }
      : { deploymentType: "cluster", access, tenantId: kind },
);

/** A grant and a path to send with it: a table path for that grant's shape, mutated or not. */
const requestArb: fc.Arbitrary<[Grant, string]> = grantArb.chain((grant) =>
  fc.tuple(fc.constant(grant), fc.tuple(basePathFor(grant), mutationsArb).map(([base, ms]) => ms.reduce(applyMutation, base))),
);

// ---- The invariants -----------------------------------------------------------------------------

function checkDecision(grant: Grant, input: string, d: RouteDecision): void {
  if (!d.ok) {
    expect([403, 404]).toContain(d.status);
    expect(d.code).toMatch(/^[a-z_]+$/);
    expect(d.reason.length).toBeGreaterThan(0);
    expect(d.reason.length).toBeLessThan(300);
    expect(d.reason).not.toMatch(/[\r\n\u2028\u2029]/);
    return;
  }
  // (a) the path re-parses unchanged
  expect(new URL(`http://h${d.path}`).pathname).toBe(d.path);
  // (b) the class is allowed by the access level
  expect(ALLOWED[grant.access]).toContain(d.requestClass);
  // (c) tenants, and (d) target ↔ path prefix
  if (grant.deploymentType === "single_node") {
    expect(d.target).toBe("upstream");
    expect(d.tenantId).toBeUndefined();
    expect(d.path).toBe(input);
    expect(d.path).not.toMatch(/^\/(insert|select|delete)(\/|$)/);
  } else {
    const tenant = d.tenantId ?? "";
    if (grant.tenantId !== undefined) expect(tenant).toBe(grant.tenantId);
    expect(isUint32Tenant(tenant)).toBe(true);
    expect(tenant).not.toContain("multitenant");
    const [, prefix, pathTenant] = d.path.split("/");
    expect(pathTenant).toBe(tenant);
    expect(d.path.startsWith(`/${prefix}/${tenant}/`)).toBe(true);
    expect(d.target).toBe(prefix === "insert" ? "insert" : "select");
    expect(["insert", "select", "delete"]).toContain(prefix);
  }
  // Nothing the canonical rules refuse is in the input or the forwarded path.
  expect(input).not.toMatch(NEVER_IN_ACCEPTED);
  expect(d.path).not.toMatch(NEVER_IN_ACCEPTED);
  // What the upstream sees after percent-decoding has the same segments: no hidden separators or dots.
  const decoded = d.path.split("/").map((s) => decodeURIComponent(s));
  for (const seg of decoded) {
    expect(seg).not.toMatch(/[/\\\u0000-\u001f\u007f]/);
    expect(seg === "." || seg === "..").toBe(false);
  }
  // The forwarded path is a fixed point: routed again as sent, it stays the same request.
  const again = routeRequest(grant.deploymentType === "single_node" ? grant : { deploymentType: "cluster", access: "rw" }, d.path);
  expect(again).toMatchObject({ ok: true, path: d.path, target: d.target, requestClass: d.requestClass });
}

describe("routeRequest properties", () => {
  it("holds the invariants for mutated table paths, for every grant", () => {
    let accepted = 0;
    fc.assert(
      fc.property(requestArb, ([grant, path]) => {
        const d = routeRequest(grant, path);
        if (d.ok) accepted++;
        checkDecision(grant, path, d);
      }),
      { seed: 20240611, numRuns: 4000 },
    );
    // The generator must also reach accepted paths, or the ok-branch checks prove nothing.
    expect(accepted).toBeGreaterThan(400);
  });

  it("holds the invariants for arbitrary strings", () => {
    fc.assert(
      fc.property(grantArb, fc.string({ maxLength: 60, unit: "binary" }).map((s) => (s.startsWith("/") ? s : `/${s}`)), (grant, path) => {
        checkDecision(grant, path, routeRequest(grant, path));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it("a tenant-specific token only ever reaches its own tenant", () => {
    fc.assert(
      fc.property(requestArb.filter(([g]) => g.tenantId !== undefined), ([grant, path]) => {
        const d = routeRequest(grant, path);
        if (d.ok) expect(d.path.split("/")[2]).toBe(grant.tenantId);
        if (/^\/(insert|select|delete)(\/|$)/.test(path) && !d.ok && d.code !== "non_canonical_path" && d.code !== "forbidden_path") {
          expect(d.code).toBe("tenant_in_path");
        }
      }),
      { seed: 99, numRuns: 2000 },
    );
  });
});
