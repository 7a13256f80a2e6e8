import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { singleNode, token } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

/**
 * Content negotiation on the data path: the upstream is asked only for codings the client itself
 * accepts, an encoded body passes through untouched to a client that accepts it, and no client
 * ever receives a coding it did not accept. In-isolate there is no `request.cf`, so the client's
 * header is read from the request (src/data/encoding.ts; the edge and miniflare set
 * `cf.clientAcceptEncoding`, checked at the end with a Request that carries one).
 */
const VM = "http://vm.negotiation.test";
const JSON_BODY = JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } });
let upstream: UpstreamMock;
let answer: (request: Request) => Response | Promise<Response>;

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Answers in gzip whatever the request asked for, like a misconfigured upstream. */
async function alwaysGzip(): Promise<Response> {
  return new Response(await gzip(JSON_BODY), { headers: { "content-type": "application/json", "content-encoding": "gzip" }, encodeBody: "manual" });
}

beforeEach(() => {
  answer = () => new Response(JSON_BODY, { headers: { "content-type": "application/json" } });
  upstream = mockUpstreams({ [VM]: (r) => answer(r) });
});

afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

async function query(init: RequestInit & { cf?: Record<string, unknown> } = {}): Promise<Response> {
  const d = await singleNode(VM);
  const t = await token(d.id, "r");
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${t.value}`);
  return exports.default.fetch(new Request("http://authorizer.test/api/v1/query?query=up", { ...init, headers }));
}

describe("content negotiation", () => {
  it("a client without Accept-Encoding: the upstream is asked for identity and the client reads plain JSON", async () => {
    const res = await query();
    expect(upstream.calls[0]!.headers.get("accept-encoding")).toBe("identity");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe(JSON_BODY);
  });

  it("a client that accepts gzip: the upstream is asked with the client's own header and its gzip passes through untouched", async () => {
    answer = alwaysGzip;
    // The Worker's own Response, not one passed back through the runtime (which would decode it
    // for this in-isolate caller): its bytes are exactly what the client is sent.
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const request = new Request("http://authorizer.test/api/v1/query?query=up", { headers: { authorization: `Bearer ${t.value}`, "accept-encoding": "gzip" } });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, env, ctx);
    expect(upstream.calls[0]!.headers.get("accept-encoding")).toBe("gzip");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const raw = new Uint8Array(await res.arrayBuffer());
    await waitOnExecutionContext(ctx);
    expect(Array.from(raw.slice(0, 2))).toEqual([0x1f, 0x8b]); // the gzip magic: not decoded on the way
    const plain = await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
    expect(plain).toBe(JSON_BODY);
  });

  it("an upstream that answers gzip anyway: a client that did not accept it gets the body decoded", async () => {
    answer = alwaysGzip;
    for (const accept of [undefined, "identity", "br", "gzip;q=0, br"]) {
      const res = await query(accept === undefined ? {} : { headers: { "accept-encoding": accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBeNull();
      expect(res.headers.get("content-length")).toBeNull(); // the encoded length no longer applies
      expect(await res.text()).toBe(JSON_BODY);
    }
  });

  it("an upstream coding the client did not accept and the runtime cannot decode: 502 naming it, never the bytes", async () => {
    answer = () => new Response("\x00\x01binary", { headers: { "content-encoding": "zstd" }, encodeBody: "manual" });
    const res = await query({ headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("bad_gateway");
    expect(body.message).toMatch(/content coding 'zstd'.*does not accept/);
    expect(body.message).not.toMatch(/could not be reached/);
  });

  it("request.cf.clientAcceptEncoding (what the client really sent) wins over the runtime's rewritten header", async () => {
    answer = alwaysGzip;
    const res = await query({ headers: { "accept-encoding": "br, gzip" }, cf: { clientAcceptEncoding: "" } });
    expect(upstream.calls[0]!.headers.get("accept-encoding")).toBe("identity");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe(JSON_BODY);
  });
});

describe("a request the runtime refuses to send", () => {
  it("is our error (500, logged), never 'the deployment could not be reached'", async () => {
    // workerd raises a TypeError like this before contacting anyone; a failed connection is an Error.
    answer = () => {
      throw new TypeError("Invalid header value.");
    };
    const res = await query();
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("internal_error");
    expect(body.message).not.toMatch(/deployment/);
  });
});
