import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { adminApp } from "../../src/admin";
import { AccessToken, ApiKey, AuditEntry, CreatedApiKey, Deployment, TokenExamples, Tier } from "../../src/admin/response-schemas";
import {
  adminFetch,
  BASE,
  createAccessToken,
  createApiKey,
  createDeployment,
  expectJson,
  fetchAllPages,
  smallestTier,
  workerFetch,
} from "./helpers/admin";

// Storage is shared by the tests of one file. The document itself is checked with a real OpenAPI
// validator in test/cli/openapi.test.ts (Node); here: served, complete, and true to the answers.

interface OpenApiDoc {
  openapi: string;
  servers: { url: string }[];
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const ORIGIN = new URL(BASE).origin;

async function openApi(): Promise<OpenApiDoc> {
  return expectJson<OpenApiDoc>(await workerFetch(`${ORIGIN}/admin/openapi.json`), 200);
}

/** Parses an answer with the schema the document was generated from, refusing extra fields. */
function conforms<S extends z.ZodObject>(schema: S, value: unknown) {
  return schema.strict().parse(value);
}

describe("GET /admin/openapi.json", () => {
  it("is served without an API key, even with a wrong one", async () => {
    for (const headers of [{}, { "x-vm-cloud-access": "wrong" }] as Record<string, string>[]) {
      const res = await workerFetch(`${ORIGIN}/admin/openapi.json`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });

  it("describes the API relative to <worker>/admin, with the API key scheme", async () => {
    const doc = await openApi();
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.servers).toEqual([{ url: `${ORIGIN}/admin` }]);
    expect(doc.security).toEqual([{ ApiKey: [] }]);
    expect(doc.components.securitySchemes.ApiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-VM-Cloud-Access" });
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        "GET /api/v1/tiers",
        "GET /api/v1/deployments",
        "POST /api/v1/deployments",
        "GET /api/v1/deployments/{id}",
        "PUT /api/v1/deployments/{id}",
        "DELETE /api/v1/deployments/{id}",
        "GET /api/v1/deployments/{deploymentId}/access_tokens",
        "POST /api/v1/deployments/{deploymentId}/access_tokens",
        "GET /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}",
        "DELETE /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}",
        "GET /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}/examples",
        "POST /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}/rotate",
        "POST /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}/explain",
        "GET /api/v1/deployments/{deploymentId}/access_tokens/{tokenId}/usage",
        "GET /api/v1/deployments/{deploymentId}/usage",
        "GET /metrics",
        "GET /api/v1/api_keys",
        "POST /api/v1/api_keys",
        "GET /api/v1/api_keys/{id}",
        "DELETE /api/v1/api_keys/{id}",
        "GET /api/v1/audit",
      ].sort(),
    );
  });

  it("documents every route the app serves; the others only answer 405", async () => {
    const doc = await openApi();
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = adminApp.routes.filter((r) => r.method !== "ALL" && r.path !== "/openapi.json");
    expect(served.length).toBeGreaterThan(documented.size);
    for (const route of served) {
      const path = route.path.replace(/:(\w+)/g, "{$1}");
      if (documented.has(`${route.method} ${path}`)) continue;
      const concrete = route.path.replace(/:\w+/g, "00000000-0000-4000-8000-000000000000");
      const res = await adminFetch(route.method, concrete.replace("/api/v1", ""), { body: {} });
      expect(res.status, `${route.method} ${route.path} is served but not documented`).toBe(405);
    }
    for (const operation of documented) {
      const [method, path] = operation.split(" ") as [string, string];
      expect(served.some((r) => r.method === method && r.path.replace(/:(\w+)/g, "{$1}") === path), operation).toBe(true);
    }
  });

  it("has unique operation ids, declared path parameters and resolvable $refs", async () => {
    const doc = await openApi();
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
        expect(declared.sort()).toEqual(inPath.sort());
        expect(Object.keys(op.responses)).toContain("401");
      }
    }
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(doc.components.schemas, `dangling $ref ${name}`).toHaveProperty(name!);
    }
  });
});

describe("answers match the schemas the document is generated from", () => {
  it("for every kind of object", async () => {
    const { deployment, defaultToken } = await createDeployment({ type: "cluster" });
    const token = await createAccessToken(deployment.id, { type: "rw", tenant_id: "3" });
    const key = await createApiKey({ name: "schema check", access: "r", deployment_ids: [deployment.id], expires_at: "2099-01-01T00:00:00Z" });
    conforms(CreatedApiKey, key);

    for (const tier of await expectJson<unknown[]>(await adminFetch("GET", "/tiers"), 200)) conforms(Tier, tier);
    for (const d of await expectJson<unknown[]>(await adminFetch("GET", "/deployments"), 200)) conforms(Deployment, d);
    conforms(Deployment, await expectJson(await adminFetch("GET", `/deployments/${deployment.id}`), 200));
    for (const t of await expectJson<unknown[]>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens`), 200)) conforms(AccessToken, t);
    conforms(AccessToken, token);
    conforms(AccessToken, defaultToken);
    conforms(TokenExamples, await expectJson(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens/${token.id}/examples`), 200));
    for (const k of await expectJson<unknown[]>(await adminFetch("GET", "/api_keys"), 200)) conforms(ApiKey, k);
    for (const e of await expectJson<unknown[]>(await adminFetch("GET", "/audit"), 200)) conforms(AuditEntry, e);
  });
});

describe("pagination on every list", () => {
  it.each([
    ["tiers", async () => "/tiers"],
    ["deployments", async () => "/deployments"],
    [
      "access tokens",
      async () => {
        const tier = await smallestTier();
        const { deployment } = await createDeployment({ tier: tier.id });
        for (let i = 1; i < tier.access_token_limit; i++) await createAccessToken(deployment.id, { description: `page ${i}` });
        return `/deployments/${deployment.id}/access_tokens`;
      },
    ],
    [
      "API keys",
      async () => {
        for (let i = 0; i < 4; i++) await createApiKey({ name: `page ${i}` });
        return "/api_keys";
      },
    ],
  ])("%s: a plain array without limit; limit pages through Link to the same items", async (_name, setup) => {
    for (let i = 0; i < 3; i++) await createDeployment({ name: `filler ${i}` });
    const path = await setup();
    const res = await adminFetch("GET", path);
    const whole = await expectJson<{ id: unknown }[]>(res, 200);
    expect(res.headers.get("link")).toBeNull();
    expect(whole.length).toBeGreaterThanOrEqual(4);
    for (const limit of [1, 2, 3]) {
      const { items, pages } = await fetchAllPages<{ id: unknown }>(`${path}?limit=${limit}`);
      expect(items).toEqual(whole);
      // One row more than the page is read, so a full last page carries no Link: no empty page.
      expect(pages).toBe(Math.ceil(whole.length / limit));
    }
  });

  it.each(["/tiers", "/deployments", "/api_keys", "/audit"])("%s refuses bad page parameters in the error format", async (path) => {
    const cases: [string, string, RegExp][] = [
      ["?limit=0", "limit", /^limit: must be an integer from 1 to 1000$/],
      ["?limit=abc", "limit", /^limit: must be an integer from 1 to 1000$/],
      ["?cursor=%20", "cursor", /^cursor: not a cursor|^cursor: /],
      ["?page=2", "page", /^page: unknown field$/],
    ];
    for (const [query, field, message] of cases) {
      const body = await expectJson<Record<string, string>>(await adminFetch("GET", `${path}${query}`), 400);
      expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(message), field });
    }
  });
});
