import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sweepUsageAt } from "../../src/data/usage";
import worker from "../../src/index";
import { createApiKey } from "./helpers/admin";
import { ADMIN_HEADERS, admin, singleNode, token } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

const VM = "http://vm.usage-api.test";
const VM2 = "http://vm2.usage-api.test";

let upstream: UpstreamMock;
beforeEach(() => {
  const answer = (req: Request) => new Response("ok", { status: Number(new URL(req.url).searchParams.get("status") ?? 200) });
  upstream = mockUpstreams({ [VM]: answer, [VM2]: answer });
});
afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

async function send(secret: string, path: string): Promise<number> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://authorizer.test${path}`, { headers: { authorization: `Bearer ${secret}`, "user-agent": "grafana/11", "cf-connecting-ip": "198.51.100.9" } }),
    env,
    ctx,
  );
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res.status;
}

async function ship(): Promise<void> {
  const ctx = createExecutionContext();
  sweepUsageAt(env, ctx, Date.now() + 61_000);
  await waitOnExecutionContext(ctx);
}

const metrics = (key = ADMIN_HEADERS["x-vm-cloud-access"]) => exports.default.fetch("http://authorizer.test/admin/metrics", { headers: { "x-vm-cloud-access": key } });

describe("reading per-token usage", () => {
  it("answers a token's usage, the deployment's roll-up and the Prometheus text, scoped by API key", async () => {
    const d = await singleNode(VM, "usage-api");
    const t = await token(d.id, "r");
    const other = await singleNode(VM2, "usage-api-other");
    const ot = await token(other.id, "r");
    expect(await send(t.value, "/api/v1/query?query=up")).toBe(200);
    expect(await send(t.value, "/api/v1/query?query=up&status=500")).toBe(500);
    expect(await send(t.value, "/api/v1/write")).toBe(403);
    expect(await send(ot.value, "/api/v1/query?query=up")).toBe(200);
    await ship();

    const res = await admin("GET", `/deployments/${d.id}/access_tokens/${t.id}/usage`);
    expect(res.status).toBe(200);
    const usage = (await res.json()) as { step: string; total: { requests: number; refused: number; answers: Record<string, number>; classes: Record<string, number> }; points: unknown[]; last_used: Record<string, unknown> };
    expect(usage.step).toBe("5m");
    expect(usage.total).toMatchObject({ requests: 3, refused: 1, answers: { "2xx": 1, "5xx": 1, insufficient_access: 1 }, classes: { read: 2, write: 1 } }); // the refused write counts as a write
    expect(usage.points.length).toBeGreaterThanOrEqual(288); // 24 h at 5 m, plus one when `since` is not on a 5 m boundary
    expect(usage.points.length).toBeLessThanOrEqual(289);
    expect(usage.last_used).toMatchObject({ address: "198.51.100.9", user_agent: "grafana/11" });

    // The deployment's live tokens: its default token (unused) and t; not the other deployment's.
    const roll = (await (await admin("GET", `/deployments/${d.id}/usage?step=1h`)).json()) as { total: { requests: number }; tokens: { token_id: string; total: { requests: number } }[] };
    expect(roll.total.requests).toBe(3);
    expect(roll.tokens).toHaveLength(2);
    expect(roll.tokens.find((x) => x.token_id === t.id)?.total.requests).toBe(3);
    expect(roll.tokens.some((x) => x.token_id === ot.id)).toBe(false);

    const scrape = await metrics();
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await scrape.text();
    expect(text).toContain(`deployment_id="${d.id}"`);
    expect(text).toContain(`deployment_id="${other.id}"`);
    expect(text).toMatch(new RegExp(`vm_edge_authorizer_token_requests_total\\{[^}]*token_id="${t.id}"[^}]*reason="insufficient_access"[^}]*\\} 1`));

    // A key limited to the other deployment sees only it: 404 for this one's token, and its metrics alone.
    const scoped = await createApiKey({ access: "r", deployment_ids: [other.id] });
    const hidden = await exports.default.fetch(`http://authorizer.test/admin/api/v1/deployments/${d.id}/access_tokens/${t.id}/usage`, { headers: { "x-vm-cloud-access": scoped.value } });
    expect(hidden.status).toBe(404);
    const scopedText = await (await metrics(scoped.value)).text();
    expect(scopedText).toContain(`deployment_id="${other.id}"`);
    expect(scopedText).not.toContain(d.id);
  });

  it("refuses bad since/until/step with 400 naming the field, an unknown token with 404, and metrics without a key with 401", async () => {
    const d = await singleNode(VM, "usage-api-bad");
    const t = await token(d.id, "r");
    for (const [query, field] of [
      ["since=yesterday", "since"],
      ["until=2026-02-30T00:00:00Z", "until"],
      ["step=7m", "step"],
      ["since=2001-01-01T00:00:00Z", "since"],
    ] as const) {
      const res = await admin("GET", `/deployments/${d.id}/access_tokens/${t.id}/usage?${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_request", field });
    }
    const unknown = await admin("GET", `/deployments/${d.id}/access_tokens/no-such-token/usage`);
    expect(unknown.status).toBe(404);
    expect((await admin("GET", `/deployments/no-such-deployment/usage`)).status).toBe(404);
    const anonymous = await exports.default.fetch("http://authorizer.test/admin/metrics");
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain("vm_edge_authorizer");
  });
});
