import { HttpError } from "../errors";
import { requestClassOf } from "../policy/route";
import { type TokenLimiterNamespace, permitPoolStats } from "../limiter/isolate-permits";
import type { LimiterNamespace } from "../limiter/pool-state";
import type { LeaseGrant, LeaseRequest } from "../limiter/lease-ledger";
import type { TokenLimiter } from "../limiter/token-limiter";
import type { TokenRecord } from "../store/token-record";
import { SHIP_INTERVAL_MS, UsageAccumulator } from "../usage/accumulator";
import type { UsageShipment } from "../usage/batch";
import { type Answer, type UsageClass, refusalReasonOf, upstreamAnswerOf } from "../usage/vocabulary";
import { rawPathOf } from "./authorize";
import type { WaitUntil } from "./forward";

/**
 * Per-token usage in the data path (docs/usage.md): one `record()` per answered request, into this
 * isolate's UsageAccumulator, and shipping of its batches to the token's TokenLimiter on the
 * `lease` calls the limiter makes anyway. No KV/D1 read, no Durable Object request of its own per
 * request; at most one extra call per isolate and token per minute (the sweep) for counts no
 * lease call carried.
 */

/** What the data path learns about a request as it goes; filled at the edges of each step. */
export interface UsageTrace {
  at: number;
  record: TokenRecord | undefined;
  class: UsageClass;
  permitWaitMs: number | undefined;
  inFlight: number | undefined;
  upstreamMs: number | undefined;
}

export const newTrace = (): UsageTrace => ({ at: Date.now(), record: undefined, class: "other", permitWaitMs: undefined, inFlight: undefined, upstreamMs: undefined });

/** The token's requests in flight in this isolate, right after this one took its permit. */
export const inFlightOf = (tokenId: string): number | undefined => permitPoolStats(tokenId)?.inUse;

/** Lazily: Workers forbid randomness at startup. A fresh id per isolate, never reused (its seq starts at 1). */
let accumulator: UsageAccumulator | undefined;
export function isolateUsage(): UsageAccumulator {
  return (accumulator ??= new UsageAccumulator(`iso:${crypto.randomUUID()}`));
}

/**
 * Counts one answered request, exactly once, against its token. A request refused before a token
 * was identified (no or unknown credential, throttled address, failed lookup) names no token and
 * is not counted here; a revoked or expired token found by the lookup is (lookup.ts fills
 * `trace.record` before refusing).
 */
export function countAnswer(trace: UsageTrace, request: Request, outcome: { response: Response } | { error: unknown }): void {
  const record = trace.record;
  if (record === undefined) return;
  let answer: Answer;
  // A relayed answer's bytes are told by forward.ts once its transfer is over (countStreamedBytes).
  if ("response" in outcome) {
    answer = upstreamAnswerOf(outcome.response.status);
  } else {
    const err = outcome.error;
    // A 401 "unauthorized" after the token was identified: the lookup or its limiter found it revoked.
    answer = err instanceof HttpError ? refusalReasonOf(err.code, "revoked") : "internal_error";
    // Refused before or by the decision (revoked, expired; access level, label scope, address):
    // count the class of the API the path names, whatever the token may do.
    if (trace.class === "other" && err instanceof HttpError) trace.class = refusedClassOf(record, request.url);
  }
  const headers = request.headers;
  const cf = request.cf as { country?: unknown; colo?: unknown } | undefined;
  isolateUsage().record(record.token_id, {
    at: trace.at,
    class: trace.class,
    answer,
    requestBytes: contentLength(headers),
    upstreamMs: trace.upstreamMs,
    permitWaitMs: trace.permitWaitMs,
    inFlight: trace.inFlight,
    address: headers.get("cf-connecting-ip") ?? undefined,
    country: typeof cf?.country === "string" ? cf.country : undefined,
    colo: typeof cf?.colo === "string" ? cf.colo : undefined,
    userAgent: headers.get("user-agent") ?? undefined,
  });
}

/**
 * Bytes told by forward.ts once a transfer is over (after the request was counted): a chunked
 * upload's, and every relayed answer's. They add to the token's open batch.
 */
export function countStreamedBytes(tokenId: string, requestBytes: number, responseBytes: number): void {
  if (requestBytes > 0 || responseBytes > 0) isolateUsage().addBytes(tokenId, Date.now(), requestBytes, responseBytes);
}

function refusedClassOf(record: TokenRecord, url: string): UsageClass {
  const grant = { deploymentType: record.deployment_type, access: record.access, tenantId: record.tenant_id };
  return requestClassOf(grant, rawPathOf(url)) ?? "other";
}

/** Declared body length; a body without one is counted as it streams (`countStreamedBytes`). */
function contentLength(headers: Headers): number | undefined {
  const n = Number(headers.get("content-length"));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

// ---- Shipping -------------------------------------------------------------------------------

type UsageStub = { ship(shipment: UsageShipment): Promise<"applied" | "refused"> };
/** A shipment out longer than this (twice the lease call timeout) is put back: its call's context may have died. */
const STALE_SHIPMENT_MS = 10_000;
/** Tokens shipped by one sweep at most; the rest wait for the next one. */
const MAX_SWEEP_TOKENS = 100;
const out = new Map<UsageShipment, { acc: UsageAccumulator; sentAt: number }>();
let sweptAt = 0;

function settle(acc: UsageAccumulator, shipment: UsageShipment, answered: "applied" | "refused" | undefined): void {
  out.delete(shipment);
  if (answered === undefined) return acc.putBack(shipment);
  // A refused shipment is dropped, not resent forever (docs/usage.md, wiring notes).
  if (answered === "refused") console.warn(JSON.stringify({ level: "warn", msg: "usage shipment refused", token_id: shipment.tokenId }));
  acc.acknowledge(shipment);
}

/**
 * The token's namespace as the permit pools see it: a `lease` call carries the token's usage when
 * it is due (older than the shipping interval, or batches put back) and always on a hand-back.
 * `acc`: another accumulator than this isolate's (tests simulating several isolates).
 */
export function shippingNamespace(ns: TokenLimiterNamespace, acc?: UsageAccumulator): LimiterNamespace {
  const typed = ns as unknown as DurableObjectNamespace<TokenLimiter>;
  if (acc === undefined && wrapped?.ns === typed) return wrapped.value;
  const value: LimiterNamespace = {
    getByName: (tokenId) => {
      const stub = typed.getByName(tokenId) as unknown as { lease(r: LeaseRequest): Promise<LeaseGrant> };
      return { lease: (req) => leaseWithUsage(stub, req, acc ?? isolateUsage()) };
    },
  };
  if (acc === undefined) wrapped = { ns: typed, value };
  return value;
}
let wrapped: { ns: DurableObjectNamespace<TokenLimiter>; value: LimiterNamespace } | undefined;

async function leaseWithUsage(stub: { lease(r: LeaseRequest): Promise<LeaseGrant> }, req: LeaseRequest, acc: UsageAccumulator): Promise<LeaseGrant> {
  const now = Date.now();
  const tokenId = req.tokenId;
  const shipment = tokenId !== undefined && (req.want === 0 || acc.due(tokenId, now)) ? acc.drain(tokenId, now) : undefined;
  if (shipment === undefined) return stub.lease(req);
  out.set(shipment, { acc, sentAt: now });
  try {
    const grant = await stub.lease({ ...req, usage: shipment });
    settle(acc, shipment, grant.usage ?? "refused");
    return grant;
  } catch (err) {
    settle(acc, shipment, undefined);
    throw err;
  }
}

/**
 * Once per shipping interval per isolate, after a request: ships every token's counts that no
 * lease call carried (a token behind a location object, or idle since) straight to its object,
 * one `ship` call each. Runs in the request's waitUntil.
 */
export function sweepUsage(env: Env, ctx: WaitUntil, now = Date.now()): void {
  if (now - sweptAt < SHIP_INTERVAL_MS) return;
  sweptAt = now;
  const acc = isolateUsage();
  for (const [shipment, o] of out) if (now - o.sentAt > STALE_SHIPMENT_MS) settle(o.acc, shipment, undefined);
  const due = acc.dueTokens(now).slice(0, MAX_SWEEP_TOKENS);
  if (due.length === 0) return;
  const ns = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;
  const calls = due.map(async (tokenId) => {
    const shipment = acc.drain(tokenId, now);
    if (shipment === undefined) return;
    out.set(shipment, { acc, sentAt: now });
    try {
      settle(acc, shipment, await (ns.getByName(tokenId) as unknown as UsageStub).ship(shipment));
    } catch (err) {
      settle(acc, shipment, undefined);
      console.warn(JSON.stringify({ level: "warn", msg: "usage shipment failed", token_id: tokenId, error: String(err) }));
    }
  });
  ctx.waitUntil(Promise.all(calls));
}

/** Tests: sweeps at `now` (their clock), ignoring the once-a-minute spacing. */
export function sweepUsageAt(env: Env, ctx: WaitUntil, now: number): void {
  sweptAt = -Infinity;
  sweepUsage(env, ctx, now);
}
