import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../src/token/crypto";
import { API_KEY_PREFIX, isWellFormedSecret } from "../../src/token/format";
import {
  type AccessTokenJson,
  type ApiKeyJson,
  type AuditEntryJson,
  type DeploymentJson,
  adminFetch,
  createAccessToken,
  createApiKey,
  createDeployment,
  everythingStored,
  expectJson,
  kvKeyCount,
  revokeApiKey,
  storedAudit,
  tableCounts,
} from "./helpers/admin";

// Storage is shared by the tests of one file: each test makes its own deployments and keys.

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const tokensPath = (deploymentId: string) => `/deployments/${deploymentId}/access_tokens`;
const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** Runs `action`, expects `status`, and checks that no table, KV key or audit row changed. */
async function expectRefused(action: () => Promise<Response>, status: number): Promise<Record<string, unknown>> {
  const before = { tables: await tableCounts(), kv: await kvKeyCount() };
  const body = await expectJson(await action(), status);
  expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  return body;
}

describe("POST /api/v1/api_keys", () => {
  it("creates a key: secret once in value, stored only as SHA-256, audited without it", async () => {
    const { deployment } = await createDeployment();
    const expires = new Date(Date.UTC(2099, 0, 31, 12)).toISOString();
    const res = await adminFetch("POST", "/api_keys", { body: { name: "ci deploy", access: "rw", deployment_ids: [deployment.id], expires_at: "2099-01-31T14:00:00+02:00" } });
    const key = await expectJson<ApiKeyJson & { value: string }>(res, 201);
    expect(key).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "ci deploy",
      access: "rw",
      deployment_ids: [deployment.id],
      expires_at: expires,
      created_at: expect.stringMatching(RFC3339),
      created_by: "bootstrap",
      value: expect.stringMatching(/^vmak_/),
    });
    expect(isWellFormedSecret(key.value, API_KEY_PREFIX)).toBe(true);
    expect(res.headers.get("cache-control")).toBe("no-store");

    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?1").bind(key.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ key_hash: await hashSecret(key.value), access: "rw", deployment_ids: JSON.stringify([deployment.id]), created_by: "bootstrap" });
    expect((await everythingStored()).filter((s) => s.includes(key.value))).toEqual([]);

    const [audit] = await storedAudit(key.id);
    expect(audit).toMatchObject({ action: "api_key.create", actor_id: "bootstrap", target_type: "api_key", deployment_id: null, request_id: res.headers.get("x-request-id") });
    expect(JSON.parse(audit!.detail as string)).toEqual({ name: "ci deploy", access: "rw", deployment_ids: [deployment.id], expires_at: expires });
  });

  it("omits deployment_ids and expires_at for an all-scope key that never expires", async () => {
    const key = await createApiKey({ name: "terraform", access: "r" });
    expect(key).not.toHaveProperty("deployment_ids");
    expect(key).not.toHaveProperty("expires_at");
    const got = await expectJson(await adminFetch("GET", `/api_keys/${key.id}`), 200);
    expect(got).toEqual({ ...key, value: undefined });
  });

  it("accepts null for deployment_ids and expires_at", async () => {
    const key = await expectJson<ApiKeyJson>(await adminFetch("POST", "/api_keys", { body: { name: "nulls", access: "r", deployment_ids: null, expires_at: null } }), 201);
    expect(key).not.toHaveProperty("deployment_ids");
    expect(key).not.toHaveProperty("expires_at");
  });
});

describe("GET /api/v1/api_keys", () => {
  it("lists live keys without secrets, and gets one by id", async () => {
    const kept = await createApiKey({ name: "kept" });
    const gone = await createApiKey({ name: "gone" });
    await revokeApiKey(gone.id);
    const list = await expectJson<ApiKeyJson[]>(await adminFetch("GET", "/api_keys"), 200);
    const { value: _secret, ...shown } = kept;
    expect(list).toContainEqual(shown);
    expect(list.map((k) => k.id)).not.toContain(gone.id);
    for (const k of list) expect(k).not.toHaveProperty("value");

    const revoked = await expectJson<ApiKeyJson>(await adminFetch("GET", `/api_keys/${gone.id}`), 200);
    expect(revoked.revoked_at).toMatch(RFC3339);
    expect((await adminFetch("GET", "/api_keys/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });
});

describe("a stored read-write key scoped to all deployments", () => {
  it("works like the bootstrap key and is recorded as created_by and in the audit log", async () => {
    const key = await createApiKey({ name: "automation" });
    const res = await adminFetch("POST", "/deployments", { key: key.value, body: { name: "by key", type: "single_node", tier: 20, upstream_url: "http://vm:8428" } });
    const deployment = await expectJson<DeploymentJson>(res, 201);
    const [token] = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id), { key: key.value }), 200);
    expect(token!.created_by).toBe("automation");
    const created = await createAccessToken(deployment.id);
    expect(created.created_by).toBe("bootstrap");
    expect(await storedAudit(deployment.id)).toEqual([expect.objectContaining({ action: "deployment.create", actor_id: key.id, actor_name: "automation" })]);
  });

  it("can create API keys, never outliving itself", async () => {
    const parent = await createApiKey({ name: "parent", expires_at: inOneHour() });
    const refused = [{}, { expires_at: new Date(Date.now() + 7_200_000).toISOString() }];
    for (const extra of refused) {
      const body = await expectRefused(() => adminFetch("POST", "/api_keys", { key: parent.value, body: { name: "child", access: "r", ...extra } }), 400);
      expect(body).toMatchObject({ error: "invalid_request", field: "expires_at", message: expect.stringMatching(/^expires_at: must be at or before .*when the key creating it expires/) });
    }
    const child = await createApiKey({ name: "child", access: "r", expires_at: new Date(Date.now() + 60_000).toISOString() }, parent.value);
    expect(child.created_by).toBe("parent");
  });
});

describe("a read-only key", () => {
  it("reads what it may see and changes, reveals and creates nothing", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const reader = await createApiKey({ name: "reader", access: "r" });
    const key = reader.value;
    expect((await adminFetch("GET", "/tiers", { key })).status).toBe(200);
    expect(await expectJson<DeploymentJson[]>(await adminFetch("GET", "/deployments", { key }), 200)).toContainEqual(deployment);
    expect(await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`, { key }), 200)).toEqual(deployment);
    const listed = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id), { key }), 200);
    expect(listed.map((t) => t.value)).toEqual([defaultToken.value.slice(-4)]);
    expect((await adminFetch("GET", "/audit", { key })).status).toBe(200);
    expect((await adminFetch("GET", "/api_keys", { key })).status).toBe(200);

    const tokenPath = `${tokensPath(deployment.id)}/${defaultToken.id}`;
    const attempts: [string, string, unknown?][] = [
      ["POST", "/deployments", { name: "x", type: "single_node", tier: 20, upstream_url: "http://vm:8428" }],
      ["PUT", `/deployments/${deployment.id}`, { name: "renamed" }],
      ["DELETE", `/deployments/${deployment.id}`],
      ["POST", tokensPath(deployment.id), { type: "r", description: "x" }],
      ["GET", tokenPath],
      ["GET", `${tokenPath}/examples`],
      ["DELETE", tokenPath],
      ["POST", "/api_keys", { name: "x", access: "r" }],
      ["DELETE", `/api_keys/${reader.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const refused = await expectRefused(() => adminFetch(method, path, { key, body }), 403);
      expect(refused).toEqual({ error: "forbidden", message: expect.stringMatching(/read-only/) });
    }
    // Nothing leaked: the secret never appeared, the deployment is unchanged.
    expect(await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`), 200)).toEqual(deployment);
  });
});

describe("a key scoped to some deployments", () => {
  it("sees and changes only its deployments; others answer 404 as if they did not exist", async () => {
    const { deployment: mine, defaultToken: myToken } = await createDeployment({ name: "mine" });
    const { deployment: other, defaultToken: othersToken } = await createDeployment({ name: "other" });
    const scoped = await createApiKey({ name: "team-a", access: "rw", deployment_ids: [mine.id] });
    const key = scoped.value;

    const list = await expectJson<DeploymentJson[]>(await adminFetch("GET", "/deployments", { key }), 200);
    expect(list).toEqual([mine]);
    const token = await expectJson<AccessTokenJson>(await adminFetch("POST", tokensPath(mine.id), { key, body: { type: "w", description: "team a writer" } }), 201);
    expect(token.created_by).toBe("team-a");
    expect(await expectJson(await adminFetch("GET", `${tokensPath(mine.id)}/${myToken.id}`, { key }), 200)).toEqual(myToken);

    const unknown = "00000000-0000-4000-8000-000000000000";
    const othersTokenPath = `${tokensPath(other.id)}/${othersToken.id}`;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/deployments/${other.id}`],
      ["PUT", `/deployments/${other.id}`, { name: "taken over" }],
      ["DELETE", `/deployments/${other.id}`],
      ["GET", tokensPath(other.id)],
      ["POST", tokensPath(other.id), { type: "rw", description: "sneaky" }],
      ["GET", othersTokenPath],
      ["GET", `${othersTokenPath}/examples`],
      ["DELETE", othersTokenPath],
      // The other deployment's token through this key's own deployment: not there either.
      ["GET", `${tokensPath(mine.id)}/${othersToken.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const forOther = await expectRefused(() => adminFetch(method, path, { key, body }), 404);
      const forUnknown = await expectJson(await adminFetch(method, path.replace(other.id, unknown), { key, body }), 404);
      // Same answer as for an id that does not exist, up to the id itself.
      expect(JSON.stringify(forOther).replaceAll(other.id, unknown)).toBe(JSON.stringify(forUnknown));
    }
    expect(await expectJson(await adminFetch("GET", `/deployments/${other.id}`), 200)).toEqual(other);
  });

  it("cannot create deployments or manage API keys", async () => {
    const { deployment } = await createDeployment();
    const { value: key } = await createApiKey({ name: "scoped rw", access: "rw", deployment_ids: [deployment.id] });
    const attempts: [string, string, unknown?][] = [
      ["POST", "/deployments", { name: "x", type: "single_node", tier: 20, upstream_url: "http://vm:8428" }],
      ["GET", "/api_keys"],
      ["POST", "/api_keys", { name: "wider", access: "rw" }],
      ["POST", "/api_keys", { name: "same", access: "rw", deployment_ids: [deployment.id] }],
    ];
    for (const [method, path, body] of attempts) {
      const refused = await expectRefused(() => adminFetch(method, path, { key, body }), 403);
      expect(refused).toEqual({ error: "forbidden", message: expect.stringMatching(/limited to some deployments/) });
    }
  });

  it("read-only and scoped: lists its deployment, reveals nothing, 404 elsewhere", async () => {
    const { deployment: mine, defaultToken } = await createDeployment();
    const { deployment: other } = await createDeployment();
    const { value: key } = await createApiKey({ name: "scoped r", access: "r", deployment_ids: [mine.id] });
    expect((await adminFetch("GET", tokensPath(mine.id), { key })).status).toBe(200);
    expect((await adminFetch("GET", tokensPath(other.id), { key })).status).toBe(404);
    expect((await adminFetch("GET", `${tokensPath(mine.id)}/${defaultToken.id}`, { key })).status).toBe(403);
  });

  it("keeps a deleted deployment out of reach", async () => {
    const { deployment } = await createDeployment();
    const { value: key } = await createApiKey({ name: "doomed scope", deployment_ids: [deployment.id] });
    expect((await adminFetch("DELETE", `/deployments/${deployment.id}`, { key })).status).toBe(204);
    expect(await expectJson(await adminFetch("GET", "/deployments", { key }), 200)).toEqual([]);
  });
});

describe("expired and revoked keys", () => {
  it("refuses an expired key with 401 at its next request", async () => {
    const key = await createApiKey({ name: "short-lived", expires_at: inOneHour() });
    expect((await adminFetch("GET", "/tiers", { key: key.value })).status).toBe(200);
    // Time passes: the expiry is now behind us.
    await env.DB.prepare("UPDATE api_keys SET expires_at = ?1 WHERE id = ?2").bind(Date.now() - 1, key.id).run();
    const body = await expectRefused(() => adminFetch("POST", "/api_keys", { key: key.value, body: { name: "x", access: "r" } }), 401);
    expect(body).toEqual({ error: "unauthorized", message: expect.stringMatching(/has expired/) });
    expect((await adminFetch("GET", "/tiers", { key: key.value })).status).toBe(401);
  });

  it("refuses a revoked key with 401 at its next request; revoking is idempotent and audited once", async () => {
    const key = await createApiKey({ name: "leaked" });
    expect((await adminFetch("GET", "/deployments", { key: key.value })).status).toBe(200);
    const res = await adminFetch("DELETE", `/api_keys/${key.id}`);
    expect(res.status).toBe(204);
    const body = await expectJson(await adminFetch("GET", "/deployments", { key: key.value }), 401);
    expect(body).toEqual({ error: "unauthorized", message: expect.stringMatching(/was revoked/) });
    expect((await adminFetch("DELETE", `/api_keys/${key.id}`)).status).toBe(204);
    const audit = (await storedAudit(key.id)).map((r) => r.action);
    expect(audit).toEqual(["api_key.create", "api_key.revoke"]);
  });

  it("a key may revoke itself", async () => {
    const key = await createApiKey({ name: "self-destruct" });
    expect((await adminFetch("DELETE", `/api_keys/${key.id}`, { key: key.value })).status).toBe(204);
    expect((await adminFetch("GET", "/tiers", { key: key.value })).status).toBe(401);
  });

  it.each([
    ["a well-formed key never issued", `vmak_${"A".repeat(44)}AAAAAA`],
    ["an access token", "vmat_0000000000000000000000000000000000000000000000000"],
    ["a key with one character changed", null],
  ])("refuses %s with 401", async (_name, presented) => {
    const key = await createApiKey({ name: "typo target" });
    const last = key.value.at(-1) === "a" ? "b" : "a";
    const value = presented ?? `${key.value.slice(0, -1)}${last}`;
    const body = await expectJson(await adminFetch("GET", "/tiers", { key: value }), 401);
    expect(body).toEqual({ error: "unauthorized", message: expect.stringMatching(/not a valid management API key/) });
  });

  it("has no row for the bootstrap key: it cannot be revoked through the API", async () => {
    await expectRefused(() => adminFetch("DELETE", "/api_keys/bootstrap"), 404);
    expect((await adminFetch("GET", "/tiers")).status).toBe(200);
  });
});

describe("bad API key requests", () => {
  const cases: [string, { body?: unknown; rawBody?: string; contentType?: string | null }, string, RegExp][] = [
    ["malformed JSON", { rawBody: '{"name":' }, "body", /not valid JSON/],
    ["a wrong content type", { rawBody: '{"name":"x","access":"r"}', contentType: "text/plain" }, "body", /Content-Type: application\/json/],
    ["an array", { body: [] }, "body", /JSON object/],
    ["no name", { body: { access: "r" } }, "name", /required/],
    ["a numeric name", { body: { name: 5, access: "r" } }, "name", /must be a string/],
    ["an over-long name", { body: { name: "k".repeat(129), access: "r" } }, "name", /at most 128/],
    ["a name with a control character", { body: { name: "ci\u0007key", access: "r" } }, "name", /control characters/],
    ["a name with a newline", { body: { name: "ci\nkey", access: "r" } }, "name", /control characters/],
    ["no access", { body: { name: "x" } }, "access", /required/],
    ["write-only access", { body: { name: "x", access: "w" } }, "access", /must be one of "r", "rw"/],
    ["an unknown field", { body: { name: "x", access: "r", admin: true } }, "admin", /unknown field/],
    ["a client-chosen secret", { body: { name: "x", access: "r", value: "vmak_x" } }, "value", /unknown field/],
    ["an empty scope", { body: { name: "x", access: "r", deployment_ids: [] } }, "deployment_ids", /at least one deployment/],
    ["a scope as a string", { body: { name: "x", access: "r", deployment_ids: "all" } }, "deployment_ids", /must be a array/],
    ["a numeric deployment id", { body: { name: "x", access: "r", deployment_ids: [1] } }, "deployment_ids.0", /must be a string/],
    ["an unknown deployment", { body: { name: "x", access: "r", deployment_ids: ["00000000-0000-4000-8000-000000000000"] } }, "deployment_ids.0", /no deployment/],
    ["a time without zone", { body: { name: "x", access: "r", expires_at: "2099-01-01T00:00:00" } }, "expires_at", /RFC 3339/],
    ["a date only", { body: { name: "x", access: "r", expires_at: "2099-01-01" } }, "expires_at", /RFC 3339/],
    ["epoch seconds", { body: { name: "x", access: "r", expires_at: 4102444800 } }, "expires_at", /must be a string/],
    ["a time in the past", { body: { name: "x", access: "r", expires_at: "2020-01-01T00:00:00Z" } }, "expires_at", /in the future/],
  ];
  it.each(cases)("refuses %s with 400 naming field and rule, writing nothing", async (_name, req, field, rule) => {
    const body = await expectRefused(() => adminFetch("POST", "/api_keys", req), 400);
    expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(new RegExp(`^${field.replace(".", "\\.")}: `)), field });
    expect(body.message).toMatch(rule);
  });

  it("refuses a scope listing a deployment twice, or a deleted one", async () => {
    const { deployment } = await createDeployment();
    const { deployment: deleted } = await createDeployment();
    await adminFetch("DELETE", `/deployments/${deleted.id}`);
    const twice = await expectRefused(() => adminFetch("POST", "/api_keys", { body: { name: "x", access: "r", deployment_ids: [deployment.id, deployment.id] } }), 400);
    expect(twice).toMatchObject({ field: "deployment_ids", message: "deployment_ids: must not list a deployment twice" });
    const gone = await expectRefused(() => adminFetch("POST", "/api_keys", { body: { name: "x", access: "r", deployment_ids: [deployment.id, deleted.id] } }), 400);
    expect(gone).toMatchObject({ field: "deployment_ids.1" });
  });

  it.each(["PUT", "PATCH", "POST"])("answers %s on a key with 405: keys are immutable", async (method) => {
    const key = await createApiKey({ name: "immutable" });
    const body = await expectRefused(() => adminFetch(method, `/api_keys/${key.id}`, { body: { access: "rw" } }), 405);
    expect(body).toMatchObject({ error: "method_not_allowed", message: expect.stringMatching(/immutable/) });
  });

  it("lists audit entries about keys only to keys scoped to all deployments", async () => {
    const { deployment } = await createDeployment();
    const created = await createApiKey({ name: "visible to all-scope" });
    const { value: scoped } = await createApiKey({ name: "scoped reader", access: "r", deployment_ids: [deployment.id] });
    const all = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?actor_id=bootstrap&action=api_key.create&limit=1000`), 200);
    expect(all.map((e) => e.target_id)).toContain(created.id);
    const seen = await expectJson<AuditEntryJson[]>(await adminFetch("GET", "/audit?limit=1000", { key: scoped }), 200);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.deployment_id === deployment.id)).toBe(true);
  });
});
