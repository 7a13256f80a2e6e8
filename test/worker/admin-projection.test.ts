import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deleteTokenProjection, loadDeploymentTokenRecords, loadTokenRecord, putTokenProjection, tokenKvKey } from "../../src/store/token-projection";
import { TokenRecord } from "../../src/store/token-record";
import { hashSecret } from "../../src/token/crypto";
import { generateSecret } from "../../src/token/format";
import { adminFetch, createAccessToken, createDeployment } from "./helpers/admin";

// The data path's D1 fallback (src/data/lookup.ts calls it on a KV miss). Storage is shared by
// the tests of this file: each test makes its own deployment.

describe("loadTokenRecord", () => {
  it("returns the record of a live token, the same as its KV projection", async () => {
    const { deployment } = await createDeployment({ type: "cluster" });
    const token = await createAccessToken(deployment.id, { type: "r", tenant_id: "12:34" });
    const hash = await hashSecret(token.value);
    const record = await loadTokenRecord(env.DB, hash);
    expect(record).toEqual({
      v: 1,
      token_id: token.id,
      deployment_id: deployment.id,
      deployment_type: "cluster",
      access: "r",
      tenant_id: "12:34",
      concurrency: 50,
      insert_url: "http://127.0.0.1:8480",
      select_url: "http://127.0.0.1:8481",
    });
    expect(TokenRecord.parse(record)).toEqual(record);
    expect(await env.TOKENS_KV.get(tokenKvKey(hash), "json")).toEqual(record);
  });

  it("returns null for an unknown hash", async () => {
    expect(await loadTokenRecord(env.DB, await hashSecret(generateSecret()))).toBeNull();
  });

  it("returns null once the token is revoked", async () => {
    const { deployment, defaultToken } = await createDeployment();
    await adminFetch("DELETE", `/deployments/${deployment.id}/access_tokens/${defaultToken.id}`);
    expect(await loadTokenRecord(env.DB, await hashSecret(defaultToken.value))).toBeNull();
  });

  it("carries expires_at, before and after the expiry (the data path refuses it as expired, not unknown)", async () => {
    const { defaultToken } = await createDeployment();
    const hash = await hashSecret(defaultToken.value);
    const later = Date.now() + 3_600_000;
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?1 WHERE id = ?2").bind(later, defaultToken.id).run();
    expect(await loadTokenRecord(env.DB, hash)).toMatchObject({ expires_at: later });
    const past = Date.now() - 1;
    await env.DB.prepare("UPDATE access_tokens SET expires_at = ?1 WHERE id = ?2").bind(past, defaultToken.id).run();
    expect(await loadTokenRecord(env.DB, hash)).toMatchObject({ expires_at: past });
  });

  it("returns null once the deployment is deleted", async () => {
    const { deployment, defaultToken } = await createDeployment();
    // Mark deleted directly, without the API's revocation, to test the join itself.
    await env.DB.prepare("UPDATE deployments SET deleted_at = ?1 WHERE id = ?2").bind(Date.now(), deployment.id).run();
    expect(await loadTokenRecord(env.DB, await hashSecret(defaultToken.value))).toBeNull();
  });
});

describe("projection writes", () => {
  it("lists a deployment's usable tokens by hash", async () => {
    const { deployment, defaultToken } = await createDeployment();
    const second = await createAccessToken(deployment.id, { type: "w" });
    const gone = await createAccessToken(deployment.id, { type: "r" });
    await adminFetch("DELETE", `/deployments/${deployment.id}/access_tokens/${gone.id}`);
    const entries = await loadDeploymentTokenRecords(env.DB, deployment.id);
    expect(new Set(entries.map((e) => e.secretHash))).toEqual(new Set([await hashSecret(defaultToken.value), await hashSecret(second.value)]));
  });

  it("puts and deletes a record under token:<hash>, with a KV expiry for expiring tokens", async () => {
    const hash = await hashSecret(generateSecret());
    const record: TokenRecord = { v: 1, token_id: "t", deployment_id: "d", deployment_type: "single_node", access: "r", concurrency: 5, upstream_url: "http://x", expires_at: Date.now() + 3_600_000 };
    await putTokenProjection(env.TOKENS_KV, hash, record);
    const { keys } = await env.TOKENS_KV.list({ prefix: tokenKvKey(hash) });
    expect(keys).toEqual([expect.objectContaining({ name: `token:${hash}`, expiration: Math.floor(record.expires_at! / 1000) })]);
    await deleteTokenProjection(env.TOKENS_KV, hash);
    expect(await env.TOKENS_KV.get(tokenKvKey(hash))).toBeNull();
  });

  it("does not cache a token that expires within a minute", async () => {
    const hash = await hashSecret(generateSecret());
    await putTokenProjection(env.TOKENS_KV, hash, { v: 1, token_id: "t", deployment_id: "d", deployment_type: "single_node", access: "r", concurrency: 5, expires_at: Date.now() + 10_000 });
    expect(await env.TOKENS_KV.get(tokenKvKey(hash))).toBeNull();
  });
});
