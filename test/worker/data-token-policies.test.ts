import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forgetTokenRecord } from "../../src/data/lookup";
import { admin, cluster, singleNode } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

// Issue 13 in the data path: expiry, address allowlists and label scope, through the whole Worker.
// Every refusal asserts the status, the body and that no upstream was reached.

const VM = "http://vm.policies.test";
const INSERT = "http://vminsert.policies.test";
const SELECT = "http://vmselect.policies.test";

let upstream: UpstreamMock;
/** Bodies the upstreams received, in order. */
let bodies: string[];

async function echoUpstream(request: Request): Promise<Response> {
  bodies.push(await request.text());
  return Response.json({ status: "success" });
}

beforeEach(() => {
  bodies = [];
  upstream = mockUpstreams({ [VM]: echoUpstream, [INSERT]: echoUpstream, [SELECT]: echoUpstream });
});

afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

interface Token {
  id: string;
  value: string;
}

async function tokenWith(deploymentId: string, body: Record<string, unknown>): Promise<Token> {
  const res = await admin("POST", `/deployments/${deploymentId}/access_tokens`, { type: "rw", description: "policies", ...body });
  if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
  return res.json();
}

function call(path: string, secret: string, init: RequestInit & { ip?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${secret}`);
  if (init.ip !== null) headers.set("cf-connecting-ip", init.ip ?? "192.0.2.10");
  return exports.default.fetch(`http://authorizer.test${path}`, { ...init, headers });
}

async function expectRefused(res: Response, status: number, code: string, message: RegExp): Promise<void> {
  const body = (await res.json()) as { error: string; message: string };
  expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
  expect(body.message).toMatch(message);
  expect(upstream.calls).toHaveLength(0);
}

describe("expiry", () => {
  it("refuses an expired token with 401 expired_token saying when, distinct from an unknown one", async () => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, {});
    const at = Date.now() - 1000;
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?2 WHERE id = ?1").bind(t.id, at).run();
    await env.TOKENS_KV.delete(`token:${await sha256(t.value)}`); // as KV's own expiration would
    const res = await call("/api/v1/query?query=up", t.value);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectRefused(res, 401, "expired_token", new RegExp(`expired at ${new Date(at).toISOString()}`));
  });

  it("refuses a token whose cached record reaches its expiry, without another lookup", async () => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await call("/api/v1/query?query=up", t.value)).status).toBe(200);
    // The record this isolate holds says when; move the expiry into the past in the record itself.
    const key = `token:${await sha256(t.value)}`;
    const record = (await env.TOKENS_KV.get<Record<string, unknown>>(key, "json"))!;
    await env.TOKENS_KV.put(key, JSON.stringify({ ...record, expires_at: Date.now() - 1 }));
    forgetTokenRecord(key.slice("token:".length));
    upstream.calls.length = 0;
    await expectRefused(await call("/api/v1/query?query=up", t.value), 401, "expired_token", /expired at/);
  });

  it("after a rotation with overlap 0 refuses the old token at once and forwards the successor", async () => {
    const dep = await singleNode(VM);
    const old = await tokenWith(dep.id, {});
    expect((await call("/api/v1/query?query=up", old.value)).status).toBe(200);
    const res = await admin("POST", `/deployments/${dep.id}/access_tokens/${old.id}/rotate`, { overlap_seconds: 0 });
    const successor = (await res.json()) as Token;
    upstream.calls.length = 0;
    await expectRefused(await call("/api/v1/query?query=up", old.value), 401, "expired_token", /expired at/);
    expect((await call("/api/v1/query?query=up", successor.value)).status).toBe(200);
  });
});

describe("allowed networks", () => {
  it.each(["10.1.2.3", "::ffff:10.200.0.1", "2001:db8:1::5"])("forwards a request from %s, inside the allowlist", async (ip) => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { allowed_networks: ["10.0.0.0/8", "2001:db8::/32"] });
    expect((await call("/api/v1/query?query=up", t.value, { ip })).status).toBe(200);
    expect(upstream.calls).toHaveLength(1);
  });

  it.each([
    ["203.0.113.7", {}, "203.0.113.7"],
    ["2001:db9::1", {}, "2001:db9::1"],
    ["203.0.113.7", { "x-forwarded-for": "10.1.2.3", "x-real-ip": "10.1.2.3", forwarded: "for=10.1.2.3", "true-client-ip": "10.1.2.3" }, "203.0.113.7"],
    [null, { "x-forwarded-for": "10.1.2.3" }, "an unknown address"],
  ])("refuses CF-Connecting-IP %j with 403 naming it, whatever else the client claims", async (ip, headers, shown) => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { allowed_networks: ["10.0.0.0/8", "2001:db8::/32"] });
    const res = await call("/api/v1/write", t.value, { method: "POST", body: "x", ip, headers });
    await expectRefused(res, 403, "address_not_allowed", new RegExp(`not allowed from ${shown};`));
  });
});

describe("label scope", () => {
  it("adds the token's labels to a write and drops the client's extra_label in any spelling", async () => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { type: "w", labels: { team: "payments", env: "a&b" } });
    const res = await call("/api/v1/import/prometheus?extra_label=team%3Dother&EXTRA%5FLABEL=x%3Dy&keep=1", t.value, { method: "POST", body: "m 1" });
    expect(res.status).toBe(200);
    expect(upstream.calls.map((c) => c.url)).toEqual([`${VM}/api/v1/import/prometheus?keep=1&extra_label=env=a%26b&extra_label=team=payments`]);
    expect(bodies).toEqual(["m 1"]);
  });

  it("restricts a read and rewrites an urlencoded form body, dropping its widening arguments", async () => {
    const dep = await cluster(INSERT, SELECT);
    const t = await tokenWith(dep.id, { type: "r", tenant_id: "7", labels: { team: "payments" } });
    const res = await call("/prometheus/api/v1/query?extra_filters[]=%7B__name__%3D~%22.*%22%7D", t.value, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "query=up&extra_label=team%3Dother&extra_filters%5B%5D=%7Bx%3D%22y%22%7D&time=1",
    });
    expect(res.status).toBe(200);
    expect(upstream.calls.map((c) => c.url)).toEqual([`${SELECT}/select/7/prometheus/api/v1/query?extra_label=team=payments`]);
    expect(bodies).toEqual(["query=up&time=1"]);
  });

  it.each([
    ["/api/v1/series/count", "GET", undefined, "label_scope_unsupported"],
    ["/graphite/tags", "GET", undefined, "label_scope_unsupported"],
    ["/api/v1/query", "POST", "multipart/form-data; boundary=x", "label_scope_form_body"],
  ])("refuses %s (%s, %s) with 403 %s", async (path, method, contentType, code) => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { type: "rw", labels: { team: "payments" } });
    const res = await call(path, t.value, { method, ...(contentType ? { headers: { "content-type": contentType }, body: "--x--" } : {}) });
    await expectRefused(res, 403, code, /label-scoped/);
  });

  it("answers 413 for a form body over the limit a label-scoped read may send", async () => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { type: "r", labels: { team: "payments" } });
    const res = await call("/api/v1/query", t.value, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `query=${"x".repeat(300 * 1024)}`,
    });
    await expectRefused(res, 413, "payload_too_large", /form body is read whole/);
  });

  it("leaves the query of a token without labels byte for byte", async () => {
    const dep = await singleNode(VM);
    const t = await tokenWith(dep.id, { type: "r" });
    expect((await call("/api/v1/query?query=up&extra_label=a%3Db", t.value)).status).toBe(200);
    expect(upstream.calls.map((c) => c.url)).toEqual([`${VM}/api/v1/query?query=up&extra_label=a%3Db`]);
  });
});

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
