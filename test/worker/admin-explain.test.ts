import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adminFetch, createApiKey, expectJson, storedAudit } from "./helpers/admin";
import { cluster, singleNode } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

// POST …/access_tokens/{id}/explain: the data path's decision without a request to any upstream.
// test/hardening/explain-agreement.worker.test.ts checks it against the real data path.

const VM = "http://vm.explain-route.test";
const INSERT = "http://vminsert.explain-route.test";
const SELECT = "http://vmselect.explain-route.test";

let upstream: UpstreamMock;
beforeEach(() => {
  upstream = mockUpstreams({ [VM]: () => new Response("no"), [INSERT]: () => new Response("no"), [SELECT]: () => new Response("no") });
});
afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
  expect(upstream.calls).toHaveLength(0); // explain never reaches an upstream
});

async function newToken(deploymentId: string, body: Record<string, unknown>): Promise<string> {
  const res = await adminFetch("POST", `/deployments/${deploymentId}/access_tokens`, { body: { description: "explain", ...body } });
  return (await expectJson<{ id: string }>(res, 201)).id;
}

function explain(deploymentId: string, tokenId: string, body: unknown, key?: string): Promise<Response> {
  return adminFetch("POST", `/deployments/${deploymentId}/access_tokens/${tokenId}/explain`, { body, ...(key ? { key } : {}) });
}

describe("explain", () => {
  it("gives the upstream URL, rewritten path and query of an allowed request, label scope included", async () => {
    const c = await cluster(INSERT, SELECT, "explain route");
    const id = await newToken(c.id, { type: "r", tenant_id: "42:7", labels: { team: "payments" } });
    const out = await expectJson(await explain(c.id, id, { method: "get", path: "/api/v1/query?query=up&extra_label=team=other" }), 200);
    expect(out).toEqual({
      decision: "allowed",
      request_class: "read",
      upstream_url: `${SELECT}/select/42:7/prometheus/api/v1/query?query=up&extra_label=team=payments`,
      path: "/select/42:7/prometheus/api/v1/query",
      query: "?query=up&extra_label=team=payments",
      tenant_id: "42:7",
      body: "forwarded",
      not_checked: ["concurrency_limit", "body_size", "upstream"],
    });
  });

  it("gives status, code and reason of a refusal as the data path answers it", async () => {
    const d = await singleNode(VM, "explain refusals");
    const id = await newToken(d.id, { type: "w" });
    const out = await expectJson(await explain(d.id, id, { method: "GET", path: "/api/v1/query?query=up" }), 200);
    expect(out).toMatchObject({ decision: "refused", status: 403, code: "insufficient_access" });
    expect(out.reason).toMatch(/^This token has access "w"/);
  });

  it("judges an allowlist only with a client_address, and says when it did not", async () => {
    const d = await singleNode(VM, "explain allowlist");
    const id = await newToken(d.id, { type: "rw", allowed_networks: ["10.0.0.0/8"] });
    const unchecked = await expectJson(await explain(d.id, id, { method: "GET", path: "/api/v1/query" }), 200);
    expect(unchecked).toMatchObject({ decision: "allowed", not_checked: ["allowed_networks", "concurrency_limit", "body_size", "upstream"] });
    const outside = await expectJson(await explain(d.id, id, { method: "GET", path: "/api/v1/query", client_address: "11.0.0.1" }), 200);
    expect(outside).toMatchObject({ decision: "refused", status: 403, code: "address_not_allowed", not_checked: ["concurrency_limit", "body_size", "upstream"] });
    const inside = await expectJson(await explain(d.id, id, { method: "GET", path: "/api/v1/query", client_address: "10.1.2.3" }), 200);
    expect(inside).toMatchObject({ decision: "allowed" });
  });

  it("answers a revoked token as the data path does (401), not 404", async () => {
    const d = await singleNode(VM, "explain revoked");
    const id = await newToken(d.id, { type: "rw" });
    expect((await adminFetch("DELETE", `/deployments/${d.id}/access_tokens/${id}`)).status).toBe(204);
    const out = await expectJson(await explain(d.id, id, { method: "GET", path: "/api/v1/query" }), 200);
    expect(out).toMatchObject({ decision: "refused", status: 401, code: "unauthorized" });
  });

  it.each([
    ["an absolute URL counts by its path and query", "https://elsewhere.example/api/v1/query?query=up", "allowed", undefined],
    ["a path that is not a path", "api/v1/query", "refused", "non_canonical_path"],
    ["an asterisk", "*", "refused", "non_canonical_path"],
    ["a doubled slash (no host switch)", "//elsewhere.example/api/v1/query", "refused", "non_canonical_path"],
    ["a NUL byte, encoded as a client's URL parser does", "/api/v1/\u0000query", "refused", "non_canonical_path"],
    ["control characters in the query", "/api/v1/query?query=\u0001up", "allowed", undefined],
    ["a dot segment, resolved as a client's URL parser does", "/api/v1/x/../query", "allowed", undefined],
    ["the management API", "/admin/api/v1/deployments", "refused", "management_path"],
  ])("%s: %j → no 500, the data path's decision", async (_name, path, decision, code) => {
    const d = await singleNode(VM, "explain odd paths");
    const id = await newToken(d.id, { type: "rw" });
    const out = await expectJson(await explain(d.id, id, { method: "GET", path }), 200);
    expect(out.decision).toBe(decision);
    if (code) expect(out.code).toBe(code);
    else expect(out.upstream_url).toMatch(new RegExp(`^${VM}/api/v1/query`));
  });

  it.each([
    [{ path: "/api/v1/query" }, "method"],
    [{ method: "G T", path: "/api/v1/query" }, "method"],
    [{ method: "GET" }, "path"],
    [{ method: "GET", path: "" }, "path"],
    [{ method: "GET", path: 7 }, "path"],
    [{ method: "GET", path: "/x", extra: 1 }, "extra"],
  ])("400 naming the field for %j", async (body, field) => {
    const d = await singleNode(VM, "explain 400");
    const id = await newToken(d.id, { type: "rw" });
    const out = await expectJson(await explain(d.id, id, body), 400);
    expect(out).toMatchObject({ error: "invalid_request", field });
  });

  it("404 for an unknown token or a deployment outside the key's scope", async () => {
    const d = await singleNode(VM, "explain 404");
    const other = await singleNode(VM, "explain other");
    const id = await newToken(d.id, { type: "rw" });
    expect((await explain(d.id, "no-such-token", { method: "GET", path: "/api/v1/query" })).status).toBe(404);
    const scoped = await createApiKey({ access: "r", deployment_ids: [other.id] });
    expect((await explain(d.id, id, { method: "GET", path: "/api/v1/query" }, scoped.value)).status).toBe(404);
  });

  it("is enough with a read-only key (the answer holds no secret) and is not audited", async () => {
    const d = await singleNode(VM, "explain r key");
    const id = await newToken(d.id, { type: "rw" });
    const before = (await storedAudit(id)).length;
    const readOnly = await createApiKey({ access: "r", deployment_ids: [d.id] });
    const out = await expectJson(await explain(d.id, id, { method: "POST", path: "/api/v1/write" }, readOnly.value), 200);
    expect(out).toMatchObject({ decision: "allowed", upstream_url: `${VM}/api/v1/write`, request_class: "write" });
    expect(JSON.stringify(out)).not.toMatch(/vmat_|"value"/);
    expect(await storedAudit(id)).toHaveLength(before);
  });

  it("is POST only", async () => {
    const d = await singleNode(VM, "explain 405");
    const id = await newToken(d.id, { type: "rw" });
    const res = await adminFetch("DELETE", `/deployments/${d.id}/access_tokens/${id}/explain`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });
});
