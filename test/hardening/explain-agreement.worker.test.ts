import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, cluster, singleNode } from "../worker/helpers/tokens";
import { recordUpstreams, type RecordingFetch } from "./lib/recording-fetch";
import { pathChoiceArb, pathFor, queryArb, runSettings, type PathChoice } from "./lib/requests";

/**
 * Explain (POST …/access_tokens/{id}/explain) against the real data path, in workerd: for
 * generated requests (method, path under tenant prefixes, mutated encodings, label-scope
 * arguments in the query) and tokens of every kind, the data path's answer and explain's agree —
 * same status and code for a refusal; for a forwarded request, the URL the recorded upstream got
 * is explain's `upstream_url`. Upstreams are recorded inside the isolate; nothing leaves it.
 */

const A = "http://vm-a.explain.test";
const INSERT_C = "http://vminsert-c.explain.test";
const SELECT_C = "http://vmselect-c.explain.test";

interface Kind {
  name: string;
  deploymentId: string;
  tokenId: string;
  secret: string;
  wantsTenantPrefix: boolean;
  /** Refused at authentication (401): each request comes from its own address, so the per-address failed-authentication throttle (not explain's business) never answers instead. */
  failsAuth?: boolean;
}

const NETWORKS = ["10.0.0.0/8", "2001:db8::/32"];
const ADDRESSES = ["10.1.2.3", "11.0.0.1", "2001:db8::1", "::1", "garbage"];

const kinds: Kind[] = [];
let upstream: RecordingFetch;
const stats = { cases: 0, forwarded: 0, refused: 0, skipped: 0 };

async function create(deploymentId: string, body: Record<string, unknown>): Promise<{ id: string; value: string }> {
  const res = await admin("POST", `/deployments/${deploymentId}/access_tokens`, { description: "explain agreement", ...body });
  if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; value: string };
}

async function add(name: string, deploymentId: string, body: Record<string, unknown>, wantsTenantPrefix: boolean): Promise<Kind> {
  const t = await create(deploymentId, body);
  const kind = { name, deploymentId, tokenId: t.id, secret: t.value, wantsTenantPrefix };
  kinds.push(kind);
  return kind;
}

beforeAll(async () => {
  upstream = recordUpstreams([A, INSERT_C, SELECT_C]);
  const a = await singleNode(A, "explain A");
  const a2 = await singleNode(A, "explain A2");
  const c = await cluster(INSERT_C, SELECT_C, "explain C");
  await add("single-node rw", a.id, { type: "rw" }, false);
  await add("single-node r", a.id, { type: "r" }, false);
  await add("cluster regular w", c.id, { type: "w" }, true);
  await add("cluster regular rw", c.id, { type: "rw" }, true);
  await add("cluster tenant 42:7 rw", c.id, { type: "rw", tenant_id: "42:7" }, false);
  await add("single-node labels rw", a.id, { type: "rw", labels: { team: "payments" } }, false);
  await add("cluster regular labels r", c.id, { type: "r", labels: { env: "a&b=c d%", team: "payments" } }, true);
  await add("single-node allowlist rw", a2.id, { type: "rw", allowed_networks: NETWORKS }, false);
  await add("cluster tenant 7 allowlist+labels rw", c.id, { type: "rw", tenant_id: "7", allowed_networks: NETWORKS, labels: { team: "payments" } }, false);
  // Expired: rotated with no overlap, the replaced token expires at once.
  const expiring = await add("single-node expired", a2.id, { type: "rw" }, false);
  expiring.failsAuth = true;
  const rotated = await admin("POST", `/deployments/${a2.id}/access_tokens/${expiring.tokenId}/rotate`, { overlap_seconds: 0 });
  if (rotated.status !== 201) throw new Error(`rotate: ${rotated.status} ${await rotated.text()}`);
  // Revoked.
  const revoked = await add("single-node revoked", a2.id, { type: "rw" }, false);
  revoked.failsAuth = true;
  const res = await admin("DELETE", `/deployments/${a2.id}/access_tokens/${revoked.tokenId}`);
  if (res.status !== 204) throw new Error(`revoke: ${res.status}`);
});

afterAll(() => {
  upstream.restore();
  console.log(`HARDENING explain-agreement ${JSON.stringify(stats)}`);
});

interface ExplainJson {
  decision: "allowed" | "refused";
  status?: number;
  code?: string;
  upstream_url?: string;
}

const isManagement = (path: string) => /^[/\\](admin|console)([/?#\\]|$)/.test(path);

async function check(method: string, choice: PathChoice, query: string, kindIndex: number, addressIndex: number): Promise<void> {
  const kind = kinds[kindIndex % kinds.length]!;
  const address = kind.failsAuth ? `192.0.2.${stats.cases % 250}` : ADDRESSES[addressIndex]!;
  const raw = pathFor(choice, kind.wantsTenantPrefix);
  const target = (raw.startsWith("/") || raw.startsWith("\\") ? raw : `/${raw}`) + query;
  // /admin and /console are the management plane: the data path never sees them.
  if (isManagement(target)) return void stats.skipped++;
  let request: Request;
  try {
    request = new Request(`http://authorizer.test${target}`, {
      method,
      headers: { authorization: `Bearer ${kind.secret}`, "cf-connecting-ip": address },
    });
  } catch {
    return void stats.skipped++; // no client could send it
  }
  const before = upstream.sent.length;
  const res = await exports.default.fetch(request);
  const text = await res.text();
  const sent = upstream.sent.slice(before);

  const explainRes = await admin("POST", `/deployments/${kind.deploymentId}/access_tokens/${kind.tokenId}/explain`, { method, path: target, client_address: address });
  const explainText = await explainRes.text();
  const context = `${kind.name} ${method} ${JSON.stringify(target)} from ${address}: data path ${res.status} ${text.slice(0, 200)}; explain ${explainRes.status} ${explainText.slice(0, 300)}`;
  expect(explainRes.status, context).toBe(200);
  const explained = JSON.parse(explainText) as ExplainJson;
  stats.cases++;
  if (sent.length === 1) {
    stats.forwarded++;
    expect(res.status, context).toBe(200);
    expect(explained.decision, context).toBe("allowed");
    expect(explained.upstream_url, context).toBe(sent[0]!.url);
  } else {
    stats.refused++;
    expect(sent, context).toHaveLength(0);
    expect(explained.decision, context).toBe("refused");
    expect(explained.status, context).toBe(res.status);
    // An answer to HEAD has no body to carry the code.
    if (method !== "HEAD") expect(explained.code, context).toBe((JSON.parse(text) as { error: string }).error);
  }
}

describe("explain agrees with the data path (workerd, upstreams recorded)", () => {
  const { numRuns, seed } = runSettings(300);
  it("gives the data path's status and code for every refusal, and its exact upstream URL for every forwarded request", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"), pathChoiceArb, queryArb, fc.nat(kinds.length - 1), fc.nat(ADDRESSES.length - 1), check),
      { numRuns, seed, endOnFailure: true },
    );
    // Not vacuous: both outcomes are common, and every kind of token was exercised.
    expect(stats.forwarded).toBeGreaterThan(stats.cases / 20);
    expect(stats.refused).toBeGreaterThan(stats.cases / 10);
  }, 60_000 + numRuns * 20);
});
