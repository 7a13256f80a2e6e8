import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forgetTokenRecord } from "../../src/data/lookup";
import { isolateUsage, sweepUsageAt } from "../../src/data/usage";
import worker from "../../src/index";
import type { TokenLimiter } from "../../src/limiter/token-limiter";
import { hashSecret } from "../../src/token/crypto";
import { generateSecret } from "../../src/token/format";
import type { SparseCells } from "../../src/usage/cells";
import { REFUSALS, type RefusalReason, UNATTRIBUTED_REFUSALS } from "../../src/usage/vocabulary";
import { admin, cluster, revoke, singleNode, smallestTier } from "./helpers/tokens";
import { gatedResponse, mockUpstreams, type UpstreamMock } from "./helpers/upstream";

/**
 * Every refusal the data plane can attribute to a token, each counted exactly once for that token,
 * as the class of the API the path names, through the real Worker, its lease calls and the sweep —
 * and not again after the token's object restarts. A refusal made before forwarding never reaches
 * the upstream. Refusals that name no token count for none.
 */

const VM = "http://vm.refusals.test";
const INSERT = "http://vminsert.refusals.test";
const SELECT = "http://vmselect.refusals.test";
const ns = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;

let upstream: UpstreamMock;
let gates: ReturnType<typeof gatedResponse>[];

/** `?upstream=unreachable` fails to connect, `silent` never answers (until the request's timeout aborts it), `gate` holds its body open. */
function answer(req: Request): Response | Promise<Response> {
  switch (new URL(req.url).searchParams.get("upstream")) {
    case "unreachable":
      throw new Error("Network connection lost.");
    case "silent":
      return new Promise<Response>((_, reject) => req.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    case "gate": {
      const gate = gatedResponse();
      gates.push(gate);
      return gate.response;
    }
    default:
      return Response.json({ status: "success" });
  }
}

beforeEach(() => {
  gates = [];
  upstream = mockUpstreams({ [VM]: answer, [INSERT]: answer, [SELECT]: answer });
});
afterEach(() => {
  for (const gate of gates) gate.finish();
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

interface Token {
  id: string;
  value: string;
}

async function tokenWith(deploymentId: string, body: Record<string, unknown> = {}): Promise<Token> {
  const res = await admin("POST", `/deployments/${deploymentId}/access_tokens`, { type: "rw", description: "refusals", ...body });
  if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
  return res.json();
}

/** Sends one request through the Worker and waits for everything it started (lease calls included). */
async function send(secret: string, path: string, init: RequestInit & { ip?: string; workerEnv?: Env } = {}): Promise<{ status: number; error?: string }> {
  const ctx = createExecutionContext();
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${secret}`);
  headers.set("cf-connecting-ip", init.ip ?? "192.0.2.7");
  const res = await worker.fetch(new Request(`http://authorizer.test${path}`, { ...init, headers }), init.workerEnv ?? env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, ...(res.status >= 400 && text.startsWith("{") ? { error: (JSON.parse(text) as { error: string }).error } : {}) };
}

/** The request cells (`req.<class>.<answer>`) of the token's stored total. */
async function storedRequests(tokenId: string): Promise<Record<string, number>> {
  const total = await runInDurableObject(ns.getByName(tokenId), (_i: TokenLimiter, state) => state.storage.get<{ c: SparseCells }>("usage:total"));
  return Object.fromEntries(Object.entries(total?.c ?? {}).filter(([k]) => k.startsWith("req.")));
}

/** Ships what is due (the sweep, its clock a minute ahead) and waits for the call to end. */
async function sweep(): Promise<void> {
  const ctx = createExecutionContext();
  sweepUsageAt(env, ctx, Date.now() + 61_000);
  await waitOnExecutionContext(ctx);
}

interface Case {
  reason: RefusalReason;
  /** The class the refusal counts as: that of the API the path names. */
  class: "read" | "write" | "delete" | "other";
  /**
   * Sends the refused request (after any set-up); returns its answer. Other cells it causes, if any,
   * in `also`; the requests that reached the upstream in `upstreamCalls` (absent: none, the refusal
   * came before forwarding).
   */
  run(): Promise<{ answer: { status: number; error?: string }; token: Token; also?: Record<string, number>; upstreamCalls?: number }>;
}

const single = () => singleNode(VM, "refusals");
const clustered = () => cluster(INSERT, SELECT);

/** The common case: a token (`token`: its create body) on a fresh deployment, and one request to `path`, refused. */
function refused(
  reason: RefusalReason,
  cls: Case["class"],
  path: string,
  opts: { init?: Parameters<typeof send>[2]; token?: Record<string, unknown>; deployment?: () => Promise<{ id: string }>; upstreamCalls?: number } = {},
): Case {
  return {
    reason,
    class: cls,
    run: async () => {
      const t = await tokenWith((await (opts.deployment ?? single)()).id, opts.token);
      return { token: t, answer: await send(t.value, path, opts.init), upstreamCalls: opts.upstreamCalls };
    },
  };
}

const CASES: Case[] = [
  refused("insufficient_access", "read", "/api/v1/query?query=up", { token: { type: "w" } }),
  refused("tenant_required", "read", "/prometheus/api/v1/query?query=up", { deployment: clustered }),
  refused("invalid_tenant", "read", "/select/multitenant/prometheus/api/v1/query?query=up", { deployment: clustered }),
  refused("tenant_in_path", "write", "/insert/1/prometheus/api/v1/write", { deployment: clustered, token: { tenant_id: "42:7" }, init: { method: "POST", body: "x" } }),
  refused("forbidden_path", "other", "/api/v1/admin/tsdb/snapshot/create"),
  refused("non_canonical_path", "other", "/api/v1/%71uery?query=up"),
  refused("unknown_path", "other", "/no/such/api"),
  refused("address_not_allowed", "write", "/api/v1/write", { token: { allowed_networks: ["10.0.0.0/8"] }, init: { method: "POST", body: "x", ip: "203.0.113.7" } }),
  refused("label_scope_unsupported", "read", "/api/v1/series/count", { token: { labels: { team: "payments" } } }),
  refused("label_scope_form_body", "read", "/api/v1/query", {
    token: { labels: { team: "payments" } },
    init: { method: "POST", body: "--x--", headers: { "content-type": "multipart/form-data; boundary=x" } },
  }),
  // MAX_BODY_BYTES is 1 MiB in the tests.
  refused("payload_too_large", "write", "/api/v1/write", {
    init: { method: "POST", body: "x".repeat(1024 * 1024 + 1), headers: { "content-length": String(1024 * 1024 + 1) } },
  }),
  {
    reason: "too_many_requests",
    class: "read",
    run: async () => {
      const t = await tokenWith((await single()).id);
      const limit = (await smallestTier("single_node")).access_token_concurrent_requests;
      // Hold the token's every permit with answers whose bodies stay open, then ask once more.
      const ctx = createExecutionContext();
      const held = await Promise.all(
        Array.from({ length: limit }, () =>
          worker.fetch(new Request("http://authorizer.test/api/v1/query?query=up&upstream=gate", { headers: { authorization: `Bearer ${t.value}` } }), env, ctx),
        ),
      );
      expect(held.map((r) => r.status)).toEqual(Array(limit).fill(200));
      const answer = await send(t.value, "/api/v1/query?query=up");
      for (const gate of gates) gate.finish();
      await Promise.all(held.map((r) => r.text()));
      await waitOnExecutionContext(ctx);
      return { token: t, answer, also: { "req.read.2xx": limit }, upstreamCalls: limit };
    },
  },
  refused("bad_gateway", "read", "/api/v1/query?query=up&upstream=unreachable", { upstreamCalls: 1 }),
  refused("gateway_timeout", "delete", "/api/v1/admin/tsdb/delete_series?match[]=up&upstream=silent", { init: { method: "POST" }, upstreamCalls: 1 }),
  // The token's object does not answer: every lease call fails.
  refused("limiter_unavailable", "read", "/api/v1/query?query=up", {
    init: { workerEnv: { ...env, TOKEN_LIMITER: { getByName: () => ({ lease: () => Promise.reject(new Error("Durable Object unavailable")) }) } } as unknown as Env },
  }),
  {
    reason: "revoked_token",
    class: "read",
    run: async () => {
      // Found revoked by the lookup itself (the projection is gone, D1 says revoked).
      const d = await single();
      const t = await tokenWith(d.id);
      expect((await revoke(d.id, t.id)).status).toBe(204);
      return { token: t, answer: await send(t.value, "/api/v1/query?query=up") };
    },
  },
  {
    reason: "revoked_token",
    class: "write",
    run: async () => {
      // Found revoked by the token's limiter while KV still serves the projection (its propagation lag).
      const d = await single();
      const t = await tokenWith(d.id);
      expect((await send(t.value, "/api/v1/query?query=up")).status).toBe(200);
      const hash = await hashSecret(t.value);
      const projection = await env.TOKENS_KV.get(`token:${hash}`);
      expect((await revoke(d.id, t.id)).status).toBe(204);
      await env.TOKENS_KV.put(`token:${hash}`, projection!);
      forgetTokenRecord(hash);
      const answer = await send(t.value, "/api/v1/write", { method: "POST", body: "x" });
      await env.TOKENS_KV.delete(`token:${hash}`);
      return { token: t, answer, also: { "req.read.2xx": 1 }, upstreamCalls: 1 };
    },
  },
  {
    reason: "expired_token",
    class: "write",
    run: async () => {
      // Found expired by the lookup (the projection expired from KV; D1 has the past expiry).
      const t = await tokenWith((await single()).id);
      await env.DB.prepare("UPDATE access_tokens SET expires_at = ?2 WHERE id = ?1").bind(t.id, Date.now() - 1000).run();
      await env.TOKENS_KV.delete(`token:${await hashSecret(t.value)}`);
      return { token: t, answer: await send(t.value, "/api/v1/import/prometheus", { method: "POST", body: "m 1" }) };
    },
  },
];

describe("refusals counted per token", () => {
  it("covers every refusal reason that names a token", () => {
    const attributable = (Object.keys(REFUSALS) as RefusalReason[]).filter((r) => !UNATTRIBUTED_REFUSALS.has(r) && r !== "internal_error");
    expect(new Set(CASES.map((c) => c.reason))).toEqual(new Set(attributable));
  });

  it("counts each exactly once, as the class of the API the path names, and not again after every object restarts", async () => {
    const expected = new Map<string, Record<string, number>>();
    for (const c of CASES) {
      const calls = upstream.calls.length;
      const { answer, token, also, upstreamCalls } = await c.run();
      expect({ reason: c.reason, upstreamCalls: upstream.calls.length - calls }).toEqual({ reason: c.reason, upstreamCalls: upstreamCalls ?? 0 });
      expect({ reason: c.reason, ...answer }).toEqual({ reason: c.reason, status: REFUSALS[c.reason].status, error: c.reason === "revoked_token" ? "unauthorized" : c.reason });
      expected.set(token.id, { ...also, [`req.${c.class}.${c.reason}`]: 1 });
    }

    await sweep();
    const stored = async () => Object.fromEntries(await Promise.all([...expected.keys()].map(async (id) => [id, await storedRequests(id)] as const)));
    expect(await stored()).toEqual(Object.fromEntries(expected));

    // A restart of every object, and another sweep: the stored counts neither lost nor shipped again.
    for (const id of expected.keys()) await evictDurableObject(ns.getByName(id));
    await sweep();
    expect(await stored()).toEqual(Object.fromEntries(expected));
  });

  it("counts nothing for a refusal that names no token", async () => {
    const before = isolateUsage().size;
    expect(await send(generateSecret(), "/api/v1/query?query=up")).toMatchObject({ status: 401, error: "unauthorized" });
    expect(await send("not-a-token", "/api/v1/query?query=up")).toMatchObject({ status: 401, error: "unauthorized" });
    expect(isolateUsage().size).toBe(before);
    expect(upstream.calls).toHaveLength(0);
  });
});
