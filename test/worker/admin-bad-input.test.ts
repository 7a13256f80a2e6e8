import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/admin/pagination";
import {
  type AdminRequest,
  adminFetch,
  createAccessToken,
  createDeployment,
  expectJson,
  kvKeyCount,
  smallestTier,
  tableCounts,
} from "./helpers/admin";

// The list of bad input, across every endpoint that writes: each answer is a 4xx JSON
// error naming the field and the rule, and nothing is written — no row (audit included), no KV
// entry. Storage is shared by the tests of this file.

async function snapshot() {
  return { tables: await tableCounts(), kv: await kvKeyCount() };
}

async function expectRefusal(method: string, path: string, req: AdminRequest, status: number, field?: string, rule?: RegExp) {
  const before = await snapshot();
  const res = await adminFetch(method, path, req);
  const body = await expectJson<Record<string, unknown>>(res, status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(body.error).toEqual(expect.any(String));
  expect(body.message).toEqual(expect.any(String));
  if (field !== undefined) {
    expect(body).toMatchObject({ error: "invalid_request", field });
    expect(body.message).toMatch(new RegExp(`^${field.replace(/\./g, "\\.")}: `));
  }
  if (rule) expect(body.message).toMatch(rule);
  expect(await snapshot()).toEqual(before);
  return body;
}

const DEPLOYMENT = { name: "bad input", type: "single_node", tier: 20, upstream_url: "http://vm:8428" };

describe("bad input is refused with a 4xx naming field and rule, writing nothing", () => {
  it.each([
    ["a name with a NUL", { ...DEPLOYMENT, name: "a\u0000b" }, "name"],
    ["a name with an escape sequence", { ...DEPLOYMENT, name: "\u001b[31mred" }, "name"],
    ["a name with DEL", { ...DEPLOYMENT, name: "a\u007fb" }, "name"],
    ["a name with a C1 control", { ...DEPLOYMENT, name: "a\u0085b" }, "name"],
    ["a name with a tab", { ...DEPLOYMENT, name: "a\tb" }, "name"],
  ])("deployment %s", async (_name, body, field) => {
    await expectRefusal("POST", "/deployments", { body }, 400, field, /must not contain control characters/);
  });

  it("a tiers cursor naming no tier, or not a tier id at all", async () => {
    const tiers = await expectJson<{ id: number }[]>(await adminFetch("GET", "/tiers"), 200);
    const [first, second] = await expectJson<{ id: number }[]>(await adminFetch("GET", `/tiers?limit=1&cursor=${encodeCursor(tiers[0]!.id)}`), 200);
    expect([first?.id, second]).toEqual([tiers[1]!.id, undefined]);
    for (const cursor of [encodeCursor(999_999), encodeCursor("20"), "not-base64!"]) {
      await expectRefusal("GET", `/tiers?cursor=${encodeURIComponent(cursor)}`, {}, 400, "cursor", /is not a cursor this list issued/);
    }
  });

  it("a renamed deployment with a control character", async () => {
    const { deployment } = await createDeployment();
    await expectRefusal("PUT", `/deployments/${deployment.id}`, { body: { name: "line\nbreak" } }, 400, "name", /control characters/);
  });

  it("a token description with a control character", async () => {
    const { deployment } = await createDeployment();
    await expectRefusal("POST", `/deployments/${deployment.id}/access_tokens`, { body: { type: "r", description: "bell\u0007" } }, 400, "description", /control characters/);
  });

  it("a name with a lone UTF-16 surrogate, which D1 could only store mangled", async () => {
    await expectRefusal("POST", "/deployments", { body: { ...DEPLOYMENT, name: "\ud800x" } }, 400, "name", /well-formed Unicode/);
  });

  it("keeps printable Unicode", async () => {
    const { deployment } = await createDeployment({ name: "Zürich – prod ☁" });
    expect(deployment.name).toBe("Zürich – prod ☁");
  });

  it.each([
    ["malformed JSON", { rawBody: '{"type": "r", ' }, "body", /not valid JSON/],
    ["a wrong content type", { rawBody: '{"type":"r","description":"d"}', contentType: "application/xml" }, "body", /Content-Type: application\/json/],
    ["a form body", { rawBody: "type=r&description=d", contentType: "application/x-www-form-urlencoded" }, "body", /Content-Type/],
    ["JSON with trailing garbage", { rawBody: '{"type":"r","description":"d"} x' }, "body", /not valid JSON/],
    ["a wrong type", { body: { type: ["r"], description: "d" } }, "type", /must be one of/],
    ["a boolean description", { body: { type: "r", description: true } }, "description", /must be a string/],
    ["a missing field", { body: { description: "d" } }, "type", /required/],
    ["an unknown field", { body: { type: "r", description: "d", expiry: "2099-01-01T00:00:00Z" } }, "expiry", /unknown field/],
    ["an over-long description", { body: { type: "r", description: "x".repeat(257) } }, "description", /at most 256/],
    ["tenant_id on single-node", { body: { type: "r", description: "d", tenant_id: "1" } }, "tenant_id", /only cluster deployments/],
  ])("token create: %s", async (_name, req, field, rule) => {
    const { deployment } = await createDeployment();
    await expectRefusal("POST", `/deployments/${deployment.id}/access_tokens`, req, 400, field, rule);
  });

  it.each(["4294967296", "0:4294967296", "18446744073709551616", "-0"])("token create: tenant id %s outside uint32", async (tenant) => {
    const { deployment } = await createDeployment({ type: "cluster" });
    await expectRefusal("POST", `/deployments/${deployment.id}/access_tokens`, { body: { type: "w", description: "d", tenant_id: tenant } }, 400, "tenant_id");
  });

  it("token create: too many tokens for the tier", async () => {
    const tier = await smallestTier();
    const { deployment } = await createDeployment({ tier: tier.id });
    for (let i = 1; i < tier.access_token_limit; i++) await createAccessToken(deployment.id);
    const body = await expectRefusal("POST", `/deployments/${deployment.id}/access_tokens`, { body: { type: "r", description: "over" } }, 409);
    expect(body).toMatchObject({ error: "token_limit_reached", limit: tier.access_token_limit });
  });

  it.each(["PUT", "PATCH"])("token update attempt (%s)", async (method) => {
    const { deployment, defaultToken } = await createDeployment();
    const body = await expectRefusal(method, `/deployments/${deployment.id}/access_tokens/${defaultToken.id}`, { body: { description: "renamed" } }, 405);
    expect(body.message).toMatch(/immutable/);
  });

  it("never answers 5xx or writes on arbitrary API key bodies", async () => {
    const field = fc.oneof(fc.jsonValue(), fc.constantFrom("r", "rw", "w", "", "2099-01-01T00:00:00Z", "yesterday", [], ["x"], null));
    const bodies = fc.oneof(fc.jsonValue(), fc.record({ name: field, access: field, deployment_ids: field, expires_at: field }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const before = await snapshot();
        const res = await adminFetch("POST", "/api_keys", { body });
        expect([201, 400]).toContain(res.status);
        const answer = (await res.json()) as Record<string, unknown>;
        if (res.status === 400) {
          expect(answer).toEqual({ error: "invalid_request", message: expect.any(String), field: expect.stringMatching(/./) });
          expect((answer.message as string).startsWith(`${answer.field}: `)).toBe(true);
          expect(await snapshot()).toEqual(before);
        }
      }),
      { numRuns: 100 },
    );
  }, 30_000);
});
