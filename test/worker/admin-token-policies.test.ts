import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadTokenRecord } from "../../src/store/token-projection";
import { hashSecret } from "../../src/token/crypto";
import { MAX_ROTATION_OVERLAP_SECONDS } from "../../src/tokens/token-policy";
import {
  type AccessTokenJson,
  adminFetch,
  createAccessToken,
  createDeployment,
  expectJson,
  kvKeyCount,
  limiterState,
  projection,
  revokeAccessToken,
  smallestTier,
  tableCounts,
} from "./helpers/admin";

// Issue 13 on the management side: expires_at, allowed_networks and labels at creation (answered,
// stored, projected, audited; omitted when unset) and rotation with overlap.

const tokensPath = (deploymentId: string) => `/deployments/${deploymentId}/access_tokens`;
const rotatePath = (deploymentId: string, tokenId: string) => `${tokensPath(deploymentId)}/${tokenId}/rotate`;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

type TokenJson = AccessTokenJson & { expires_at?: string; allowed_networks?: string[]; labels?: Record<string, string> };
type RotatedJson = TokenJson & { replaces: { id: string; expires_at: string } };

async function expectRefused(action: () => Promise<Response>, status: number, field?: string): Promise<Record<string, unknown>> {
  const before = { tables: await tableCounts(), kv: await kvKeyCount() };
  const body = await expectJson(await action(), status);
  if (field !== undefined) {
    expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(new RegExp(`^${field.replace(/[.?"[\]]/g, "\\$&")}: `)), field });
  }
  expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  return body;
}

async function auditRows(targetId: string): Promise<{ action: string; detail: string | null }[]> {
  const { results } = await env.DB.prepare("SELECT action, detail FROM audit_log WHERE target_id = ?1 ORDER BY id").bind(targetId).all<{ action: string; detail: string | null }>();
  return results;
}

async function create(deploymentId: string, body: Record<string, unknown>): Promise<TokenJson> {
  return expectJson<TokenJson>(await adminFetch("POST", tokensPath(deploymentId), { body: { type: "w", description: "policies", ...body } }), 201);
}

describe("POST .../access_tokens with policies", () => {
  it("stores, answers, lists, projects and audits expires_at, allowed_networks and labels", async () => {
    const { deployment } = await createDeployment();
    const expires = inDays(30);
    const token = await create(deployment.id, {
      expires_at: expires.replace("Z", "+00:00"),
      allowed_networks: ["10.0.0.0/8", "2001:0DB8::/32", "::ffff:192.168.0.0/112", "10.0.0.0/8"],
      labels: { team: "payments", env: "prod" },
    });
    const policies = {
      expires_at: expires,
      allowed_networks: ["10.0.0.0/8", "2001:db8::/32", "192.168.0.0/16"],
      labels: { env: "prod", team: "payments" },
    };
    expect(token).toMatchObject(policies);
    const listed = (await expectJson<TokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200)).find((t) => t.id === token.id);
    expect(listed).toMatchObject(policies);
    const revealed = await expectJson<TokenJson>(await adminFetch("GET", `${tokensPath(deployment.id)}/${token.id}`), 200);
    expect(revealed).toMatchObject({ ...policies, value: token.value });

    const record = {
      expires_at: Date.parse(expires),
      allowed_networks: policies.allowed_networks,
      labels: policies.labels,
    };
    expect(await projection(token.value)).toMatchObject(record);
    expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toEqual(await projection(token.value));

    const [audit] = await auditRows(token.id);
    expect(JSON.parse(audit!.detail!)).toEqual({ type: "w", description: "policies", ...policies });
  });

  it("keeps the policies in the projection when a deployment change rewrites it", async () => {
    const { deployment } = await createDeployment();
    const token = await create(deployment.id, { allowed_networks: ["10.0.0.0/8"], labels: { team: "a" }, expires_at: inDays(1) });
    const res = await adminFetch("PUT", `/deployments/${deployment.id}`, { body: { upstream_url: "http://127.0.0.1:9428" } });
    expect(res.status).toBe(200);
    expect(await projection(token.value)).toMatchObject({ upstream_url: "http://127.0.0.1:9428", allowed_networks: ["10.0.0.0/8"], labels: { team: "a" }, expires_at: Date.parse(token.expires_at!) });
  });

  it("omits every policy field when unset (null is the same as absent)", async () => {
    const { deployment } = await createDeployment();
    const token = await create(deployment.id, { expires_at: null, allowed_networks: null, labels: null });
    for (const field of ["expires_at", "allowed_networks", "labels"]) expect(token).not.toHaveProperty(field);
    const record = await projection(token.value);
    for (const field of ["expires_at", "allowed_networks", "labels"]) expect(record).not.toHaveProperty(field);
  });

  it("lists an expired token with its expiry until it is revoked", async () => {
    const { deployment } = await createDeployment();
    const token = await create(deployment.id, {});
    // An expiry already past, as time would leave it (the API refuses to set one).
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?2 WHERE id = ?1").bind(token.id, Date.now() - 1000).run();
    const listed = (await expectJson<TokenJson[]>(await adminFetch("GET", tokensPath(deployment.id)), 200)).find((t) => t.id === token.id);
    expect(listed?.expires_at).toBeDefined();
    expect(await loadTokenRecord(env.DB, await hashSecret(token.value))).toMatchObject({ expires_at: expect.any(Number) });
  });

  it.each([
    ["a past expires_at", { expires_at: "2020-01-01T00:00:00Z" }, "expires_at", /must be in the future/],
    ["an expires_at of now-ish", { expires_at: new Date(Date.now() - 1).toISOString() }, "expires_at", /must be in the future/],
    ["an expires_at without zone", { expires_at: "2099-01-01T00:00:00" }, "expires_at", /RFC 3339/],
    ["a date-only expires_at", { expires_at: "2099-01-01" }, "expires_at", /RFC 3339/],
    ["a numeric expires_at", { expires_at: 4102444800 }, "expires_at", /must be a string/],
    ["a junk CIDR", { allowed_networks: ["10.0.0.0/8", "ten.0.0.0/8"] }, "allowed_networks.1", /./],
    ["a CIDR with host bits", { allowed_networks: ["10.1.2.3/8"] }, "allowed_networks.0", /host bits/],
    ["a CIDR with a zone", { allowed_networks: ["fe80::1%eth0/64"] }, "allowed_networks.0", /zone/],
    ["a prefix out of range", { allowed_networks: ["10.0.0.0/33"] }, "allowed_networks.0", /./],
    ["an empty allowlist", { allowed_networks: [] }, "allowed_networks", /at least one/],
    ["too many networks", { allowed_networks: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) }, "allowed_networks", /at most 32/],
    ["a non-string network", { allowed_networks: [10] }, "allowed_networks.0", /string/],
    ["a label name that is not a Prometheus name", { labels: { "team-a": "x" } }, 'labels."team?a"', /Prometheus label name/],
    ["__name__", { labels: { __name__: "up" } }, "labels.__name__", /reserved/],
    ["vm_account_id", { labels: { vm_account_id: "1" } }, "labels.vm_account_id", /reserved/],
    ["vm_project_id", { labels: { vm_project_id: "1" } }, "labels.vm_project_id", /reserved/],
    ["too many labels", { labels: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`l${i}`, "v"])) }, "labels", /at most 8/],
    ["no labels", { labels: {} }, "labels", /at least one/],
    ["an empty label value", { labels: { team: "" } }, "labels.team", /empty/],
    ["a control character in a value", { labels: { team: "a\nb" } }, "labels.team", /control characters/],
    ["a non-string value", { labels: { team: 1 } }, "labels.team", /string/],
  ])("refuses %s with 400 naming the field, writing nothing", async (_name, policy, field, rule) => {
    const { deployment } = await createDeployment();
    const body = await expectRefused(() => adminFetch("POST", tokensPath(deployment.id), { body: { type: "w", description: "bad", ...policy } }), 400, field);
    expect(body.message).toMatch(rule);
  });
});

describe("POST .../access_tokens/{id}/rotate", () => {
  it("creates the successor with the same type, tenant, policies and description, and shortens the old expiry", async () => {
    const { deployment } = await createDeployment({ type: "cluster" });
    const old = await create(deployment.id, { type: "rw", tenant_id: "7:3", allowed_networks: ["10.0.0.0/8"], labels: { team: "a" } });
    const before = Date.now();
    const res = await adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 3600 } });
    const rotated = await expectJson<RotatedJson>(res, 201);
    const after = Date.now();
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(rotated).toMatchObject({ type: "rw", description: "policies", tenant_id: "7:3", allowed_networks: ["10.0.0.0/8"], labels: { team: "a" } });
    expect(rotated).not.toHaveProperty("expires_at");
    expect(rotated.id).not.toBe(old.id);
    expect(rotated.value).not.toBe(old.value);
    expect(rotated.replaces.id).toBe(old.id);
    const replacedUntil = Date.parse(rotated.replaces.expires_at);
    expect(replacedUntil).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(replacedUntil).toBeLessThanOrEqual(after + 3_600_000);

    // Both work during the overlap: both projected, the old one with its new expiry.
    expect(await projection(rotated.value)).toMatchObject({ tenant_id: "7:3", labels: { team: "a" }, allowed_networks: ["10.0.0.0/8"] });
    expect(await projection(old.value)).toMatchObject({ expires_at: replacedUntil });
    expect(await loadTokenRecord(env.DB, await hashSecret(old.value))).toMatchObject({ expires_at: replacedUntil });
    // The token's Durable Object knows the new expiry: every isolate refuses at it.
    expect(await limiterState(old.id)).toMatchObject({ revoked: false, expiresAt: replacedUntil });

    // One audit row, on the replaced token, linking both ids.
    const audit = await auditRows(old.id);
    expect(audit.map((a) => a.action)).toEqual(["access_token.create", "access_token.rotate"]);
    expect(JSON.parse(audit[1]!.detail!)).toMatchObject({ successor_id: rotated.id, overlap_seconds: 3600, expires_at: rotated.replaces.expires_at });
    expect(await auditRows(rotated.id)).toEqual([]);
  });

  it("with overlap 0 refuses the old token at once: gone from KV, expired in D1 and at its Durable Object", async () => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    await expectJson<RotatedJson>(await adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 0 } }), 201);
    expect(await projection(old.value)).toBeNull();
    expect((await loadTokenRecord(env.DB, await hashSecret(old.value)))!.expires_at).toBeLessThanOrEqual(Date.now());
    expect((await limiterState(old.id)).expiresAt).toBeLessThanOrEqual(Date.now());
  });

  it("never extends an expiry the old token already had, and gives the successor the same lifetime", async () => {
    const { deployment } = await createDeployment();
    const expires = inDays(0.01); // ~14 minutes
    const old = await create(deployment.id, { expires_at: expires });
    const rotated = await expectJson<RotatedJson>(await adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 86_400 } }), 201);
    expect(rotated.replaces.expires_at).toBe(expires);
    const lifetime = Date.parse(expires) - Date.parse(old.created_at);
    expect(Date.parse(rotated.expires_at!)).toBe(Date.parse(rotated.created_at) + lifetime);
  });

  it("sets the successor's expiry when asked", async () => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    const expires = inDays(90);
    const rotated = await expectJson<RotatedJson>(await adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 60, expires_at: expires } }), 201);
    expect(rotated.expires_at).toBe(expires);
  });

  it("counts against the tier's cap only while both are alive: overlap 0 works at the cap, an overlap does not", async () => {
    const tier = await smallestTier();
    const { deployment, defaultToken } = await createDeployment({ tier: tier.id });
    for (let i = 1; i < tier.access_token_limit; i++) await createAccessToken(deployment.id, { description: `n${i}` });
    const refused = await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, defaultToken.id), { body: { overlap_seconds: 60 } }), 409);
    expect(refused).toMatchObject({ error: "token_limit_reached", limit: tier.access_token_limit });
    const rotated = await expectJson<RotatedJson>(await adminFetch("POST", rotatePath(deployment.id, defaultToken.id), { body: { overlap_seconds: 0 } }), 201);
    expect(rotated.replaces.id).toBe(defaultToken.id);
  });

  it("refuses a revoked token with 400, writing nothing", async () => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    await revokeAccessToken(deployment.id, old.id);
    const body = await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 60 } }), 400, "tokenId");
    expect(body.message).toMatch(/revoked/);
  });

  it("refuses an expired token with 400, writing nothing", async () => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?2 WHERE id = ?1").bind(old.id, Date.now() - 1000).run();
    const body = await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 60 } }), 400, "tokenId");
    expect(body.message).toMatch(/expired at/);
  });

  it("refuses a token already rotated with overlap 0 (it is expired)", async () => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    await expectJson(await adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 0 } }), 201);
    await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 0 } }), 400, "tokenId");
  });

  it.each([
    ["no overlap", {}, "overlap_seconds", /required/],
    ["a negative overlap", { overlap_seconds: -1 }, "overlap_seconds", /from 0 to/],
    ["an overlap over the maximum", { overlap_seconds: MAX_ROTATION_OVERLAP_SECONDS + 1 }, "overlap_seconds", /30 days/],
    ["a fractional overlap", { overlap_seconds: 1.5 }, "overlap_seconds", /whole number/],
    ["a string overlap", { overlap_seconds: "60" }, "overlap_seconds", /number/],
    ["a past successor expiry", { overlap_seconds: 60, expires_at: "2020-01-01T00:00:00Z" }, "expires_at", /future/],
    ["an unknown field", { overlap_seconds: 60, labels: { team: "b" } }, "labels", /unknown field/],
  ])("refuses %s with 400, writing nothing", async (_name, body, field, rule) => {
    const { deployment } = await createDeployment();
    const old = await create(deployment.id, {});
    const refused = await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, old.id), { body }), 400, field);
    expect(refused.message).toMatch(rule);
  });

  it("answers 404 for an unknown token and 405 for other methods", async () => {
    const { deployment } = await createDeployment();
    await expectRefused(() => adminFetch("POST", rotatePath(deployment.id, "00000000-0000-4000-8000-000000000000"), { body: { overlap_seconds: 0 } }), 404);
    const old = await create(deployment.id, {});
    const res = await adminFetch("PUT", rotatePath(deployment.id, old.id), { body: { overlap_seconds: 0 } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });
});

describe("expires_at beyond KV's range", () => {
  it("accepts an expiry after 2038 (KV gets no TTL; the record keeps the expiry)", async () => {
    const { deployment } = await createDeployment();
    const token = await create(deployment.id, { expires_at: "2099-01-01T00:00:00Z" });
    expect(token.expires_at).toBe("2099-01-01T00:00:00.000Z");
    expect(await projection(token.value)).toMatchObject({ expires_at: Date.parse("2099-01-01T00:00:00Z") });
  });
});

describe("examples of a token with policies", () => {
  it("say what the token enforces: expiry, allowed networks, labels", async () => {
    const { deployment } = await createDeployment();
    const expires = inDays(30);
    const token = await create(deployment.id, { type: "rw", expires_at: expires, allowed_networks: ["10.0.0.0/8"], labels: { team: "payments" } });
    const ex = await expectJson<{ notes: string[] }>(await adminFetch("GET", `${tokensPath(deployment.id)}/${token.id}/examples`), 200);
    const notes = ex.notes.join("\n");
    expect(notes).toContain(`This token expires at ${expires} and is refused (401) from then on`);
    expect(notes).toContain("accepted only from client addresses in 10.0.0.0/8");
    expect(notes).toContain('every sample it writes carries team="payments", replacing any value the client sends');
    expect(notes).toContain('every query sees only series carrying team="payments"');
  });

  it("say nothing of policies a token does not have", async () => {
    const { deployment } = await createDeployment();
    const token = await create(deployment.id, {});
    const ex = await expectJson<{ notes: string[] }>(await adminFetch("GET", `${tokensPath(deployment.id)}/${token.id}/examples`), 200);
    expect(ex.notes.join("\n")).not.toMatch(/expires at|accepted only from|label-scoped/);
  });
});
