import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ADMIN_KEY, BASE, createDeployment, expectJson, tableCounts } from "./helpers/admin";

// The Worker run with other bindings: the same app, called with an env missing or spoiling one
// secret. D1 and KV are the test's own, so nothing may be written while a secret is wrong.

type Secrets = { ADMIN_API_KEY?: string; TOKEN_ENCRYPTION_KEY?: string };

async function fetchWith(secrets: Secrets, method: string, path: string, body?: unknown): Promise<Response> {
  const bindings = { ...env, ...secrets } as Env;
  for (const [name, value] of Object.entries(secrets)) if (value === undefined) delete (bindings as unknown as Record<string, unknown>)[name];
  const init: RequestInit = { method, headers: { "x-vm-cloud-access": ADMIN_KEY, ...(body ? { "content-type": "application/json" } : {}) } };
  if (body) init.body = JSON.stringify(body);
  return worker.fetch(new Request(`${BASE}${path}`, init), bindings, createExecutionContext());
}

const SINGLE = { name: "secrets", type: "single_node", tier: 20, upstream_url: "http://127.0.0.1:8428" };

describe("management plane without its Worker secrets", () => {
  it.each([
    ["TOKEN_ENCRYPTION_KEY missing", { TOKEN_ENCRYPTION_KEY: undefined }, "TOKEN_ENCRYPTION_KEY", "is not set", "openssl rand -base64 32 | npx wrangler secret put TOKEN_ENCRYPTION_KEY"],
    ["TOKEN_ENCRYPTION_KEY empty", { TOKEN_ENCRYPTION_KEY: "" }, "TOKEN_ENCRYPTION_KEY", "is not set", "wrangler secret put TOKEN_ENCRYPTION_KEY"],
    ["TOKEN_ENCRYPTION_KEY not base64", { TOKEN_ENCRYPTION_KEY: "not base64!" }, "TOKEN_ENCRYPTION_KEY", "is not 32 random bytes, base64-encoded", "wrangler secret put TOKEN_ENCRYPTION_KEY"],
    ["TOKEN_ENCRYPTION_KEY 16 bytes", { TOKEN_ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODw==" }, "TOKEN_ENCRYPTION_KEY", "is not 32 random bytes, base64-encoded", "wrangler secret put TOKEN_ENCRYPTION_KEY"],
    ["ADMIN_API_KEY missing", { ADMIN_API_KEY: undefined }, "ADMIN_API_KEY", "is not set", "npx wrangler secret put ADMIN_API_KEY"],
    ["ADMIN_API_KEY with a newline", { ADMIN_API_KEY: `${ADMIN_KEY}\n` }, "ADMIN_API_KEY", "is not a long random string of printable ASCII", "wrangler secret put ADMIN_API_KEY"],
  ])("%s: creating a deployment answers 503 naming the secret, and writes nothing", async (_name, secrets, secret, problem, how) => {
    const before = await tableCounts();
    const res = await fetchWith(secrets, "POST", "/deployments", SINGLE);
    const body = await expectJson<{ error: string; message: string }>(res, 503);
    expect(body.error).toBe("not_configured");
    expect(body.message).toContain(`The Worker secret ${secret} ${problem}`);
    expect(body.message).toContain(how);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await tableCounts()).toEqual(before);
  });

  it("answers 503 on every management route, token creation and listing included", async () => {
    const { deployment } = await createDeployment();
    const broken = { TOKEN_ENCRYPTION_KEY: undefined };
    for (const [method, path, body] of [
      ["GET", "/tiers"],
      ["GET", `/deployments/${deployment.id}/access_tokens`],
      ["POST", `/deployments/${deployment.id}/access_tokens`, { type: "r", description: "x" }],
    ] as const) {
      const res = await fetchWith(broken, method, path, body);
      expect((await expectJson<{ message: string }>(res, 503)).message).toContain("TOKEN_ENCRYPTION_KEY");
    }
  });

  it("never echoes a secret's value", async () => {
    const wrong = "c2hvcnQ=";
    const text = await (await fetchWith({ TOKEN_ENCRYPTION_KEY: wrong }, "GET", "/tiers")).text();
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(ADMIN_KEY);
  });

  it("still serves the OpenAPI document, which needs no secret", async () => {
    const res = await worker.fetch(new Request(`${new URL(BASE).origin}/admin/openapi.json`), { ...env, TOKEN_ENCRYPTION_KEY: "" } as Env, createExecutionContext());
    expect(res.status).toBe(200);
  });

  it("works again with both secrets set", async () => {
    const res = await fetchWith({}, "GET", "/tiers");
    expect(res.status).toBe(200);
  });
});

describe("management plane with a TOKEN_ENCRYPTION_KEY other than the one that sealed the tokens", () => {
  const OTHER_KEY = "HxwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEAAAA=";

  it("still lists tokens (masked ????) and revokes them; a reveal answers 503 naming the key", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const other = { TOKEN_ENCRYPTION_KEY: OTHER_KEY };
    const listed = await expectJson<{ id: string; value: string }[]>(await fetchWith(other, "GET", `/deployments/${deployment.id}/access_tokens`), 200);
    expect(listed).toEqual([expect.objectContaining({ id: defaultToken.id, value: "????" })]);

    const before = await tableCounts();
    const reveal = await fetchWith(other, "GET", `/deployments/${deployment.id}/access_tokens/${defaultToken.id}`);
    const body = await expectJson<{ error: string; message: string }>(reveal, 503);
    expect(body.error).toBe("not_configured");
    expect(body.message).toContain("TOKEN_ENCRYPTION_KEY does not open this token's stored secret");
    expect(body.message).not.toContain(OTHER_KEY);
    // No secret left, so no reveal was audited.
    expect(await tableCounts()).toEqual(before);

    expect((await fetchWith(other, "DELETE", `/deployments/${deployment.id}/access_tokens/${defaultToken.id}`)).status).toBe(204);
  });
});
