import { describe, expect, it } from "vitest";
import { adminFetch, expectJson, kvKeyCount, listTiers, tableCounts } from "./helpers/admin";

// Storage is shared by the tests of one file (fresh per file): every test creates what it needs
// and compares counts before and after instead of assuming empty tables.

const VALID_DEPLOYMENT = { name: "auth probe", type: "single_node", tier: 20, upstream_url: "http://127.0.0.1:8428" };

describe("management API authentication", () => {
  it.each([
    ["no key", null, /Missing X-VM-Cloud-Access/],
    ["an empty key", "", /Missing X-VM-Cloud-Access/],
    ["a wrong key", "wrong-admin-key", /not a valid management API key/],
    ["a key of the right length", "test-admin-kez", /not a valid management API key/],
    ["the key with a suffix", "test-admin-key2", /not a valid management API key/],
  ])("refuses %s with 401 JSON and writes nothing", async (_name, key, message) => {
    const before = { tables: await tableCounts(), kv: await kvKeyCount() };
    const res = await adminFetch("POST", "/deployments", { key, body: VALID_DEPLOYMENT });
    const body = await expectJson(res, 401);
    expect(body).toEqual({ error: "unauthorized", message: expect.stringMatching(message) });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  });

  it.each(["GET /tiers", "GET /deployments", "GET /deployments/00000000-0000-4000-8000-000000000000/access_tokens", "GET /nowhere"])(
    "refuses %s without a key before routing",
    async (route) => {
      const [method, path] = route.split(" ") as [string, string];
      const res = await adminFetch(method, path, { key: null });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "unauthorized" });
    },
  );

  it("accepts the bootstrap key in any header-name case", async () => {
    const res = await adminFetch("GET", "/tiers", { key: null, headers: { "X-VM-CLOUD-ACCESS": "test-admin-key" } });
    expect(res.status).toBe(200);
  });
});

describe("request ids", () => {
  it("echoes a plain cf-ray as x-request-id", async () => {
    const res = await adminFetch("GET", "/tiers", { headers: { "cf-ray": "8f1e2d3c4b5a6978-AMS" } });
    expect(res.headers.get("x-request-id")).toBe("8f1e2d3c4b5a6978-AMS");
  });

  it("generates one when cf-ray is absent or not a plain token", async () => {
    const cases: Record<string, string>[] = [{}, { "cf-ray": "bad ray\u0001" }, { "cf-ray": "x".repeat(65) }];
    for (const headers of cases) {
      const res = await adminFetch("GET", "/tiers", { headers });
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("is also set on error answers", async () => {
    const res = await adminFetch("GET", "/deployments/nope", { headers: { "cf-ray": "abc123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("abc123");
  });
});

describe("routing", () => {
  it("answers unknown management paths with 404 JSON", async () => {
    const res = await adminFetch("GET", "/regions");
    expect(await expectJson(res, 404)).toMatchObject({ error: "not_found" });
  });

  it("refuses oversized bodies with 413 before parsing", async () => {
    const before = await tableCounts();
    const res = await adminFetch("POST", "/deployments", { rawBody: JSON.stringify({ ...VALID_DEPLOYMENT, name: "x".repeat(70_000) }) });
    expect(await expectJson(res, 413)).toMatchObject({ error: "payload_too_large" });
    expect(await tableCounts()).toEqual(before);
  });
});

describe("GET /api/v1/tiers", () => {
  it("lists the seeded tiers in the VictoriaMetrics Cloud shape", async () => {
    const tiers = await listTiers();
    expect(tiers.length).toBeGreaterThanOrEqual(4);
    for (const tier of tiers) {
      expect(tier).toMatchObject({
        id: expect.any(Number),
        name: expect.any(String),
        type: expect.stringMatching(/^(single_node|cluster)$/),
        cloud_provider: expect.any(String),
        compute_cost_per_hour: expect.any(Number),
        access_token_concurrent_requests: expect.any(Number),
        access_token_limit: expect.any(Number),
        ingestion_rate: expect.any(Number),
        active_time_series: expect.any(Number),
        new_series_over_24h: expect.any(Number),
        datapoints_read_rate: expect.any(Number),
        series_read_per_query: expect.any(Number),
      });
    }
    const concurrency = tiers.map((t) => t.access_token_concurrent_requests);
    expect(Math.min(...concurrency)).toBe(50);
    expect(Math.max(...concurrency)).toBe(600);
    const smallest = tiers.find((t) => t.access_token_concurrent_requests === 50);
    expect(smallest?.access_token_limit).toBeLessThanOrEqual(10);
    expect(new Set(tiers.map((t) => t.type))).toEqual(new Set(["single_node", "cluster"]));
  });
});
