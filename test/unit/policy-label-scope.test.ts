import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LABEL_SCOPE_ENDPOINTS } from "../../src/policy/label-scope-endpoints";
import {
  endpointScope,
  MAX_LABEL_VALUE_LENGTH,
  MAX_TOKEN_LABELS,
  parseTokenLabels,
  scopeFormBody,
  scopeRequest,
  type TokenLabels,
} from "../../src/policy/label-scope";
import { formBodyHandling, withoutWideningArgs } from "../../src/policy/query-args";
import { routeRequest, type Grant } from "../../src/policy/route";
import { API_ROUTES } from "../../src/policy/url-map";

// ---- An independent reading of a query string, the way Go's url.ParseQuery does it ------------

/** Go >= 1.17: split on `&`, ignore pairs holding `;`, strict unescape (a bad escape drops the pair). */
function goParseQuery(query: string, oldGo = false): [string, string][] {
  const out: [string, string][] = [];
  for (const pair of query.split(oldGo ? /[&;]/ : "&")) {
    if (pair === "" || (!oldGo && pair.includes(";"))) continue;
    const eq = pair.indexOf("=");
    const key = goUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = goUnescape(eq === -1 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    out.push([key, value]);
  }
  return out;
}
function goUnescape(text: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "%") {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === "+") bytes.push(32);
    else bytes.push(...new TextEncoder().encode(c));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
const WIDENING_NAMES = ["extra_label", "extra_filters", "extra_filters[]"];
function wideningValues(query: string, oldGo = false): string[] {
  return goParseQuery(query.replace(/^\?/, ""), oldGo)
    .filter(([k]) => WIDENING_NAMES.includes(k))
    .map(([k, v]) => `${k}=${v}`);
}
function expectedArgs(labels: TokenLabels): string[] {
  return Object.keys(labels)
    .sort()
    .map((n) => `extra_label=${n}=${labels[n]}`);
}

const TEAM: TokenLabels = { team: "payments" };
const QUERY_PATH = "/api/v1/query";

function scoped(rawQuery: string, path = QUERY_PATH, contentType: string | null = null, labels = TEAM) {
  return scopeRequest(labels, path, rawQuery, contentType);
}

// ---- Labels at creation ----------------------------------------------------------------------

describe("parseTokenLabels", () => {
  it("accepts Prometheus label names and answers them sorted", () => {
    const result = parseTokenLabels({ team: "payments", _env: "prod", Region9: "eu-west/1 é ✓" });
    expect(result).toEqual({ ok: true, labels: { Region9: "eu-west/1 é ✓", _env: "prod", team: "payments" } });
    expect(Object.keys(result.ok ? result.labels : {})).toEqual(["Region9", "_env", "team"]);
  });

  it(`accepts ${MAX_TOKEN_LABELS} labels and values of ${MAX_LABEL_VALUE_LENGTH} characters`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_TOKEN_LABELS }, (_, i) => [`l${i}`, "v".repeat(MAX_LABEL_VALUE_LENGTH)]));
    expect(parseTokenLabels(many).ok).toBe(true);
  });

  it.each([
    [null, /^labels: must be an object/],
    [["team=a"], /^labels: must be an object/],
    ["team=a", /^labels: must be an object/],
    [{}, /^labels: must hold at least one label; omit the field/],
    [Object.fromEntries(Array.from({ length: MAX_TOKEN_LABELS + 1 }, (_, i) => [`l${i}`, "v"])), new RegExp(`^labels: at most ${MAX_TOKEN_LABELS} labels, got ${MAX_TOKEN_LABELS + 1}\\.$`)],
    [{ __name__: "up" }, /^labels\.__name__: names starting with __ are reserved/],
    [{ __tenant: "x" }, /^labels\.__tenant: names starting with __ are reserved/],
    [{ vm_account_id: "1" }, /^labels\.vm_account_id: is reserved: VictoriaMetrics uses it for tenants\.$/],
    [{ vm_project_id: "1" }, /^labels\.vm_project_id: is reserved/],
    [{ "1team": "a" }, /^labels\.1team: is not a Prometheus label name/],
    [{ "team-a": "a" }, /^labels\.team\?a: is not a Prometheus label name/],
    [{ "team.a": "a" }, /^labels\.team\?a: is not a Prometheus label name/],
    [{ "": "a" }, /^labels\.: is not a Prometheus label name/],
    [{ "tëam": "a" }, /^labels\.t\?am: is not a Prometheus label name/],
    [{ ["x".repeat(129)]: "a" }, /label names are at most 128 characters/],
    [{ team: "" }, /^labels\.team: the value must not be empty/],
    [{ team: 7 }, /^labels\.team: the value must be a string\.$/],
    [{ team: "a\nb" }, /^labels\.team: the value must not contain control characters\.$/],
    [{ team: "a\u0000" }, /control characters/],
    [{ team: "a\u007f" }, /control characters/],
    [{ team: "a\u0085" }, /control characters/],
    [{ team: "a\ud800" }, /^labels\.team: the value is not valid Unicode text\.$/],
    [{ team: "\udc00a" }, /not valid Unicode text/],
    [{ team: "v".repeat(MAX_LABEL_VALUE_LENGTH + 1) }, /longer than 256 characters/],
  ])("refuses %j", (input, reason) => {
    const result = parseTokenLabels(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
    expect(!result.ok && result.reason).not.toContain("\n");
  });
});

// ---- Query strings ---------------------------------------------------------------------------

describe("scopeRequest: the forwarded query string", () => {
  it.each([
    ["", "?extra_label=team=payments"],
    ["?", "?extra_label=team=payments"],
    ["?query=up", "?query=up&extra_label=team=payments"],
    ["query=up&time=1", "?query=up&time=1&extra_label=team=payments"],
    ["?query=up&extra_label=team=other", "?query=up&extra_label=team=payments"],
    ["?extra_label=team=other&query=up", "?query=up&extra_label=team=payments"],
    ["?query=up&extra%5Flabel=team%3Dother", "?query=up&extra_label=team=payments"],
    ["?query=up&extra%5flabel=team=other", "?query=up&extra_label=team=payments"],
    ["?query=up&%65xtra_label=team=other", "?query=up&extra_label=team=payments"],
    ["?query=up&extra%255Flabel=team=other", "?query=up&extra_label=team=payments"],
    ["?query=up&EXTRA_LABEL=team=other", "?query=up&extra_label=team=payments"],
    ["?query=up&Extra_Filters=x", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_filters=%7Bteam%3D%22other%22%7D", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_filters[]={team=\"other\"}", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_filters%5B%5D=%7B%7D", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_filters%5b%5d=x", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_label", "?query=up&extra_label=team=payments"],
    ["?query=up&extra_label=", "?query=up&extra_label=team=payments"],
    ["?query=up;extra_label=team=other", "?extra_label=team=payments"],
    ["?a=1;extra_filters=x&query=up", "?query=up&extra_label=team=payments"],
    ["?query=up&&x=1&", "?query=up&&x=1&&extra_label=team=payments"],
    ["?query=sum(rate(x%5B5m%5D))&extra_labels=x", "?query=sum(rate(x%5B5m%5D))&extra_labels=x&extra_label=team=payments"],
    ["?query=up&extra_label_x=1&xextra_label=2", "?query=up&extra_label_x=1&xextra_label=2&extra_label=team=payments"],
    ["?match[]=up&match%5B%5D=x", "?match[]=up&match%5B%5D=x&extra_label=team=payments"],
  ])("%j → %j", (query, expected) => {
    expect(scoped(query)).toEqual({ ok: true, search: expected, body: "forward" });
  });

  it("escapes values for Go's unescape and sorts labels by name", () => {
    const labels = parseTokenLabels({ zone: "a&b=c d+%/é", app: "x" });
    if (!labels.ok) throw new Error(labels.reason);
    const result = scoped("?query=up", QUERY_PATH, null, labels.labels);
    expect(result).toEqual({ ok: true, search: "?query=up&extra_label=app=x&extra_label=zone=a%26b%3Dc%20d%2B%25%2F%C3%A9", body: "forward" });
    expect(result.ok && wideningValues(result.search)).toEqual(["extra_label=app=x", "extra_label=zone=a&b=c d+%/é"]);
  });

  it("writes get the same treatment and never touch the body", () => {
    for (const path of ["/api/v1/write", "/api/v1/import", "/influx/write", "/insert/7/prometheus/api/v1/write", "/insert/7:9/influx/api/v2/write"]) {
      expect(scoped("?db=x&extra_label=team=other", path, "application/x-www-form-urlencoded")).toEqual({
        ok: true,
        search: "?db=x&extra_label=team=payments",
        body: "forward",
      });
    }
  });

  it("throws for a token without labels: that is a wiring bug, not a client error", () => {
    expect(() => scopeRequest({}, QUERY_PATH, "", null)).toThrow(/without labels/);
  });
});

// ---- Endpoints -------------------------------------------------------------------------------

const ALLOWED_CLUSTER_SUFFIXES = Object.entries(LABEL_SCOPE_ENDPOINTS)
  .filter(([, s]) => s.kind !== "refuse")
  .map(([k]) => k);

describe("scopeRequest: endpoints", () => {
  it("has a row for every route of the URL map and none for a route that does not exist", () => {
    const clusterSuffixes = API_ROUTES.map((r) => r.cluster).sort();
    expect(Object.keys(LABEL_SCOPE_ENDPOINTS).sort()).toEqual(clusterSuffixes);
  });

  it.each([
    ["/api/v1/series/count", /ignores extra_label .* counts every series/],
    ["/prometheus/api/v1/status/top_queries", /shows the queries of every client/],
    ["/api/v1/status/active_queries", /shows the queries of every client/],
    ["/api/v1/rules", /vmalert/],
    ["/api/v1/alerts", /vmalert/],
    ["/api/v1/metadata", /no label scope/],
    ["/api/v1/query_exemplars", /no label scope/],
    ["/graphite/tags", /ignores extra_label/],
    ["/graphite/tags/team", /ignores extra_label/],
    ["/graphite/metrics/find", /ignores extra_label/],
    ["/graphite/render", /not served by VictoriaMetrics 1\.79\.5/],
    ["/graphite/tags/tagSeries", /registers series without applying extra_label/],
    ["/graphite/tags/delSeries", /not verified/],
    ["/opentelemetry/v1/metrics", /not served by VictoriaMetrics 1\.79\.5/],
    ["/datadog/api/v2/series", /not served by VictoriaMetrics 1\.79\.5/],
    ["/newrelic/infra/v2/metrics/events/bulk", /not served/],
    ["/api/v1/import/prometheus/metrics/job/x/team/other", /adds labels of its own/],
    ["/select/7/prometheus/api/v1/series/count", /counts every series/],
    ["/insert/7:9/opentelemetry/v1/metrics", /not served/],
    ["/no/such/path", /not an API path this policy knows/],
  ])("refuses %s with 403", (path, why) => {
    const result = scoped("?extra_label=team=payments", path);
    expect(result).toMatchObject({ ok: false, status: 403, code: "label_scope_unsupported" });
    expect(!result.ok && result.reason).toMatch(/^This token is label-scoped, and this endpoint /);
    expect(!result.ok && result.reason).toMatch(why);
  });

  it("allows every spelling of the allowed endpoints, as routed for single-node, cluster and tenant tokens", () => {
    const grants: Grant[] = [
      { deploymentType: "single_node", access: "rw" },
      { deploymentType: "cluster", access: "rw" },
      { deploymentType: "cluster", access: "rw", tenantId: "7:9" },
    ];
    let checked = 0;
    for (const route of API_ROUTES) {
      const allowed = ALLOWED_CLUSTER_SUFFIXES.includes(route.cluster);
      const spellings = [route.cluster, ...route.clusterAlso, ...route.single].map((s) => s.replace("{name+}", "job/x").replace("{name}", "team").replace("{word}", "sumSeries").replace("{file+}", "static/js/main.js"));
      for (const grant of grants) {
        for (const spelling of spellings) {
          const path = grant.deploymentType === "cluster" && !grant.tenantId ? `/${route.component}/7${spelling}` : spelling;
          const decision = routeRequest(grant, path);
          if (!decision.ok) continue;
          const result = scoped("?x=1", decision.path);
          expect(result.ok, `${path} → ${decision.path}`).toBe(allowed);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("endpointScope answers undefined for a path that is not canonical or not in the URL map", () => {
    expect(endpointScope("/api/v1/query/")).toBeUndefined();
    expect(endpointScope("/api/v1/./query")).toBeUndefined();
    expect(endpointScope("/select/7/api/v1/query")).toBeUndefined();
    expect(endpointScope("/api/v1/query")).toMatchObject({ kind: "select" });
    expect(endpointScope("/select/7:9/prometheus/api/v1/query")).toMatchObject({ kind: "select" });
    expect(endpointScope("/insert/7/prometheus/api/v1/write")).toMatchObject({ kind: "insert" });
    expect(endpointScope("/delete/7/prometheus/api/v1/admin/tsdb/delete_series")).toMatchObject({ kind: "select" });
  });
});

// ---- Form bodies -----------------------------------------------------------------------------

describe("form bodies on vmselect endpoints", () => {
  it.each([
    [null, "forward"],
    ["", "forward"],
    ["text/plain", "forward"],
    ["application/json", "forward"],
    ["application/octet-stream", "forward"],
    ["application/x-www-form-urlencoded", "rewrite"],
    ["APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8", "rewrite"],
    [" application/x-www-form-urlencoded ;", "rewrite"],
    ["application/x-www-form-urlencoded; charset", "rewrite"],
    ["multipart/form-data; boundary=x", "refuse"],
    ["Multipart/Form-Data", "refuse"],
    ["multipart/mixed", "refuse"],
    ["application/x-www-form-urlencoded, text/plain", "refuse"],
    ["text/plain, application/x-www-form-urlencoded", "refuse"],
    ["application/form-data", "refuse"],
  ] as [string | null, string][])("Content-Type %j → %s", (contentType, expected) => {
    expect(formBodyHandling(contentType)).toBe(expected);
    const result = scoped("?query=up", QUERY_PATH, contentType);
    if (expected === "refuse") {
      expect(result).toMatchObject({ ok: false, status: 403, code: "label_scope_form_body" });
      expect(!result.ok && result.reason).toMatch(/multipart\/form-data/);
    } else {
      expect(result).toEqual({ ok: true, search: "?query=up&extra_label=team=payments", body: expected });
    }
  });

  const text = (body: string) => new TextDecoder("latin1").decode(scopeFormBody(Uint8Array.from(body, (c) => c.charCodeAt(0))));

  it.each([
    ["query=up&time=1", "query=up&time=1"],
    ["query=up&extra_label=team=other", "query=up"],
    ["extra_filters%5B%5D=%7B__name__%3D~%22.%2B%22%7D&query=up", "query=up"],
    ["query=up&EXTRA_FILTERS=x&step=15", "query=up&step=15"],
    ["?query=up", "?query=up"],
    ["", ""],
    ["extra_label=a=b", ""],
  ])("body %j → %j", (body, expected) => {
    expect(text(body)).toBe(expected);
  });

  it("keeps bytes that are not UTF-8 exactly", () => {
    const raw = Uint8Array.of(0x71, 0x3d, 0xff, 0xfe, 0x80, 0x26, 0x65, 0x78, 0x74, 0x72, 0x61, 0x5f, 0x6c, 0x61, 0x62, 0x65, 0x6c, 0x3d, 0x78); // q=\xff\xfe\x80&extra_label=x
    expect(Array.from(scopeFormBody(raw))).toEqual([0x71, 0x3d, 0xff, 0xfe, 0x80]);
  });
});

// ---- Properties ------------------------------------------------------------------------------

/** Spellings of the widening keys a client might try, escaped or not. */
const wideningKeyArb = fc
  .tuple(fc.constantFrom(...WIDENING_NAMES), fc.array(fc.boolean(), { maxLength: 16 }), fc.array(fc.boolean(), { maxLength: 16 }), fc.integer({ min: 0, max: 2 }))
  .map(([name, escapes, upper, rounds]) => {
    let key = [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).map((c, i) => (escapes[i] ? `%${c.charCodeAt(0).toString(16).padStart(2, "0")}` : c)).join("");
    for (let r = 1; r < rounds; r++) key = key.replace(/%/g, "%25");
    return key;
  });
const valueArb = fc.oneof(fc.constantFrom("team=other", "{__name__=~\".+\"}", "%7Bteam%3D%22x%22%7D", "", "a;b"), fc.string({ maxLength: 12 }).map(encodeURIComponent));
const plainPairArb = fc.oneof(
  fc.constantFrom("query=up", "match[]=up", "match%5B%5D=%7Bjob%3D%22x%22%7D", "start=1", "step=15s", "nocache=1", "", "x", "extra_labels=x", "format=promapi"),
  fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), fc.string({ maxLength: 8 }).map(encodeURIComponent)).map(([k, v]) => `${k}=${v}`),
);
const pairArb = fc.oneof(
  { arbitrary: plainPairArb, weight: 3 },
  { arbitrary: fc.tuple(wideningKeyArb, valueArb).map(([k, v]) => `${k}=${v}`), weight: 2 },
  { arbitrary: fc.tuple(plainPairArb, wideningKeyArb, valueArb).map(([p, k, v]) => `${p};${k}=${v}`), weight: 1 },
);
const queryArb = fc.tuple(fc.boolean(), fc.array(pairArb, { maxLength: 8 })).map(([q, pairs]) => (q ? "?" : "") + pairs.join("&"));
const labelsArb = fc
  .dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), fc.string({ minLength: 1, maxLength: 10 }), { minKeys: 1, maxKeys: MAX_TOKEN_LABELS })
  .map((d) => parseTokenLabels(d))
  .filter((r) => r.ok)
  .map((r) => (r.ok ? r.labels : {}));
const pathArb = fc.constantFrom("/api/v1/query", "/api/v1/write", "/select/7/prometheus/api/v1/export", "/insert/7:9/influx/write", "/prometheus/federate", "/api/v1/admin/tsdb/delete_series");

describe("properties (fixed seeds)", () => {
  it("no forwarded query string lacks the token's labels or carries a client-supplied widening argument", () => {
    fc.assert(
      fc.property(labelsArb, pathArb, queryArb, (labels, path, query) => {
        const result = scopeRequest(labels, path, query, null);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const expected = expectedArgs(labels);
        // As Go >= 1.17 reads it (VictoriaMetrics 1.79.5), and as an older Go splitting on `;` would.
        expect(wideningValues(result.search)).toEqual(expected);
        expect(wideningValues(result.search, true)).toEqual(expected);
        // And no pair but ours names a widening argument under any case or extra decoding.
        const ours = result.search.replace(/^\?/, "").split("&").slice(-expected.length);
        const rest = result.search.replace(/^\?/, "").split("&").slice(0, -expected.length);
        expect(ours.every((p) => p.startsWith("extra_label="))).toBe(true);
        expect(rest.filter(namesWideningKey)).toEqual([]);
      }),
      { seed: 1313, numRuns: 3000 },
    );
  });

  it("every other argument is forwarded byte for byte, in order", () => {
    fc.assert(
      fc.property(fc.array(plainPairArb, { maxLength: 8 }), fc.array(fc.tuple(fc.nat(8), wideningKeyArb, valueArb)), (plain, inserts) => {
        const pairs = [...plain];
        for (const [at, key, value] of inserts) pairs.splice(Math.min(at, pairs.length), 0, `${key}=${value}`);
        expect(withoutWideningArgs(`?${pairs.join("&")}`)).toBe(plain.join("&"));
      }),
      { seed: 1314, numRuns: 2000 },
    );
  });

  it("any path: never throws, and only an allowed endpoint is answered with a query string", () => {
    const segment = fc.oneof(fc.constantFrom("api", "v1", "query", "write", "prometheus", "select", "insert", "delete", "7", "7:9", "graphite", "tags", "vmui", "", "..", "%2e", "series", "count"), fc.webSegment());
    const randomPath = fc.array(segment, { minLength: 1, maxLength: 7 }).map((s) => `/${s.join("/")}`);
    const spelling = fc.constantFrom(...API_ROUTES.flatMap((r) => [r.cluster, ...r.clusterAlso, ...r.single]));
    const routePath = fc.tuple(fc.constantFrom("", "/insert/7", "/select/7:9", "/delete/0"), spelling, fc.constantFrom("", "", "/", "/x")).map(([p, s, t]) => `${p}${s.replace(/\{\w+\+?\}/, "team")}${t}`);
    const pathArb = fc.oneof(randomPath, routePath);
    fc.assert(
      fc.property(pathArb, queryArb, fc.constantFrom(null, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"), (path, query, contentType) => {
        const result = scopeRequest(TEAM, path, query, contentType);
        if (!result.ok) return;
        expect(endpointScope(path)?.kind).toMatch(/^(insert|select)$/);
        expect(wideningValues(result.search)).toEqual(["extra_label=team=payments"]);
      }),
      { seed: 1316, numRuns: 3000 },
    );
  });

  it("a rewritten form body carries no widening argument and keeps the rest", () => {
    fc.assert(
      fc.property(queryArb, (query) => {
        const body = query.replace(/^\?/, "");
        const out = new TextDecoder("latin1").decode(scopeFormBody(Uint8Array.from(body, (c) => c.charCodeAt(0))));
        expect(wideningValues(out)).toEqual([]);
        expect(wideningValues(out, true)).toEqual([]);
        expect(out).toBe(withoutWideningArgs(body));
      }),
      { seed: 1315, numRuns: 2000 },
    );
  });
});

/** Does any `;` piece of this pair have a key that, decoded up to three times and lowercased, is a widening name? */
function namesWideningKey(pair: string): boolean {
  return pair.split(";").some((piece) => {
    let key = piece.split("=")[0]!;
    for (let round = 0; round < 4; round++) {
      if (WIDENING_NAMES.includes(key.toLowerCase())) return true;
      try {
        key = decodeURIComponent(key.replace(/\+/g, " "));
      } catch {
        return false;
      }
    }
    return false;
  });
}
