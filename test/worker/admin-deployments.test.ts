import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadTokenRecord } from "../../src/store/token-projection";
import { hashSecret } from "../../src/token/crypto";
import {
  type AccessTokenJson,
  type DeploymentJson,
  adminFetch,
  createAccessToken,
  createDeployment,
  expectJson,
  kvKeyCount,
  listTiers,
  revokeAccessToken,
  tableCounts,
  limiterState,
  projection,
} from "./helpers/admin";

// Storage is shared by the tests of one file: each test makes its own deployment.

const SINGLE = { name: "prod single", type: "single_node", tier: 20, upstream_url: "http://vm.internal:8428/" };
const CLUSTER = { name: "prod cluster", type: "cluster", tier: 40, insert_url: "https://vminsert.internal:8480", select_url: "https://vmselect.internal:8481/" };

async function auditActions(targetId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT action FROM audit_log WHERE target_id = ?1 ORDER BY id").bind(targetId).all<{ action: string }>();
  return results.map((r) => r.action);
}

async function expectNothingWritten(action: () => Promise<Response>, status: number, field: string): Promise<Record<string, unknown>> {
  const before = { tables: await tableCounts(), kv: await kvKeyCount() };
  const body = await expectJson(await action(), status);
  expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(new RegExp(`^${field.replace(".", "\\.")}: `)), field });
  expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  return body;
}

describe("POST /api/v1/deployments", () => {
  it("creates a single-node deployment with its default rw token and projection", async () => {
    const res = await adminFetch("POST", "/deployments", { body: SINGLE });
    const deployment = await expectJson<DeploymentJson>(res, 201);
    expect(deployment).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      name: "prod single",
      type: "single_node",
      tier: 20,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      status: "RUNNING",
      access_endpoint: env.ACCESS_ENDPOINT,
      upstream_url: "http://vm.internal:8428",
    });
    expect(Math.abs(Date.parse(deployment.created_at) - Date.now())).toBeLessThan(60_000);

    const tokens = await expectJson<AccessTokenJson[]>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens`), 200);
    expect(tokens).toEqual([expect.objectContaining({ type: "rw", description: "default", created_by: "bootstrap", value: expect.stringMatching(/^[0-9A-Za-z]{4}$/) })]);
    const revealed = await expectJson<AccessTokenJson>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens/${tokens[0]!.id}`), 200);
    expect(tokens[0]!.value).toBe(revealed.value.slice(-4));
    expect(await projection(revealed.value)).toEqual({
      v: 1,
      token_id: revealed.id,
      deployment_id: deployment.id,
      deployment_type: "single_node",
      access: "rw",
      concurrency: 50,
      upstream_url: "http://vm.internal:8428",
    });
    expect(await auditActions(deployment.id)).toEqual(["deployment.create"]);
  });

  it("creates a cluster deployment with vminsert and vmselect URLs", async () => {
    const deployment = await expectJson<DeploymentJson>(await adminFetch("POST", "/deployments", { body: CLUSTER }), 201);
    expect(deployment).toMatchObject({ type: "cluster", tier: 40, insert_url: "https://vminsert.internal:8480", select_url: "https://vmselect.internal:8481" });
    expect(deployment).not.toHaveProperty("upstream_url");
    const [token] = await expectJson<AccessTokenJson[]>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens`), 200);
    const revealed = await expectJson<AccessTokenJson>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens/${token!.id}`), 200);
    expect(await projection(revealed.value)).toMatchObject({
      deployment_type: "cluster",
      concurrency: 200,
      insert_url: "https://vminsert.internal:8480",
      select_url: "https://vmselect.internal:8481",
    });
  });

  const invalid: [string, { body?: unknown; rawBody?: string; contentType?: string | null }, string][] = [
    ["malformed JSON", { rawBody: '{"name": "x",' }, "body"],
    ["an empty body", { rawBody: "" }, "body"],
    ["text/plain", { rawBody: JSON.stringify(SINGLE), contentType: "text/plain" }, "body"],
    // A string body without an explicit type goes out as text/plain (fetch's default). A body with
    // no Content-Type at all is read as JSON, as the VictoriaMetrics Cloud client needs (admin-compat).
    ["fetch's default text/plain", { rawBody: JSON.stringify(SINGLE), contentType: null }, "body"],
    ["form encoding", { rawBody: "name=x", contentType: "application/x-www-form-urlencoded" }, "body"],
    ["an array", { body: [SINGLE] }, "body"],
    ["a string", { body: "deployment" }, "body"],
    ["null", { body: null }, "body"],
    ["an unknown field", { body: { ...SINGLE, region: "us-east-1" } }, "region"],
    ["cluster URLs on single_node", { body: { ...SINGLE, insert_url: "http://a:1" } }, "insert_url"],
    ["upstream_url on cluster", { body: { ...CLUSTER, upstream_url: "http://a:1" } }, "upstream_url"],
    ["no name", { body: { ...SINGLE, name: undefined } }, "name"],
    ["an empty name", { body: { ...SINGLE, name: "  " } }, "name"],
    ["a numeric name", { body: { ...SINGLE, name: 7 } }, "name"],
    ["a too long name", { body: { ...SINGLE, name: "n".repeat(129) } }, "name"],
    ["no type", { body: { ...SINGLE, type: undefined } }, "type"],
    ["an unknown type", { body: { ...SINGLE, type: "vlogs_single" } }, "type"],
    ["no tier", { body: { ...SINGLE, tier: undefined } }, "tier"],
    ["an unknown tier", { body: { ...SINGLE, tier: 999 } }, "tier"],
    ["a string tier", { body: { ...SINGLE, tier: "20" } }, "tier"],
    ["a fractional tier", { body: { ...SINGLE, tier: 20.5 } }, "tier"],
    ["a negative tier", { body: { ...SINGLE, tier: -1 } }, "tier"],
    ["a tier over uint32", { body: { ...SINGLE, tier: 2 ** 32 } }, "tier"],
    ["no upstream_url", { body: { ...SINGLE, upstream_url: undefined } }, "upstream_url"],
    ["an ftp URL", { body: { ...SINGLE, upstream_url: "ftp://vm:21" } }, "upstream_url"],
    ["a relative URL", { body: { ...SINGLE, upstream_url: "/api/v1" } }, "upstream_url"],
    ["a URL with credentials", { body: { ...SINGLE, upstream_url: "http://user:pass@vm:8428" } }, "upstream_url"],
    ["a URL with a query", { body: { ...SINGLE, upstream_url: "http://vm:8428/?extra_label=a=b" } }, "upstream_url"],
    ["a URL with a fragment", { body: { ...SINGLE, upstream_url: "http://vm:8428/#x" } }, "upstream_url"],
    ["a numeric URL", { body: { ...SINGLE, upstream_url: 8428 } }, "upstream_url"],
    ["a cluster without select_url", { body: { ...CLUSTER, select_url: undefined } }, "select_url"],
    ["a cluster with a bad insert_url", { body: { ...CLUSTER, insert_url: "javascript:alert(1)" } }, "insert_url"],
  ];
  it.each(invalid)("refuses %s with 400 naming the field, writing nothing", async (_name, req, field) => {
    await expectNothingWritten(() => adminFetch("POST", "/deployments", req), 400, field);
  });

  it("names the rule in the message", async () => {
    const cases: [unknown, string][] = [
      [{ ...SINGLE, region: "x" }, "region: unknown field"],
      [{ ...SINGLE, name: undefined }, "name: required"],
      [{ ...SINGLE, tier: "20" }, "tier: must be a number"],
      [{ ...SINGLE, type: "x" }, 'type: must be one of "single_node", "cluster"'],
      [{ ...SINGLE, upstream_url: "http://u:p@vm" }, "upstream_url: must not contain credentials"],
    ];
    for (const [body, message] of cases) {
      expect(await expectJson(await adminFetch("POST", "/deployments", { body }), 400)).toMatchObject({ message });
    }
    expect(await expectJson(await adminFetch("POST", "/deployments", { body: { ...SINGLE, tier: 999 } }), 400)).toMatchObject({
      message: expect.stringMatching(/^tier: no tier with id 999/),
    });
  });
});

describe("GET /api/v1/deployments", () => {
  it("lists live deployments and gets one by id", async () => {
    const { deployment } = await createDeployment({ name: "listed" });
    const list = await expectJson<DeploymentJson[]>(await adminFetch("GET", "/deployments"), 200);
    expect(list).toContainEqual(deployment);
    expect(await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`), 200)).toEqual(deployment);
  });

  it.each(["00000000-0000-4000-8000-000000000000", "not-a-uuid", "%27%20OR%201%3D1"])("answers 404 JSON for unknown id %s", async (id) => {
    for (const [method, body] of [["GET"], ["PUT", { name: "x" }], ["DELETE"]] as const) {
      const res = await adminFetch(method, `/deployments/${id}`, { body });
      expect(await expectJson(res, 404)).toMatchObject({ error: "not_found" });
    }
  });

  it("answers 405 to PATCH and POST on a deployment", async () => {
    const { deployment } = await createDeployment();
    for (const method of ["PATCH", "POST"]) {
      const res = await adminFetch(method, `/deployments/${deployment.id}`, { body: { name: "x" } });
      expect(await expectJson(res, 405)).toMatchObject({ error: "method_not_allowed" });
      expect(res.headers.get("allow")).toBe("GET, PUT, DELETE");
    }
  });
});

describe("PUT /api/v1/deployments/{id}", () => {
  it("updates name, tier and URL, and rewrites the projection of every live token", async () => {
    const { deployment, defaultToken } = await createDeployment({ name: "before", tier: 20 });
    const reader = await createAccessToken(deployment.id, { type: "r" });
    const revoked = await createAccessToken(deployment.id, { type: "w" });
    await revokeAccessToken(deployment.id, revoked.id);

    const res = await adminFetch("PUT", `/deployments/${deployment.id}`, { body: { name: "after", tier: 23, upstream_url: "https://vm2.internal/prefix/" } });
    const updated = await expectJson<DeploymentJson>(res, 200);
    expect(updated).toEqual({ ...deployment, name: "after", tier: 23, upstream_url: "https://vm2.internal/prefix" });
    expect(await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`), 200)).toEqual(updated);

    for (const token of [defaultToken, reader]) {
      expect(await projection(token.value)).toMatchObject({ token_id: token.id, concurrency: 400, upstream_url: "https://vm2.internal/prefix" });
      expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toEqual(await projection(token.value));
    }
    expect(await projection(revoked.value)).toBeNull();
    expect(await auditActions(deployment.id)).toEqual(["deployment.create", "deployment.update"]);
  });

  it("keeps fields it is not given and accepts an unchanged type", async () => {
    const { deployment } = await createDeployment({ type: "cluster", name: "c" });
    const updated = await expectJson<DeploymentJson>(
      await adminFetch("PUT", `/deployments/${deployment.id}`, { body: { type: "cluster", select_url: "http://vmselect-2:8481" } }),
      200,
    );
    expect(updated).toEqual({ ...deployment, select_url: "http://vmselect-2:8481" });
  });

  it.each([
    ["a type change", { type: "cluster" }, "type"],
    ["cluster URLs on single_node", { insert_url: "http://a:1" }, "insert_url"],
    ["an unknown tier", { tier: 7 }, "tier"],
    ["an unknown field", { status: "STOPPED" }, "status"],
    ["an empty object", {}, "body"],
    ["a bad URL", { upstream_url: "nope" }, "upstream_url"],
    ["an empty name", { name: "" }, "name"],
  ])("refuses %s with 400 and changes nothing", async (_name, body, field) => {
    const { deployment, defaultToken } = await createDeployment({ name: "stable" });
    const kvBefore = await projection(defaultToken.value);
    await expectNothingWritten(() => adminFetch("PUT", `/deployments/${deployment.id}`, { body }), 400, field);
    expect(await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`), 200)).toEqual(deployment);
    expect(await projection(defaultToken.value)).toEqual(kvBefore);
  });

  it("refuses upstream_url on a cluster", async () => {
    const { deployment } = await createDeployment({ type: "cluster" });
    await expectNothingWritten(() => adminFetch("PUT", `/deployments/${deployment.id}`, { body: { upstream_url: "http://a:1" } }), 400, "upstream_url");
  });
});

describe("DELETE /api/v1/deployments/{id}", () => {
  it("deletes the deployment and revokes every token everywhere", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const other = await createAccessToken(deployment.id, { type: "r" });

    const res = await adminFetch("DELETE", `/deployments/${deployment.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    expect((await adminFetch("GET", `/deployments/${deployment.id}`)).status).toBe(404);
    const list = await expectJson<DeploymentJson[]>(await adminFetch("GET", "/deployments"), 200);
    expect(list.map((d) => d.id)).not.toContain(deployment.id);
    expect((await adminFetch("GET", `/deployments/${deployment.id}/access_tokens`)).status).toBe(404);
    expect((await adminFetch("DELETE", `/deployments/${deployment.id}`)).status).toBe(404);

    for (const token of [defaultToken, other]) {
      const row = await env.DB.prepare("SELECT revoked_at FROM access_tokens WHERE id = ?1").bind(token.id).first<{ revoked_at: number | null }>();
      expect(row?.revoked_at).toEqual(expect.any(Number));
      expect(await projection(token.value)).toBeNull();
      expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toBeNull();
      expect((await limiterState(token.id)).revoked).toBe(true);
      expect(await auditActions(token.id)).toContain("access_token.revoke");
    }
    expect(await auditActions(deployment.id)).toEqual(["deployment.create", "deployment.delete"]);
  });

  it("leaves other deployments alone", async () => {
    const { deployment: doomed } = await createDeployment({ name: "doomed" });
    const { deployment: kept, defaultToken } = await createDeployment({ name: "kept" });
    expect((await adminFetch("DELETE", `/deployments/${doomed.id}`)).status).toBe(204);
    expect(await expectJson(await adminFetch("GET", `/deployments/${kept.id}`), 200)).toEqual(kept);
    expect(await projection(defaultToken.value)).toMatchObject({ deployment_id: kept.id });
  });
});

describe("tiers in use", () => {
  it("lets any existing tier serve either deployment type", async () => {
    const tiers = await listTiers();
    const singleTier = tiers.find((t) => t.type === "single_node")!;
    const { deployment } = await createDeployment({ type: "cluster", tier: singleTier.id });
    expect(deployment.tier).toBe(singleTier.id);
  });
});
