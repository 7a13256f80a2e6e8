import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/token/format";
import { cluster, revoke, singleNode, token } from "./helpers/tokens";
import { gatedResponse, mockUpstreams, type UpstreamMock } from "./helpers/upstream";

const VM = "http://vm.upstream.test";
const INSERT = "http://vminsert.upstream.test";
const SELECT = "http://vmselect.upstream.test";

let upstream: UpstreamMock;

function echoUpstream(request: Request): Response {
  const url = new URL(request.url);
  return Response.json({ status: "success", path: url.pathname, query: url.search }, { headers: { "x-upstream": "yes" } });
}

beforeEach(() => {
  upstream = mockUpstreams({ [VM]: echoUpstream, [INSERT]: echoUpstream, [SELECT]: echoUpstream });
});

afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

function call(path: string, secret: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (secret !== undefined) headers.set("authorization", `Bearer ${secret}`);
  return exports.default.fetch(`http://authorizer.test${path}`, { ...init, headers });
}

async function expectRefused(res: Response, status: number, message: RegExp, code?: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string; message: string };
  expect(body.message).toMatch(message);
  if (code !== undefined) expect(body.error).toBe(code);
  expect(body.message).not.toMatch(/vmat_[0-9A-Za-z]{8}/); // never echoes a secret
  expect(upstream.calls).toHaveLength(0);
}

describe("credentials", () => {
  it("401 with WWW-Authenticate when no credential is sent", async () => {
    const res = await call("/api/v1/query?query=up", undefined);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
    await expectRefused(res, 401, /No access token/);
  });

  // That a malformed secret costs no storage lookup is counted in budget.test.ts.
  it("401 for a malformed secret", async () => {
    const res = await call("/api/v1/query", "vmat_not-a-real-token");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectRefused(res, 401, /Malformed access token/);
  });

  it("401 for an unknown but well-formed secret", async () => {
    await expectRefused(await call("/api/v1/query", generateSecret()), 401, /Unknown or revoked/);
  });

  it("401 for an over-long Authorization header", async () => {
    await expectRefused(await call("/api/v1/query", "x".repeat(10_000)), 401, /too long/);
  });

  it("401 for an unsupported scheme", async () => {
    const res = await exports.default.fetch("http://authorizer.test/api/v1/query", { headers: { authorization: "Digest abc" } });
    await expectRefused(res, 401, /Malformed/);
  });

  it("accepts the secret as Basic password or, with an empty password, as user name", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    for (const pair of [`user:${t.value}`, `${t.value}:`]) {
      const res = await exports.default.fetch("http://authorizer.test/api/v1/query?query=up", {
        headers: { authorization: `Basic ${btoa(pair)}` },
      });
      expect(res.status).toBe(200);
    }
    expect(upstream.calls).toHaveLength(2);
  });
});

describe("forwarding to a single-node deployment", () => {
  it("keeps the path and query string, drops credentials and tenant headers", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await call("/api/v1/query_range?query=sum(rate(x%5B5m%5D))&start=1&end=2&step=1", t.value, {
      headers: { cookie: "session=1", AccountID: "7", ProjectID: "8", "x-custom": "kept" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("yes");
    expect(await res.json()).toEqual({ status: "success", path: "/api/v1/query_range", query: "?query=sum(rate(x%5B5m%5D))&start=1&end=2&step=1" });
    const sent = upstream.calls[0]!;
    expect(sent.url).toBe(`${VM}/api/v1/query_range?query=sum(rate(x%5B5m%5D))&start=1&end=2&step=1`);
    for (const h of ["authorization", "cookie", "accountid", "projectid"]) expect(sent.headers.has(h)).toBe(false);
    expect(sent.headers.get("x-custom")).toBe("kept");
  });

  it("streams a compressed remote_write body through unchanged, with its Content-Encoding", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "w");
    const payload = crypto.getRandomValues(new Uint8Array(64 * 1024));
    let received: Uint8Array | undefined;
    let encoding: string | null = null;
    upstream.restore();
    upstream = mockUpstreams({
      [VM]: async (req) => {
        received = new Uint8Array(await req.arrayBuffer());
        encoding = req.headers.get("content-encoding");
        return new Response(null, { status: 204 });
      },
    });
    const res = await call("/api/v1/write", t.value, {
      method: "POST",
      body: payload,
      headers: { "content-encoding": "snappy", "content-type": "application/x-protobuf" },
    });
    expect(res.status).toBe(204);
    expect(encoding).toBe("snappy");
    expect(received).toEqual(payload);
  });

  it("passes vmagent's ?get_vm_proto_version handshake and the upstream's own status through", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "w");
    upstream.restore();
    upstream = mockUpstreams({ [VM]: () => new Response("bad sample", { status: 400 }) });
    const res = await call("/api/v1/write?get_vm_proto_version=1", t.value, { method: "POST", body: "x" });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("bad sample");
    expect(upstream.calls[0]!.url).toBe(`${VM}/api/v1/write?get_vm_proto_version=1`);
  });

  it("403 when the access level does not cover the path, upstream untouched", async () => {
    const d = await singleNode(VM);
    const r = await token(d.id, "r");
    const w = await token(d.id, "w");
    await expectRefused(await call("/api/v1/write", r.value, { method: "POST", body: "x" }), 403, /write/, "insufficient_access");
    await expectRefused(await call("/api/v1/query?query=up", w.value), 403, /read/, "insufficient_access");
    await expectRefused(await call("/api/v1/admin/tsdb/delete_series?match[]=x", w.value, { method: "POST" }), 403, /rw|read-write/i);
  });

  it("403 for never-forwarded paths and 404 for paths that are no VictoriaMetrics API", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "rw");
    for (const p of ["/metrics", "/-/reload", "/flags", "/internal/force_merge", "/snapshot/create"]) {
      await expectRefused(await call(p, t.value), 403, /never reachable/, "forbidden_path");
    }
    await expectRefused(await call("/wp-login.php", t.value), 404, /./, "unknown_path");
  });
});

describe("cluster deployments", () => {
  it("routes a regular token's /insert and /select paths to vminsert and vmselect", async () => {
    const d = await cluster(INSERT, SELECT);
    const t = await token(d.id, "rw");
    expect((await call("/insert/0/prometheus/api/v1/write", t.value, { method: "POST", body: "x" })).status).toBe(200);
    expect((await call("/select/1:2/prometheus/api/v1/query?query=up", t.value)).status).toBe(200);
    expect(upstream.calls.map((c) => c.url)).toEqual([
      `${INSERT}/insert/0/prometheus/api/v1/write`,
      `${SELECT}/select/1:2/prometheus/api/v1/query?query=up`,
    ]);
  });

  it("403 when a regular token names no tenant or the multitenant value", async () => {
    const d = await cluster(INSERT, SELECT);
    const t = await token(d.id, "rw");
    await expectRefused(await call("/prometheus/api/v1/query?query=up", t.value), 403, /tenant/i, "tenant_required");
    await expectRefused(await call("/select/multitenant/prometheus/api/v1/query", t.value), 403, /./, "invalid_tenant");
  });

  it("rewrites a tenant-specific token's paths to its tenant and refuses any tenant in the path", async () => {
    const d = await cluster(INSERT, SELECT);
    const t = await token(d.id, "rw", "42:7");
    expect((await call("/prometheus/api/v1/write", t.value, { method: "POST", body: "x" })).status).toBe(200);
    expect((await call("/prometheus/api/v1/query?query=up", t.value)).status).toBe(200);
    expect(upstream.calls.map((c) => c.url)).toEqual([
      `${INSERT}/insert/42:7/prometheus/api/v1/write`,
      `${SELECT}/select/42:7/prometheus/api/v1/query?query=up`,
    ]);
    upstream.calls.length = 0;
    await expectRefused(await call("/insert/1/prometheus/api/v1/write", t.value, { method: "POST", body: "x" }), 403, /tenant/i, "tenant_in_path");
    await expectRefused(await call("/select/42:7/prometheus/api/v1/query", t.value), 403, /tenant/i, "tenant_in_path");
  });
});

describe("status contract", () => {
  it("413 for a declared body over the limit, upstream untouched", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "w");
    const res = await call("/api/v1/import", t.value, { method: "POST", body: new Uint8Array(1048577) });
    await expectRefused(res, 413, /larger than/);
  });

  it("413 for a chunked body that grows past the limit", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "w");
    upstream.restore();
    upstream = mockUpstreams({ [VM]: async (req) => (await req.arrayBuffer(), new Response(null, { status: 204 })) });
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ < 5) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await call("/api/v1/import", t.value, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(/larger than/);
  });

  it("502 when the upstream cannot be reached", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    upstream.restore();
    upstream = mockUpstreams({ [VM]: () => Promise.reject(new TypeError("connection refused")) });
    const res = await call("/api/v1/query?query=up", t.value);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/could not be reached/);
  });

  it("504 when the upstream does not answer in time", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    upstream.restore();
    upstream = mockUpstreams({
      [VM]: (req) =>
        new Promise<Response>((_, reject) => req.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))),
    });
    const res = await call("/api/v1/query?query=up", t.value);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { message: string }).message).toMatch(/did not answer/);
  });
});

describe("revocation", () => {
  it("refuses the next request after a revoke, without reaching the upstream", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    expect((await call("/api/v1/query?query=up", t.value)).status).toBe(200);
    upstream.calls.length = 0;
    expect((await revoke(d.id, t.id)).status).toBeLessThan(300);
    await expectRefused(await call("/api/v1/query?query=up", t.value), 401, /revoked/);
  });
});
