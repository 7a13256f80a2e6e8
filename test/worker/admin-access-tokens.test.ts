import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadTokenRecord, tokenKvKey } from "../../src/store/token-projection";
import { decryptSecret, hashSecret } from "../../src/token/crypto";
import { isWellFormedSecret } from "../../src/token/format";
import {
  type AccessTokenJson,
  adminFetch,
  createAccessToken,
  createDeployment,
  everythingStored,
  expectJson,
  kvKeyCount,
  revokeAccessToken,
  smallestTier,
  tableCounts,
  limiterState,
  projection,
} from "./helpers/admin";

// Storage is shared by the tests of one file: each test makes its own deployment.

const tokensPath = (deploymentId: string) => `/deployments/${deploymentId}/access_tokens`;

interface AuditRow {
  action: string;
  actor_id: string;
  actor_name: string;
  request_id: string;
  target_type: string;
  deployment_id: string | null;
  detail: string | null;
}

async function auditRows(targetId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM audit_log WHERE target_id = ?1 ORDER BY id").bind(targetId).all<AuditRow>();
  return results;
}

async function expectRefused(action: () => Promise<Response>, status: number, field?: string): Promise<Record<string, unknown>> {
  const before = { tables: await tableCounts(), kv: await kvKeyCount() };
  const body = await expectJson(await action(), status);
  if (field !== undefined) {
    expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(new RegExp(`^${field}: `)), field });
  }
  expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  return body;
}

describe("POST .../access_tokens", () => {
  it.each(["r", "w", "rw"] as const)("creates a %s token: whole secret once, projection in KV, audited", async (type) => {
    const { deployment } = await createDeployment();
    const res = await adminFetch("POST", tokensPath(deployment.id), { body: { type, description: `ci ${type}` } });
    const token = await expectJson<AccessTokenJson>(res, 201);
    expect(token).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      value: expect.any(String),
      type,
      description: `ci ${type}`,
      created_by: "bootstrap",
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    expect(isWellFormedSecret(token.value)).toBe(true);

    expect(await projection(token.value)).toEqual({
      v: 1,
      token_id: token.id,
      deployment_id: deployment.id,
      deployment_type: "single_node",
      access: type,
      concurrency: 50,
      upstream_url: "http://127.0.0.1:8428",
    });
    // The D1 fallback returns exactly what KV holds.
    expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toEqual(await projection(token.value));

    const [audit] = await auditRows(token.id);
    expect(audit).toMatchObject({
      action: "access_token.create",
      actor_id: "bootstrap",
      actor_name: "bootstrap",
      request_id: res.headers.get("x-request-id"),
      target_type: "access_token",
      deployment_id: deployment.id,
    });
    expect(JSON.parse(audit!.detail!)).toEqual({ type, description: `ci ${type}` });
  });

  it("stores the secret only as SHA-256 and as ciphertext bound to the row id", async () => {
    const { deployment } = await createDeployment();
    const token = await createAccessToken(deployment.id, { type: "w" });
    const row = await env.DB.prepare("SELECT * FROM access_tokens WHERE id = ?1").bind(token.id).first<Record<string, string>>();
    expect(row!.secret_hash).toBe(await hashSecret(token.value));
    expect(row!.secret_sealed).toMatch(/^v1:/);
    expect(await decryptSecret(env.TOKEN_ENCRYPTION_KEY, row!.secret_sealed!, token.id)).toBe(token.value);
    await expect(decryptSecret(env.TOKEN_ENCRYPTION_KEY, row!.secret_sealed!, "another-row")).rejects.toThrow();

    const stored = await everythingStored();
    const hash = await hashSecret(token.value);
    // The secret is nowhere in clear; its hash only in its own row and in the KV key, not the value.
    expect(stored.filter((s) => s.includes(token.value))).toEqual([]);
    const withHash = stored.filter((s) => s.includes(hash));
    expect(withHash).toHaveLength(2);
    expect(withHash.filter((s) => s.startsWith(`${tokenKvKey(hash)} `))).toHaveLength(1);
    expect(await env.TOKENS_KV.get(tokenKvKey(hash))).not.toContain(hash);
  });

  it.each(["0", "7", "4294967295", "7:3", "0:0", "4294967295:4294967295"])("accepts tenant_id %s on a cluster", async (tenant) => {
    const { deployment } = await createDeployment({ type: "cluster" });
    const token = await createAccessToken(deployment.id, { type: "w", tenant_id: tenant });
    expect(token.tenant_id).toBe(tenant);
    expect(await projection(token.value)).toMatchObject({ tenant_id: tenant, deployment_type: "cluster" });
    const list = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200);
    expect(list.find((t) => t.id === token.id)).toMatchObject({ tenant_id: tenant });
  });

  it.each([
    ["abc", "must be <accountID> or <accountID>:<projectID>"],
    ["1:2:3", "must be <accountID> or <accountID>:<projectID>"],
    ["-1", "must be <accountID> or <accountID>:<projectID>"],
    [" 1", "must be <accountID> or <accountID>:<projectID>"],
    ["1:", "must be <accountID> or <accountID>:<projectID>"],
    [":1", "must be <accountID> or <accountID>:<projectID>"],
    ["１", "must be <accountID> or <accountID>:<projectID>"],
    ["multitenant", "must be <accountID> or <accountID>:<projectID>"],
    ["4294967296", "each part must be a uint32"],
    ["1:4294967296", "each part must be a uint32"],
    ["99999999999999999999", "each part must be a uint32"],
    ["01", "each part must be a uint32"],
    ["1:007", "each part must be a uint32"],
  ])("refuses tenant_id %j with 400", async (tenant, rule) => {
    const { deployment } = await createDeployment({ type: "cluster" });
    const body = await expectRefused(
      () => adminFetch("POST", tokensPath(deployment.id), { body: { type: "w", description: "t", tenant_id: tenant } }),
      400,
      "tenant_id",
    );
    expect(body.message).toContain(rule);
  });

  it("refuses a numeric tenant_id", async () => {
    const { deployment } = await createDeployment({ type: "cluster" });
    await expectRefused(() => adminFetch("POST", tokensPath(deployment.id), { body: { type: "w", description: "t", tenant_id: 5 } }), 400, "tenant_id");
  });

  it("refuses tenant_id on a single-node deployment", async () => {
    const { deployment } = await createDeployment();
    const body = await expectRefused(
      () => adminFetch("POST", tokensPath(deployment.id), { body: { type: "w", description: "t", tenant_id: "1" } }),
      400,
      "tenant_id",
    );
    expect(body.message).toMatch(/only cluster deployments have tenants/);
  });

  it.each([null, ""])("treats tenant_id %j as no tenant", async (tenant) => {
    const { deployment } = await createDeployment();
    const token = await expectJson<AccessTokenJson>(
      await adminFetch("POST", tokensPath(deployment.id), { body: { type: "r", description: "t", tenant_id: tenant } }),
      201,
    );
    expect(token).not.toHaveProperty("tenant_id");
  });

  it.each([
    ["malformed JSON", { rawBody: "{type:r}" }, "body"],
    ["text/plain", { rawBody: '{"type":"r","description":"d"}', contentType: "text/plain" }, "body"],
    ["an array", { body: [] }, "body"],
    ["no type", { body: { description: "d" } }, "type"],
    ["an unknown type", { body: { type: "admin", description: "d" } }, "type"],
    ["a type in upper case", { body: { type: "RW", description: "d" } }, "type"],
    ["no description", { body: { type: "r" } }, "description"],
    ["an empty description", { body: { type: "r", description: "" } }, "description"],
    ["a numeric description", { body: { type: "r", description: 1 } }, "description"],
    ["a long description", { body: { type: "r", description: "d".repeat(257) } }, "description"],
    ["an unknown field", { body: { type: "r", description: "d", expiry: 1 } }, "expiry"],
    ["a client-chosen value", { body: { type: "r", description: "d", value: "vmat_x" } }, "value"],
  ])("refuses %s with 400, writing nothing", async (_name, req, field) => {
    const { deployment } = await createDeployment();
    await expectRefused(() => adminFetch("POST", tokensPath(deployment.id), req), 400, field);
  });

  it("answers 404 for an unknown deployment, writing nothing", async () => {
    const body = await expectRefused(
      () => adminFetch("POST", tokensPath("00000000-0000-4000-8000-000000000000"), { body: { type: "r", description: "d" } }),
      404,
    );
    expect(body).toMatchObject({ error: "not_found" });
  });

  it("enforces the tier's access_token_limit on live tokens with 409", async () => {
    const tier = await smallestTier();
    const { deployment } = await createDeployment({ tier: tier.id });
    const made: AccessTokenJson[] = [];
    // The default token counts: limit - 1 more fit.
    for (let i = 1; i < tier.access_token_limit; i++) made.push(await createAccessToken(deployment.id, { description: `n${i}` }));

    const body = await expectRefused(() => adminFetch("POST", tokensPath(deployment.id), { body: { type: "r", description: "one too many" } }), 409);
    expect(body).toEqual({
      error: "token_limit_reached",
      message: expect.stringContaining(`limit of ${tier.access_token_limit} access tokens`),
      limit: tier.access_token_limit,
    });

    await revokeAccessToken(deployment.id, made[0]!.id);
    await createAccessToken(deployment.id, { description: "fits again" });
  });

  it("does not count expired tokens against the limit", async () => {
    const tier = await smallestTier();
    const { deployment } = await createDeployment({ tier: tier.id });
    for (let i = 1; i < tier.access_token_limit; i++) await createAccessToken(deployment.id);
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?1 WHERE deployment_id = ?2 AND description = 'default'").bind(Date.now() - 1, deployment.id).run();
    await createAccessToken(deployment.id, { description: "replaces the expired one" });
  });

  it("never answers 500 to arbitrary JSON bodies", async () => {
    const { deployment } = await createDeployment({ type: "cluster", tier: 42 });
    const field = fc.oneof(fc.jsonValue(), fc.constantFrom("r", "w", "rw", "1", "1:2", "", "4294967296"));
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.record({ type: field, description: field, tenant_id: field }, { requiredKeys: [] }),
      fc.dictionary(fc.string(), field),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await adminFetch("POST", tokensPath(deployment.id), { body });
        expect([201, 400, 409]).toContain(res.status);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      }),
      { numRuns: 150 },
    );
  });
});

describe("GET .../access_tokens (list)", () => {
  it("shows live tokens with value masked to the last 4 characters of the secret", async () => {
    const { deployment, defaultToken } = await createDeployment({ type: "cluster" });
    const tenant = await createAccessToken(deployment.id, { type: "w", tenant_id: "3:4" });
    const gone = await createAccessToken(deployment.id, { type: "r" });
    await revokeAccessToken(deployment.id, gone.id);

    const list = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200);
    expect(list.map((t) => t.id)).toEqual([defaultToken.id, tenant.id]);
    for (const t of list) {
      expect(t.value).toHaveLength(4);
      expect(t.value).toBe((t.id === tenant.id ? tenant : defaultToken).value.slice(-4));
    }
    expect(list[1]).toEqual({ ...tenant, value: tenant.value.slice(-4) });
    expect(list[0]).not.toHaveProperty("tenant_id");
    expect(list[0]).not.toHaveProperty("last_used_at");
  });

  it("masks tokens to values that tell them apart, never the shared prefix", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const created = [defaultToken];
    for (let i = 0; i < 3; i++) created.push(await createAccessToken(deployment.id, { type: "r", description: `t${i}` }));
    const list = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200);
    expect(list.map((t) => t.value)).toEqual(created.map((t) => t.value.slice(-4)));
    // Four random checksum tails: all alike would be a 1 in 62^12 accident.
    expect(new Set(list.map((t) => t.value)).size).toBeGreaterThan(1);
    for (const t of list) expect(t.value).not.toBe("vmat");
  });

  it("shows last_used_at once the limiter recorded a use", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const usedAt = Date.UTC(2026, 0, 2, 3, 4, 5);
    // What the token's Durable Object writes (src/limiter/token-limiter.ts).
    await env.DB.prepare("UPDATE access_tokens SET last_used_at = ?1 WHERE id = ?2").bind(usedAt, defaultToken.id).run();
    const [listed] = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200);
    expect(listed!.last_used_at).toBe("2026-01-02T03:04:05.000Z");
  });

  it("answers 404 for an unknown deployment", async () => {
    expect((await adminFetch("GET", tokensPath("00000000-0000-4000-8000-000000000000"))).status).toBe(404);
  });
});

describe("GET .../access_tokens/{tokenId} (reveal)", () => {
  it("returns the same secret as create and audits each reveal", async () => {
    const { deployment } = await createDeployment();
    const token = await createAccessToken(deployment.id, { type: "r", description: "grafana" });
    for (let i = 0; i < 2; i++) {
      const res = await adminFetch("GET", `${tokensPath(deployment.id)}/${token.id}`, { headers: { "cf-ray": `reveal${i}` } });
      expect(await expectJson(res, 200)).toEqual(token);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const reveals = (await auditRows(token.id)).filter((r) => r.action === "access_token.reveal");
    expect(reveals.map((r) => r.request_id)).toEqual(["reveal0", "reveal1"]);
    expect(reveals[0]).toMatchObject({ actor_id: "bootstrap", target_type: "access_token", deployment_id: deployment.id, detail: null });
  });

  it("answers 404 for an unknown token, a token of another deployment, and a revoked token", async () => {
    const { deployment } = await createDeployment();
    const { deployment: other, defaultToken: othersToken } = await createDeployment();
    const revoked = await createAccessToken(deployment.id);
    await revokeAccessToken(deployment.id, revoked.id);
    for (const id of ["00000000-0000-4000-8000-000000000000", othersToken.id, revoked.id]) {
      const before = await tableCounts();
      const res = await adminFetch("GET", `${tokensPath(deployment.id)}/${id}`);
      expect(await expectJson(res, 404)).toMatchObject({ error: "not_found" });
      expect(await tableCounts()).toEqual(before);
    }
    expect(other.id).not.toBe(deployment.id);
  });
});

describe("DELETE .../access_tokens/{tokenId} (revoke)", () => {
  it("revokes in D1, the Durable Object and KV, and audits it", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const token = await createAccessToken(deployment.id, { type: "rw" });
    expect(await projection(token.value)).not.toBeNull();

    const res = await adminFetch("DELETE", `${tokensPath(deployment.id)}/${token.id}`);
    expect(res.status).toBe(204);

    const row = await env.DB.prepare("SELECT revoked_at FROM access_tokens WHERE id = ?1").bind(token.id).first<{ revoked_at: number }>();
    expect(row!.revoked_at).toEqual(expect.any(Number));
    expect(await projection(token.value)).toBeNull();
    expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toBeNull();
    expect((await limiterState(token.id)).revoked).toBe(true);
    expect((await auditRows(token.id)).map((r) => r.action)).toEqual(["access_token.create", "access_token.revoke"]);
    // The other token is untouched.
    expect(await projection(defaultToken.value)).not.toBeNull();
    expect((await limiterState(defaultToken.id)).revoked).toBe(false);
  });

  it("is idempotent: a repeat answers 204 and is not audited twice", async () => {
    const { deployment } = await createDeployment();
    const token = await createAccessToken(deployment.id);
    await revokeAccessToken(deployment.id, token.id);
    await revokeAccessToken(deployment.id, token.id);
    expect((await auditRows(token.id)).filter((r) => r.action === "access_token.revoke")).toHaveLength(1);
  });

  it("answers 404 for unknown tokens and tokens of other deployments, revoking nothing", async () => {
    const { deployment } = await createDeployment();
    const { defaultToken: othersToken } = await createDeployment();
    for (const id of ["00000000-0000-4000-8000-000000000000", othersToken.id]) {
      await expectRefused(() => adminFetch("DELETE", `${tokensPath(deployment.id)}/${id}`), 404);
    }
    // Row counts cannot see a revocation (an UPDATE): check each place one would land.
    const row = await env.DB.prepare("SELECT revoked_at FROM access_tokens WHERE id = ?1").bind(othersToken.id).first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).toBeNull();
    expect(await projection(othersToken.value)).not.toBeNull();
    expect((await limiterState(othersToken.id)).revoked).toBe(false);
  });
});

describe("tokens are immutable", () => {
  it.each(["PUT", "PATCH", "POST"])("answers %s on a token with 405, changing nothing", async (method) => {
    const { deployment, defaultToken } = await createDeployment();
    const body = await expectRefused(
      () => adminFetch(method, `${tokensPath(deployment.id)}/${defaultToken.id}`, { body: { type: "r", description: "changed" } }),
      405,
    );
    expect(body).toEqual({ error: "method_not_allowed", message: expect.stringMatching(/immutable.*create a new token and revoke the old one/) });
    const res = await adminFetch(method, `${tokensPath(deployment.id)}/${defaultToken.id}`, { body: {} });
    expect(res.headers.get("allow")).toBe("GET, DELETE");
    expect(await expectJson(await adminFetch("GET", `${tokensPath(deployment.id)}/${defaultToken.id}`), 200)).toEqual(defaultToken);
  });
});
