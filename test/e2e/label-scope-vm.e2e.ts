// The VictoriaMetrics 1.79.5 facts that label-scoped tokens rely on (src/policy/label-scope.ts,
// label-scope-endpoints.ts, query-args.ts), checked against the real binary directly — no Worker.
//
// One single-node VictoriaMetrics; every series of this run carries the run id in its name.
// Every "honours" test compares with the same request without `extra_label` (or with the other
// team's label), so a test cannot pass because the data simply is not there.
// docs/policy.md ("Label scope and address allowlists") cites each test by name.
// Run alone: npm run test:e2e -- test/e2e/label-scope-vm.e2e.ts (about 10 s).

import { randomBytes } from "node:crypto";
import snappy from "snappyjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeWriteRequest } from "../../bench/lib/protobuf.ts";
import { cleanupTempRoot, fetchWithTimeout, startVictoriaMetrics, stopAll, waitFor, type VictoriaMetrics } from "./lib/processes.ts";
import { exportSeries, forceFlush, waitForSamples, type ExportedSeries } from "./lib/vm-api.ts";

const run = randomBytes(3).toString("hex");
const R = `ls${run}`; // metric name prefix of this run
const NOW_S = Math.floor(Date.now() / 1000);
const NOW_MS = NOW_S * 1000;
const A = "extra_label=team=a";

let vm: VictoriaMetrics;
let failed = false;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
  // Read-side fixture: two teams, and a metric and a label that only team b has.
  const lines = [
    `${R}_cpu{team="a",host="h1"} 1 ${NOW_MS}`,
    `${R}_cpu{team="b",host="h2"} 2 ${NOW_MS}`,
    `${R}_secret{team="b",secret_label="s"} 3 ${NOW_MS}`,
  ].join("\n");
  await ok(post("/api/v1/import/prometheus", lines));
  await waitForSamples(vm.url, `{__name__=~"${R}_(cpu|secret)"}`, 3, { vmUrl: vm.url });
  // The query path can lag the export path by about a second in 1.79.5.
  await waitFor(async () => (await queryVector(`count({__name__=~"${R}_(cpu|secret)"})`))[0]?.value[1] === "3", { what: "seed visible to queries", timeoutMs: 15_000 });
}, 60_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await stopAll();
  cleanupTempRoot(failed);
}, 30_000);

// ---------------------------------------------------------------------------------------------
// Helpers

function post(pathAndQuery: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return fetchWithTimeout(`${vm.url}${pathAndQuery}`, { method: "POST", body, headers });
}

async function ok(res: Response | Promise<Response>): Promise<Response> {
  const r = await res;
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return r;
}

async function getText(pathAndQuery: string): Promise<string> {
  return (await ok(fetchWithTimeout(`${vm.url}${pathAndQuery}`))).text();
}

async function getJson<T>(pathAndQuery: string): Promise<T> {
  return JSON.parse(await getText(pathAndQuery)) as T;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function queryVector(query: string, extra = "", init?: { body: string; contentType: string }): Promise<Vector> {
  const q = `?query=${encodeURIComponent(query)}${extra ? `&${extra}` : ""}`;
  const res = init
    ? await ok(post(`/api/v1/query${extra ? `?${extra}` : ""}`, init.body, { "content-type": init.contentType }))
    : await ok(fetchWithTimeout(`${vm.url}/api/v1/query${q}`));
  const body = (await res.json()) as { status: string; data: { result: Vector } };
  expect(body.status).toBe("success");
  return body.data.result;
}

const teams = (series: { metric: Record<string, string> }[]) => [...new Set(series.map((s) => s.metric.team ?? "(none)"))].sort();
const enc = encodeURIComponent;
const SELECTOR = `{__name__=~"${R}_(cpu|secret)"}`;

// ---------------------------------------------------------------------------------------------
// Ingestion

interface Ingest {
  name: string;
  path: string;
  metric: string;
  body: () => BodyInit | Promise<BodyInit>;
  headers?: Record<string, string>;
}

const INGESTS: Ingest[] = [
  {
    name: "Prometheus remote write (/api/v1/write)",
    path: "/api/v1/write",
    metric: `${R}_rw`,
    headers: { "content-encoding": "snappy", "content-type": "application/x-protobuf" },
    body: () => {
      const labels = [{ name: "__name__", value: `${R}_rw` }, { name: "team", value: "other" }, { name: "x", value: "1" }];
      return new Uint8Array(snappy.compress(encodeWriteRequest([{ labels, samples: [{ value: 1, timestampMs: NOW_MS }] }])));
    },
  },
  { name: "JSON lines (/api/v1/import)", path: "/api/v1/import", metric: `${R}_json`, body: () => JSON.stringify({ metric: { __name__: `${R}_json`, team: "other" }, values: [1], timestamps: [NOW_MS] }) },
  { name: "CSV (/api/v1/import/csv)", path: `/api/v1/import/csv?format=1:label:team,2:metric:${R}_csv,3:time:unix_ms`, metric: `${R}_csv`, body: () => `other,1,${NOW_MS}` },
  { name: "Prometheus text (/api/v1/import/prometheus)", path: "/api/v1/import/prometheus", metric: `${R}_text`, body: () => `${R}_text{team="other",x="1"} 1 ${NOW_MS}` },
  { name: "Influx line protocol (/influx/write)", path: "/influx/write?db=telegraf", metric: `${R}_infl_value`, body: () => `${R}_infl,team=other value=1 ${NOW_MS}000000` },
  { name: "Influx v2 (/api/v2/write)", path: "/api/v2/write?bucket=b", metric: `${R}_infl2_value`, body: () => `${R}_infl2,team=other value=1 ${NOW_MS}000000` },
  {
    name: "Datadog (/datadog/api/v1/series)",
    path: "/datadog/api/v1/series",
    metric: `${R}.dd`,
    headers: { "content-type": "application/json" },
    body: () => JSON.stringify({ series: [{ metric: `${R}.dd`, points: [[NOW_S, 1]], tags: ["team:other"], host: "h" }] }),
  },
];

function withArg(path: string, arg: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}${arg}`;
}

describe("ingestion: extra_label from the URL is added to every sample and overrides the client's value", () => {
  it.each(INGESTS.map((i) => [i.name, i] as const))("%s", async (_, ingest) => {
    await ok(post(withArg(ingest.path, A), await ingest.body(), ingest.headers));
    const series = await waitForSamples(vm.url, `{__name__="${ingest.metric}"}`, 1, { vmUrl: vm.url });
    expect(series).toHaveLength(1);
    expect(series[0]!.metric.team).toBe("a");
  });

  it("native import (/api/v1/import/native): a re-imported copy carries the extra label instead of the client's", async () => {
    await ok(post("/api/v1/import/prometheus", `${R}_nat{team="other",x="1"} 5 ${NOW_MS}`));
    await waitForSamples(vm.url, `${R}_nat`, 1, { vmUrl: vm.url });
    const native = new Uint8Array(await (await ok(fetchWithTimeout(`${vm.url}/api/v1/export/native?match[]=${R}_nat`))).arrayBuffer());
    await ok(post(`/api/v1/import/native?${A}`, native));
    const series = await waitForSamples(vm.url, `${R}_nat`, 2, { vmUrl: vm.url });
    expect(series.map((s) => `${s.metric.team}/${s.metric.x}/${s.values.join()}`).sort()).toEqual(["a/1/5", "other/1/5"]);
  });

  // The exact argument test/unit/policy-label-scope.test.ts shows scopeRequest producing for {zone: "a&b=c d+%/é"}.
  it("stores a value escaped the way the policy escapes it, and a query with the same argument finds it", async () => {
    const arg = "extra_label=zone=a%26b%3Dc%20d%2B%25%2F%C3%A9";
    await ok(post(`/api/v1/import/prometheus?${arg}`, `${R}_esc{zone="other"} 1 ${NOW_MS}`));
    const series = await waitForSamples(vm.url, `${R}_esc`, 1, { vmUrl: vm.url });
    expect(series.map((s) => s.metric.zone)).toEqual(["a&b=c d+%/é"]);
    await waitFor(async () => (await queryVector(`${R}_esc`, arg)).length === 1, { what: "escaped value visible to queries" });
    expect(await queryVector(`${R}_esc`, "extra_label=zone=other")).toEqual([]);
  });

  it("reads extra_label percent-encoded, compares its name case-sensitively and ignores a pair holding ';'", async () => {
    await ok(post(`/api/v1/import/prometheus?extra%5Flabel=team%3Da`, `${R}_enc 1 ${NOW_MS}`));
    await ok(post(`/api/v1/import/prometheus?EXTRA_LABEL=team=a`, `${R}_case 1 ${NOW_MS}`));
    await ok(post(`/api/v1/import/prometheus?extra_label=team=a;x=y`, `${R}_semi 1 ${NOW_MS}`));
    const series = await waitForSamples(vm.url, `{__name__=~"${R}_(enc|case|semi)"}`, 3, { vmUrl: vm.url });
    const byName = Object.fromEntries(series.map((s) => [s.metric.__name__, s.metric.team ?? "(none)"]));
    expect(byName).toEqual({ [`${R}_enc`]: "a", [`${R}_case`]: "(none)", [`${R}_semi`]: "(none)" });
  });
});

// ---------------------------------------------------------------------------------------------
// Reads

describe("reads: vmselect applies extra_label to the series it selects", () => {
  it("/api/v1/query and /api/v1/query_range", async () => {
    expect(teams(await queryVector(SELECTOR))).toEqual(["a", "b"]);
    expect(teams(await queryVector(SELECTOR, A))).toEqual(["a"]);
    const range = await getJson<{ data: { result: { metric: Record<string, string> }[] } }>(
      `/api/v1/query_range?query=${enc(SELECTOR)}&start=${NOW_S - 60}&end=${NOW_S + 60}&step=30&${A}`,
    );
    expect(teams(range.data.result)).toEqual(["a"]);
  });

  it("/api/v1/series, /api/v1/export, /api/v1/export/csv and /federate", async () => {
    const series = await getJson<{ data: Record<string, string>[] }>(`/api/v1/series?match[]=${enc(SELECTOR)}&start=${NOW_S - 600}&${A}`);
    expect(teams(series.data.map((metric) => ({ metric })))).toEqual(["a"]);
    expect(teams(await exportSeries(vm.url, SELECTOR))).toEqual(["a", "b"]);
    const exported = (await getText(`/api/v1/export?match[]=${enc(SELECTOR)}&${A}`)).trim().split("\n").map((l) => JSON.parse(l) as ExportedSeries);
    expect(teams(exported)).toEqual(["a"]);
    expect((await getText(`/api/v1/export/csv?format=__name__,team&match[]=${enc(SELECTOR)}&${A}`)).trim().split("\n")).toEqual([`${R}_cpu,a`]);
    const federated = (await getText(`/federate?match[]=${enc(SELECTOR)}&${A}`)).trim().split("\n");
    expect(federated).toHaveLength(1);
    expect(federated[0]).toMatch(new RegExp(`^${R}_cpu\\{.*team="a"`));
  });

  it("/api/v1/export/native", async () => {
    const native = async (extra: string) => Buffer.from(await (await ok(fetchWithTimeout(`${vm.url}/api/v1/export/native?match[]=${enc(SELECTOR)}${extra}`))).arrayBuffer()).toString("latin1");
    expect(await native("")).toContain(`${R}_secret`);
    const scoped = await native(`&${A}`);
    expect(scoped).toContain(`${R}_cpu`);
    expect(scoped).not.toContain(`${R}_secret`);
  });

  // With a recent start (per-day index) and without one (the whole time range: another index path).
  it.each([`start=${NOW_S - 600}`, "x=1"])("/api/v1/labels and /api/v1/label/<name>/values (%s)", async (range) => {
    const labels = (extra: string) => getJson<{ data: string[] }>(`/api/v1/labels?${range}${extra}`);
    expect((await labels("")).data).toContain("secret_label");
    const scopedLabels = (await labels(`&${A}`)).data;
    expect(scopedLabels).toEqual(expect.arrayContaining(["__name__", "host", "team"]));
    expect(scopedLabels).not.toContain("secret_label");
    const values = (name: string, extra: string) => getJson<{ data: string[] }>(`/api/v1/label/${name}/values?${range}${extra}`);
    expect((await values("__name__", "")).data).toContain(`${R}_secret`);
    const names = (await values("__name__", `&${A}`)).data;
    expect(names).toContain(`${R}_cpu`);
    expect(names).not.toContain(`${R}_secret`);
    expect((await values("team", `&${A}`)).data).toEqual(["a"]);
  });

  // Today's per-day index, and date=0: the whole time range.
  it.each(["", "&date=0"])("/api/v1/status/tsdb (%s)", async (date) => {
    type Tsdb = { data: { seriesCountByLabelValuePair: { name: string }[] } };
    const pairs = async (extra: string) => (await getJson<Tsdb>(`/api/v1/status/tsdb?topN=100${date}${extra}`)).data.seriesCountByLabelValuePair.map((p) => p.name);
    expect(await pairs("")).toContain("team=b");
    const scoped = await pairs(`&${A}`);
    expect(scoped).toContain("team=a");
    expect(scoped.filter((p) => p.startsWith("team="))).toEqual(["team=a"]);
  });

  it("Graphite tags/findSeries, tags/autoComplete/tags and tags/autoComplete/values", async () => {
    expect(await getJson<string[]>(`/graphite/tags/findSeries?expr=name=${R}_cpu`)).toHaveLength(2);
    expect(await getJson<string[]>(`/graphite/tags/findSeries?expr=name=${R}_cpu&${A}`)).toEqual([`${R}_cpu;host=h1;team=a`]);
    expect(await getJson<string[]>(`/graphite/tags/autoComplete/tags`)).toContain("secret_label");
    expect(await getJson<string[]>(`/graphite/tags/autoComplete/tags?${A}`)).not.toContain("secret_label");
    expect(await getJson<string[]>(`/graphite/tags/autoComplete/values?tag=team&${A}`)).toEqual(["a"]);
  });

  it("/api/v1/admin/tsdb/delete_series deletes only matching series that carry the extra label", async () => {
    await ok(post("/api/v1/import/prometheus", `${R}_del{team="a"} 1 ${NOW_MS}\n${R}_del{team="b"} 1 ${NOW_MS}`));
    await waitForSamples(vm.url, `${R}_del`, 2, { vmUrl: vm.url });
    await ok(post(`/api/v1/admin/tsdb/delete_series?match[]=${R}_del&${A}`, ""));
    expect(teams(await exportSeries(vm.url, `${R}_del`))).toEqual(["b"]);
  });
});

describe("reads: endpoints that ignore extra_label (refused for label-scoped tokens)", () => {
  it("/api/v1/series/count counts every series", async () => {
    const count = async (extra: string) => (await getJson<{ data: number[] }>(`/api/v1/series/count${extra}`)).data[0];
    expect(await count(`?${A}`)).toBe(await count(""));
    expect(await count(`?extra_label=team=nobody`)).toBeGreaterThan(0);
  });

  it("Graphite /tags, /tags/<name> and /metrics/find list other teams' names", async () => {
    expect((await getJson<{ tag: string }[]>(`/graphite/tags?${A}`)).map((t) => t.tag)).toContain("secret_label");
    expect((await getJson<{ values: { value: string }[] }>(`/graphite/tags/team?${A}`)).values.map((v) => v.value)).toContain("b");
    expect((await getJson<{ id: string }[]>(`/graphite/metrics/find?query=*&${A}`)).map((m) => m.id)).toContain(`${R}_secret`);
  });

  it("answers with no series data: /api/v1/status/buildinfo, /graphite/functions", async () => {
    for (const path of ["/api/v1/status/buildinfo", "/graphite/functions"]) {
      expect(await getText(`${path}?${A}`)).not.toContain(R);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Spellings and form bodies on reads

describe("reads: spellings VictoriaMetrics accepts, and form bodies merged into the arguments", () => {
  const QUERY = `count(${SELECTOR})`;
  const count = (v: Vector) => v[0]?.value[1] ?? "none";

  it("extra_label and extra_filters[] percent-encoded are honoured; EXTRA_LABEL is not", async () => {
    expect(count(await queryVector(QUERY))).toBe("3");
    expect(count(await queryVector(QUERY, "extra%5Flabel=team%3Db"))).toBe("2");
    expect(count(await queryVector(QUERY, `extra_filters%5B%5D=${enc('{team="a"}')}`))).toBe("1");
    expect(count(await queryVector(QUERY, `extra_filters=${enc('{team="a"}')}`))).toBe("1");
    expect(count(await queryVector(QUERY, "EXTRA_LABEL=team=b"))).toBe("3");
  });

  it("an urlencoded POST body is merged: alone it scopes, next to a URL extra_label it only narrows", async () => {
    const form = (params: Record<string, string>) => ({ body: new URLSearchParams({ query: QUERY, ...params }).toString(), contentType: "application/x-www-form-urlencoded" });
    expect(count(await queryVector(QUERY, "", form({ extra_label: "team=b" })))).toBe("2");
    // extra_label values are ANDed: the body cannot replace the URL's.
    expect(count(await queryVector(QUERY, A, form({ extra_label: "team=b" })))).toBe("none");
    // extra_filters alternatives are each ANDed with every extra_label: a match-all filter does not widen.
    expect(count(await queryVector(QUERY, A, form({ "extra_filters[]": '{__name__=~".+"}' })))).toBe("1");
    expect(count(await queryVector(QUERY, A, form({ extra_filters: '{team="b"}' })))).toBe("none");
  });

  it("the Content-Type of a form body is compared without case; other bodies are not read as arguments", async () => {
    const body = `query=${enc(QUERY)}&extra_label=team=b`;
    expect(count(await queryVector(QUERY, "", { body, contentType: "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8" }))).toBe("2");
    expect(count(await queryVector(QUERY, `query=${enc(QUERY)}`, { body: "extra_label=team=b", contentType: "text/plain" }))).toBe("3");
  });

  it("a multipart/form-data body is merged too", async () => {
    const form = new FormData();
    form.set("query", QUERY);
    form.set("extra_label", "team=b");
    const res = await ok(fetchWithTimeout(`${vm.url}/api/v1/query`, { method: "POST", body: form }));
    expect(count(((await res.json()) as { data: { result: Vector } }).data.result)).toBe("2");
  });
});
