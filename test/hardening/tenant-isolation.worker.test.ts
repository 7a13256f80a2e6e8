import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, singleNode, token } from "../worker/helpers/tokens";
import { REFUSAL_STATUSES, splitRawUrl, violations, type GrantUnderTest } from "./lib/oracle";
import { recordUpstreams, type RecordingFetch } from "./lib/recording-fetch";
import { authorizationFor, hasBody, pathFor, requestArb, runSettings, type GeneratedRequest } from "./lib/requests";

/**
 * Tenant isolation through the whole Worker in workerd (credential → lookup → policy → permit →
 * forward), upstreams recorded inside the isolate. For every generated request and every kind of
 * token: whatever reached an upstream is within the token's grant (oracle.ts, written apart from
 * src/policy), or nothing reached one and the client got 401/403/404.
 *
 * `npm test` runs a fixed seed and a small count; `node scripts/hardening-long.mjs isolation`
 * runs the large count (docs/reliability.md).
 */

const A = "http://vm-a.isolation.test";
const B = "http://vm-b.isolation.test";
const INSERT_C = "http://vminsert-c.isolation.test";
const SELECT_C = "http://vmselect-c.isolation.test";
const INSERT_D = "http://vminsert-d.isolation.test";
const SELECT_D = "http://vmselect-d.isolation.test";
const ORIGINS = [A, B, INSERT_C, SELECT_C, INSERT_D, SELECT_D];

interface TokenUnderTest extends GrantUnderTest {
  secret: string;
}

const tokens: TokenUnderTest[] = [];
let upstream: RecordingFetch;
const stats = { cases: 0, forwarded: 0, byStatus: {} as Record<number, number>, failures: 0 };

beforeAll(async () => {
  upstream = recordUpstreams(ORIGINS);
  const a = await singleNode(A, "isolation A");
  await singleNode(B, "isolation B"); // another deployment: its upstream must never be reached
  const c = await cluster(INSERT_C, SELECT_C, "isolation C");
  await cluster(INSERT_D, SELECT_D, "isolation D");
  for (const access of ["r", "w", "rw"] as const) {
    tokens.push({ name: `single ${access}`, deploymentType: "single_node", access, upstream: A, secret: (await token(a.id, access)).value });
    tokens.push({ name: `cluster ${access}`, deploymentType: "cluster", access, insert: INSERT_C, select: SELECT_C, secret: (await token(c.id, access)).value });
    tokens.push({
      name: `cluster ${access} tenant 42:7`,
      deploymentType: "cluster",
      access,
      tenant: "42:7",
      insert: INSERT_C,
      select: SELECT_C,
      secret: (await token(c.id, access, "42:7")).value,
    });
  }
  tokens.push({ name: "cluster rw tenant 0", deploymentType: "cluster", access: "rw", tenant: "0", insert: INSERT_C, select: SELECT_C, secret: (await token(c.id, "rw", "0")).value });
  tokens.push({
    name: "cluster rw tenant 4294967295",
    deploymentType: "cluster",
    access: "rw",
    tenant: "4294967295",
    insert: INSERT_C,
    select: SELECT_C,
    secret: (await token(c.id, "rw", "4294967295")).value,
  });
});

afterAll(() => {
  upstream.restore();
  // One line the long-run script parses into docs/reliability.md.
  console.log(`HARDENING isolation-workerd ${JSON.stringify(stats)}`);
});

/** The URL the test hands to fetch; a path that would change the host is kept under ours. */
function urlOf(r: GeneratedRequest, grant: GrantUnderTest): string {
  const raw = pathFor(r.path, grant.deploymentType === "cluster" && grant.tenant === undefined);
  const path = raw.startsWith("/") || raw.startsWith("\\") ? raw : `/${raw}`;
  return `http://authorizer.test${path}${r.query}`;
}

async function check(r: GeneratedRequest): Promise<void> {
  const grant = tokens[r.token]!;
  let request: Request;
  try {
    const headers = new Headers(r.headers);
    headers.set("authorization", authorizationFor(r.auth, grant.secret));
    request = new Request(urlOf(r, grant), { method: r.method, headers, body: hasBody(r.method) ? r.body : undefined });
  } catch {
    return; // the URL parser refused it: nothing can be sent
  }
  const seen = splitRawUrl(request.url).query;
  const before = upstream.sent.length;
  const res = await exports.default.fetch(request);
  await res.arrayBuffer();
  const sent = upstream.sent.slice(before);
  stats.cases++;
  stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
  const problems: string[] = [];
  if (upstream.unknown.length > 0) problems.push(`reached an unknown origin: ${upstream.unknown.join(", ")}`);
  if (sent.length > 1) problems.push(`${sent.length} upstream requests for one client request`);
  if (sent.length === 1) {
    stats.forwarded++;
    problems.push(...violations(grant, { method: r.method, query: seen, body: hasBody(r.method) ? r.body : "", secrets: [grant.secret] }, sent[0]!));
    if (res.status !== 200) problems.push(`forwarded, yet the client got ${res.status} instead of the upstream's 200`);
  } else if (!REFUSAL_STATUSES.has(res.status)) {
    problems.push(`nothing forwarded, yet the client got ${res.status}`);
  }
  if (problems.length > 0) {
    stats.failures++;
    throw new Error(`${grant.name} ${r.method} ${request.url}\n  ${problems.join("\n  ")}`);
  }
}

describe("tenant isolation through the whole Worker (workerd, upstreams recorded)", () => {
  const { numRuns, seed } = runSettings(400);
  it("forwards only what the token grants, for generated paths, queries, headers and bodies", async () => {
    await fc.assert(fc.asyncProperty(requestArb(tokens.length), check), { numRuns, seed, endOnFailure: false });
    // Not vacuous: a fair share was forwarded and a fair share refused.
    expect(stats.forwarded).toBeGreaterThan(stats.cases / 10);
    expect(stats.cases - stats.forwarded).toBeGreaterThan(stats.cases / 10);
  }, 30_000 + numRuns * 10);

  it("extra_label / extra_filters pass byte for byte and never choose the tenant", async () => {
    const t = tokens.find((x) => x.name === "cluster r tenant 42:7")!;
    const before = upstream.sent.length;
    const query = "?query=up&extra_label=vm_account_id%3D1&extra_filters[]=%7Bvm_project_id%3D%222%22%7D&extra_filters=%7Btenant%3D%223%22%7D";
    const res = await exports.default.fetch(`http://authorizer.test/prometheus/api/v1/query${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.secret}`, "content-type": "application/x-www-form-urlencoded", AccountID: "1", ProjectID: "2" },
      body: "extra_label=vm_account_id%3D5",
    });
    expect(res.status).toBe(200);
    const sent = upstream.sent.slice(before);
    expect(sent.map((s) => s.url)).toEqual([`${SELECT_C}/select/42:7/prometheus/api/v1/query${query}`]);
    expect(sent[0]!.body).toBe("extra_label=vm_account_id%3D5");
    expect(sent[0]!.headers.accountid).toBeUndefined();
  });
});
