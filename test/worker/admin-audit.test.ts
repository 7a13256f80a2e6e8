import { describe, expect, it } from "vitest";
import { hashSecret } from "../../src/token/crypto";
import {
  type AccessTokenJson,
  type AuditEntryJson,
  type DeploymentJson,
  adminFetch,
  createApiKey,
  createDeployment,
  expectJson,
  fetchAllPages,
  kvKeyCount,
  smallestTier,
  storedAudit,
  tableCounts,
} from "./helpers/admin";

// Storage is shared by the tests of one file; the trail test uses its own API key as actor, so
// filtering on that actor isolates its entries from the other tests'.

const tokensPath = (deploymentId: string) => `/deployments/${deploymentId}/access_tokens`;

interface Step {
  res: Response;
  /** The audit entries this call must have written, in order. */
  expect: Partial<AuditEntryJson>[];
}

describe("the audit trail", () => {
  it("records every create, reveal, revoke, update and delete with actor, target, time and request id", async () => {
    const actor = await createApiKey({ name: "trail actor" });
    const key = actor.value;
    const started = Date.now();
    const steps: Step[] = [];
    let n = 0;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await adminFetch(method, path, { key, body, headers: { "cf-ray": `trail-${n++}` } });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res;
    };

    let res = await call("POST", "/deployments", { name: "audited", type: "cluster", tier: 40, insert_url: "http://vminsert:8480", select_url: "http://vmselect:8481" });
    const deployment = (await res.clone().json()) as DeploymentJson;
    const d = deployment.id;
    const [defaultToken] = await expectJson<AccessTokenJson[]>(await adminFetch("GET", tokensPath(d)), 200);
    steps.push({
      res,
      expect: [
        { action: "deployment.create", target_type: "deployment", target_id: d, deployment_id: d, detail: { name: "audited", type: "cluster", tier: 40 } },
        { action: "access_token.create", target_type: "access_token", target_id: defaultToken!.id, deployment_id: d, detail: { type: "rw", description: "default" } },
      ],
    });

    res = await call("PUT", `/deployments/${d}`, { name: "audited, renamed", tier: 41 });
    steps.push({ res, expect: [{ action: "deployment.update", target_type: "deployment", target_id: d, deployment_id: d, detail: { name: "audited, renamed", tier: 41 } }] });

    res = await call("POST", tokensPath(d), { type: "w", description: "tenant writer", tenant_id: "7:1" });
    const token = (await res.clone().json()) as AccessTokenJson;
    steps.push({ res, expect: [{ action: "access_token.create", target_id: token.id, deployment_id: d, detail: { type: "w", description: "tenant writer", tenant_id: "7:1" } }] });

    res = await call("GET", `${tokensPath(d)}/${token.id}`);
    steps.push({ res, expect: [{ action: "access_token.reveal", target_type: "access_token", target_id: token.id, deployment_id: d }] });

    res = await call("GET", `${tokensPath(d)}/${token.id}/examples`);
    steps.push({ res, expect: [{ action: "access_token.reveal", target_id: token.id, deployment_id: d, detail: { via: "examples" } }] });

    res = await call("DELETE", `${tokensPath(d)}/${token.id}`);
    steps.push({ res, expect: [{ action: "access_token.revoke", target_id: token.id, deployment_id: d }] });

    res = await call("POST", "/api_keys", { name: "made in trail", access: "r", deployment_ids: [d] });
    const madeKey = (await res.clone().json()) as { id: string; value: string };
    steps.push({ res, expect: [{ action: "api_key.create", target_type: "api_key", target_id: madeKey.id, detail: { name: "made in trail", access: "r", deployment_ids: [d] } }] });

    res = await call("DELETE", `/api_keys/${madeKey.id}`);
    steps.push({ res, expect: [{ action: "api_key.revoke", target_type: "api_key", target_id: madeKey.id, detail: { name: "made in trail" } }] });

    res = await call("DELETE", `/deployments/${d}`);
    steps.push({
      res,
      expect: [
        { action: "access_token.revoke", target_id: defaultToken!.id, deployment_id: d, detail: { reason: "deployment deleted" } },
        { action: "deployment.delete", target_type: "deployment", target_id: d, deployment_id: d },
      ],
    });

    // Reads are not audited: these add nothing.
    await call("GET", "/deployments");
    await call("GET", "/api_keys");

    const expected = steps.flatMap((step) =>
      step.expect.map((e) => ({ ...e, request_id: step.res.headers.get("x-request-id"), actor_id: actor.id, actor_name: "trail actor" })),
    );
    const { items } = await fetchAllPages<AuditEntryJson>(`/audit?actor_id=${actor.id}&limit=3`);
    const oldestFirst = items.reverse();
    expect(oldestFirst).toHaveLength(expected.length);
    oldestFirst.forEach((entry, i) => {
      expect(entry).toMatchObject(expected[i]!);
      const at = Date.parse(entry.at);
      expect(at).toBeGreaterThanOrEqual(started);
      expect(at).toBeLessThanOrEqual(Date.now());
      if (entry.target_type === "api_key") expect(entry).not.toHaveProperty("deployment_id");
    });
    expect(new Set(oldestFirst.map((e) => e.request_id)).size).toBe(steps.length);

    // No secret, hash or ciphertext in any audit row.
    const revealed = await expectJson<AccessTokenJson>(await adminFetch("GET", `${tokensPath(d)}/${token.id}`), 404);
    expect(revealed).toMatchObject({ error: "not_found" });
    const secrets = [token.value, madeKey.value, key, await hashSecret(token.value), await hashSecret(madeKey.value)];
    for (const row of await storedAudit()) {
      const text = JSON.stringify(row);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/vmat_|vmak_|v1:/);
    }
  });

  it("writes nothing for a refused change", async () => {
    const tier = await smallestTier();
    const { deployment, defaultToken } = await createDeployment({ tier: tier.id });
    for (let i = 1; i < tier.access_token_limit; i++) {
      await expectJson(await adminFetch("POST", tokensPath(deployment.id), { body: { type: "r", description: `filler ${i}` } }), 201);
    }
    const reader = await createApiKey({ name: "refused reader", access: "r" });
    const refused: [string, string, unknown, number, string?][] = [
      ["POST", tokensPath(deployment.id), { type: "r", description: "one too many" }, 409],
      ["POST", tokensPath(deployment.id), { type: "x", description: "bad" }, 400],
      ["PUT", `/deployments/${deployment.id}`, { type: "cluster" }, 400],
      ["PUT", `${tokensPath(deployment.id)}/${defaultToken.id}`, { description: "changed" }, 405],
      ["GET", `${tokensPath(deployment.id)}/${defaultToken.id}`, undefined, 403, reader.value],
      ["DELETE", `/deployments/${deployment.id}`, undefined, 403, reader.value],
      ["POST", "/api_keys", { name: "x", access: "admin" }, 400],
      ["DELETE", "/api_keys/00000000-0000-4000-8000-000000000000", undefined, 404],
      ["GET", `${tokensPath(deployment.id)}/00000000-0000-4000-8000-000000000000/examples`, undefined, 404],
    ];
    for (const [method, path, body, status, key] of refused) {
      const before = { tables: await tableCounts(), kv: await kvKeyCount() };
      const res = await adminFetch(method, path, { body, key });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
    }
  });
});

describe("GET /api/v1/audit", () => {
  it("filters by deployment, actor, action and time range, newest first", async () => {
    const { deployment: a, defaultToken } = await createDeployment({ name: "audit a" });
    const { deployment: b } = await createDeployment({ name: "audit b" });
    const helper = await createApiKey({ name: "filter actor" });
    await adminFetch("GET", `${tokensPath(a.id)}/${defaultToken.id}`, { key: helper.value });
    const marker = new Date().toISOString();
    await adminFetch("PUT", `/deployments/${a.id}`, { key: helper.value, body: { name: "audit a2" } });

    const forA = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?deployment_id=${a.id}`), 200);
    // createDeployment revealed the default token once itself.
    expect(forA.map((e) => e.action)).toEqual(["deployment.update", "access_token.reveal", "access_token.reveal", "access_token.create", "deployment.create"]);
    expect(forA.every((e) => e.deployment_id === a.id)).toBe(true);
    const ids = forA.map((e) => e.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);

    const byHelper = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?actor_id=${helper.id}`), 200);
    expect(byHelper.map((e) => e.action)).toEqual(["deployment.update", "access_token.reveal"]);
    const reveals = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?actor_id=${helper.id}&action=access_token.reveal`), 200);
    expect(reveals).toHaveLength(1);

    const since = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?deployment_id=${a.id}&since=${encodeURIComponent(marker)}`), 200);
    const until = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?deployment_id=${a.id}&until=${encodeURIComponent(marker)}`), 200);
    expect(since.length + until.length).toBe(forA.length);
    for (const e of since) expect(Date.parse(e.at)).toBeGreaterThanOrEqual(Date.parse(marker));
    for (const e of until) expect(Date.parse(e.at)).toBeLessThan(Date.parse(marker));

    const forB = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?deployment_id=${b.id}&actor_id=${helper.id}`), 200);
    expect(forB).toEqual([]);
  });

  it("pages with limit and cursor through Link, newest first, without gaps or repeats", async () => {
    const { deployment } = await createDeployment({ name: "paged audit" });
    for (let i = 0; i < 6; i++) await adminFetch("PUT", `/deployments/${deployment.id}`, { body: { name: `paged ${i}` } });
    const whole = await expectJson<AuditEntryJson[]>(await adminFetch("GET", `/audit?deployment_id=${deployment.id}&limit=1000`), 200);
    expect(whole).toHaveLength(9); // create ×2, the helper's reveal, 6 updates
    const { items, pages } = await fetchAllPages<AuditEntryJson>(`/audit?deployment_id=${deployment.id}&limit=3`);
    expect(pages).toBe(3);
    expect(items).toEqual(whole);
  });

  it("returns at most 100 entries without limit, with a Link to the rest", async () => {
    const { deployment } = await createDeployment({ name: "busy" });
    for (let i = 0; i < 101; i++) await adminFetch("PUT", `/deployments/${deployment.id}`, { body: { name: `busy ${i}` } });
    const res = await adminFetch("GET", `/audit?deployment_id=${deployment.id}`);
    expect(await expectJson<AuditEntryJson[]>(res, 200)).toHaveLength(100);
    expect(res.headers.get("link")).toMatch(/rel="next"$/);
  });

  it("shows a scoped key only entries about its deployments", async () => {
    const { deployment: mine } = await createDeployment({ name: "scope mine" });
    const { deployment: other } = await createDeployment({ name: "scope other" });
    const { value: key } = await createApiKey({ name: "scoped auditor", access: "r", deployment_ids: [mine.id] });
    const { items } = await fetchAllPages<AuditEntryJson>("/audit?limit=1000", key);
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((e) => e.deployment_id === mine.id)).toBe(true);
    expect(await expectJson(await adminFetch("GET", `/audit?deployment_id=${other.id}`, { key }), 200)).toEqual([]);
  });

  it.each([
    ["an unknown parameter", "?deployment=x", "deployment", /unknown field/],
    ["a limit of 0", "?limit=0", "limit", /integer from 1 to 1000/],
    ["a limit over 1000", "?limit=1001", "limit", /integer from 1 to 1000/],
    ["a non-numeric limit", "?limit=ten", "limit", /integer from 1 to 1000/],
    ["a negative limit", "?limit=-1", "limit", /integer from 1 to 1000/],
    ["a time without zone", "?since=2026-01-01T00:00:00", "since", /RFC 3339/],
    ["a date only", "?until=2026-01-01", "until", /RFC 3339/],
    ["an unknown action", "?action=token.delete", "action", /must be one of/],
    ["a cursor this API did not issue", "?cursor=abc", "cursor", /not a cursor this list issued/],
    ["a cursor from another list", `?cursor=${btoa(JSON.stringify([1, "x"]))}`, "cursor", /not a cursor this list issued/],
    ["a repeated parameter", "?actor_id=a&actor_id=b", "actor_id", /must be a string/],
  ])("refuses %s with 400 naming the parameter", async (_name, query, field, rule) => {
    const body = await expectJson<Record<string, string>>(await adminFetch("GET", `/audit${query}`), 400);
    expect(body).toEqual({ error: "invalid_request", message: expect.stringMatching(new RegExp(`^${field}: `)), field });
    expect(body.message).toMatch(rule);
  });
});
