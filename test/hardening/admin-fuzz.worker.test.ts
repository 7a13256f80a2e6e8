import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../src/token/crypto";
import { API_KEY_PREFIX, generateSecret } from "../../src/token/format";
import { runSettings } from "./lib/requests";

/**
 * Management-plane fuzz: generated methods, paths (real and made-up ids), query strings, headers
 * (every kind of API key, every Content-Type) and bodies (around each schema, and anything JSON or
 * not) against every endpoint. Never a 5xx; on every 4xx the store is exactly as before — every D1
 * row of every table and every KV key and value, not only counts. Small fixed-seed count in
 * `npm test`; `node scripts/hardening-long.mjs admin` runs the large one.
 */

const BOOTSTRAP = "test-admin-key";
const worker = exports as unknown as { default: { fetch(input: string | Request, init?: RequestInit): Promise<Response> } };

interface Fixtures {
  deployments: string[];
  tokens: { deployment: string; id: string }[];
  apiKeys: string[];
  keys: Record<string, string>;
}
const fx: Fixtures = { deployments: [], tokens: [], apiKeys: [], keys: {} };
const stats = { cases: 0, byStatus: {} as Record<number, number>, unchangedOn4xx: 0, failures: 0 };

async function admin(method: string, path: string, body?: unknown, key = BOOTSTRAP): Promise<Record<string, unknown>> {
  const res = await worker.default.fetch(`http://authorizer.test/admin/api/v1${path}`, {
    method,
    headers: { "x-vm-cloud-access": key, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Every row of every table and every KV entry, as one comparable string. */
async function storeSnapshot(): Promise<string> {
  const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name").all<{ name: string }>()).results;
  const out: Record<string, unknown> = {};
  for (const { name } of tables) {
    // last_used_at is written by Durable Objects in the background; no data-plane traffic here, but be exact about why.
    out[name] = (await env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()).results;
  }
  const kv: [string, string | null][] = [];
  let cursor: string | undefined;
  do {
    const page = await env.TOKENS_KV.list({ cursor });
    for (const k of page.keys) kv.push([k.name, await env.TOKENS_KV.get(k.name)]);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  out.kv = kv;
  return JSON.stringify(out);
}

async function insertKeyRow(name: string, fields: { access: "r" | "rw"; deployment_ids?: string[]; expires_at?: number; revoked_at?: number }): Promise<string> {
  const secret = generateSecret(API_KEY_PREFIX);
  await env.DB.prepare(
    "INSERT INTO api_keys (id, name, key_hash, access, deployment_ids, expires_at, revoked_at, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'fuzz')",
  )
    .bind(crypto.randomUUID(), name, await hashSecret(secret), fields.access, fields.deployment_ids ? JSON.stringify(fields.deployment_ids) : null, fields.expires_at ?? null, fields.revoked_at ?? null, Date.now())
    .run();
  return secret;
}

beforeAll(async () => {
  for (const [i, type] of (["single_node", "cluster", "single_node"] as const).entries()) {
    const body = type === "single_node" ? { name: `fuzz ${i}`, type, tier: 22, upstream_url: "http://vm.fuzz.test" } : { name: `fuzz ${i}`, type, tier: 41, insert_url: "http://i.fuzz.test", select_url: "http://s.fuzz.test" };
    const d = await admin("POST", "/deployments", body);
    fx.deployments.push(d.id as string);
    const t = await admin("POST", `/deployments/${d.id}/access_tokens`, { type: "r", description: "fuzz", ...(type === "cluster" ? { tenant_id: "1:2" } : {}) });
    fx.tokens.push({ deployment: d.id as string, id: t.id as string });
  }
  // The keys the fuzz authenticates with are not among the ids it addresses, so it cannot revoke
  // them; these victims it may.
  const rw = await admin("POST", "/api_keys", { name: "fuzz rw", access: "rw" });
  for (const access of ["rw", "r", "rw"]) fx.apiKeys.push((await admin("POST", "/api_keys", { name: `victim ${access}`, access })).id as string);
  fx.keys = {
    bootstrap: BOOTSTRAP,
    rw: rw.value as string,
    readOnly: await insertKeyRow("fuzz r", { access: "r" }),
    scoped: await insertKeyRow("fuzz scoped", { access: "rw", deployment_ids: [fx.deployments[0]!] }),
    expired: await insertKeyRow("fuzz expired", { access: "rw", expires_at: Date.now() - 1000 }),
    revoked: await insertKeyRow("fuzz revoked", { access: "rw", revoked_at: Date.now() - 1000 }),
    wellFormedUnknown: generateSecret(API_KEY_PREFIX),
    junk: "not-a-key",
    empty: "",
    nearBootstrap: `${BOOTSTRAP}x`,
  };
});

afterAll(() => {
  console.log(`HARDENING admin-fuzz ${JSON.stringify(stats)}`);
});

// ---- Generators -------------------------------------------------------------------------------

const WEIRD_IDS = ["", "%2e%2e", "..", "x".repeat(300), "00000000-0000-0000-0000-000000000000", "%00", "null", "1", "-1", "' OR 1=1 --", "%F0%9F%92%A9", "a%2Fb", "__proto__", "constructor"];
const idArb = (real: () => string[]) => fc.oneof({ arbitrary: fc.constant("REAL"), weight: 3 }, fc.constantFrom(...WEIRD_IDS), fc.uuid()).map((v) => (v === "REAL" ? (real()[0] ?? "none") : v));
const pickReal = <T>(xs: T[], n: number) => xs[n % Math.max(1, xs.length)];

const pathArb = fc.tuple(fc.nat(), idArb(() => []), fc.nat(50)).chain(([which, weird, n]) => {
  const dep = () => pickReal(fx.deployments, n) ?? "none";
  const tok = () => pickReal(fx.tokens, n) ?? { deployment: "none", id: "none" };
  const anyId = fc.oneof(fc.constant("REAL"), fc.constantFrom(...WEIRD_IDS), fc.uuid());
  return fc.tuple(anyId, anyId).map(([a, b]) => {
    const d = a === "REAL" ? dep() : a;
    const t = b === "REAL" ? tok().id : b;
    const td = a === "REAL" && b === "REAL" ? tok().deployment : d;
    const key = b === "REAL" ? (pickReal(fx.apiKeys, n) ?? "none") : b;
    const paths = [
      "/admin/api/v1/tiers",
      "/admin/api/v1/deployments",
      `/admin/api/v1/deployments/${d}`,
      `/admin/api/v1/deployments/${d}/access_tokens`,
      `/admin/api/v1/deployments/${td}/access_tokens/${t}`,
      `/admin/api/v1/deployments/${td}/access_tokens/${t}/examples`,
      `/admin/api/v1/deployments/${td}/access_tokens/${t}/rotate`,
      "/admin/api/v1/api_keys",
      `/admin/api/v1/api_keys/${key}`,
      "/admin/api/v1/audit",
      "/admin/openapi.json",
      `/admin/api/v1/${weird}`,
      `/admin/${weird}`,
      "/admin/api/v1/deployments/",
      "/admin/api/v1//deployments",
      "/admin/api/v1/DEPLOYMENTS",
    ];
    // The real endpoints (the first eleven) three times as often as the made-up ones.
    const weighted = [...paths.slice(0, 11), ...paths.slice(0, 11), ...paths];
    return weighted[which % weighted.length]!;
  });
});

const QUERY_VALUES = ["1", "0", "1000", "1001", "-1", "abc", "", "9".repeat(30), "%00", "eyJ4Ijox", "WzEsIngiXQ", "W3siYSI6MX0sMV0", "2026-01-01T00:00:00Z", "275760-09-13T00:00:00Z", "+275760-09-13T00:00:00.001Z", "deployment.create", "x".repeat(600)];
const queryArb = fc
  .array(fc.tuple(fc.constantFrom("limit", "cursor", "deployment_id", "actor_id", "action", "since", "until", "foo", "limit"), fc.constantFrom(...QUERY_VALUES)), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? "" : "?" + pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")));

const fieldArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    "r", "w", "rw", "single_node", "cluster", 20, 21, 40, 42, 0, -1, 4294967296, 1.5, "20", "", " ", "\u0000", "\ud800", "a\u0085b", "é".repeat(200), "x".repeat(3000),
    "http://vm.fuzz.test", "https://user:pw@vm.fuzz.test", "http://vm.fuzz.test/?q", "javascript:alert(1)", "http://[::1]:8428", "http://vm.fuzz.test/" + "a".repeat(2100),
    "1:2", "01", "multitenant", "4294967295:4294967295", "2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "yesterday", [], ["x"], [""], null, true,
    ["10.0.0.0/8"], ["10.1.2.3/8"], ["fe80::1%eth0"], ["::ffff:10.0.0.0/104", "10.0.0.0/8"], { team: "a" }, { __name__: "x" }, { vm_account_id: "1" }, { "a-b": "c" }, { team: "a\nb" },
    2592000, 2592001,
  ),
);
/** A valid body of each kind with one field replaced, dropped or added: gets past the first check. */
const VALID_BODIES: Record<string, unknown>[] = [
  { name: "fuzzed", type: "single_node", tier: 20, upstream_url: "http://vm.fuzz.test" },
  { name: "fuzzed", type: "cluster", tier: 40, insert_url: "http://i.fuzz.test", select_url: "http://s.fuzz.test" },
  { type: "rw", description: "fuzzed" },
  { type: "w", description: "fuzzed", tenant_id: "7:9" },
  { name: "fuzzed", access: "rw" },
  { name: "fuzzed", access: "r", deployment_ids: ["REAL"], expires_at: "2099-01-01T00:00:00Z" },
  { name: "renamed" },
  { tier: 21 },
  { type: "w", description: "fuzzed", expires_at: "2099-01-01T00:00:00Z", allowed_networks: ["10.0.0.0/8"], labels: { team: "a" } },
  { overlap_seconds: 60 },
];
/** Which of VALID_BODIES fit a path. */
function bodyKindsOf(path: string): number[] {
  if (/\/deployments$/.test(path)) return [0, 1];
  if (/\/access_tokens$/.test(path)) return [2, 3, 8];
  if (/\/rotate$/.test(path)) return [9];
  if (/\/api_keys$/.test(path)) return [4, 5];
  if (/\/deployments\/[^/]*$/.test(path)) return [6, 7];
  return VALID_BODIES.map((_, i) => i);
}
const nearValidArb = (path: string) => fc
  .tuple(fc.constantFrom(...bodyKindsOf(path)), fc.constantFrom("keep", "keep", "keep", "replace", "replace", "drop", "add"), fc.nat(10), fieldArb, fc.nat(50))
  .map(([i, op, f, value, n]) => {
    const body: Record<string, unknown> = structuredClone(VALID_BODIES[i]!);
    if (Array.isArray(body.deployment_ids)) body.deployment_ids = [pickReal(fx.deployments, n) ?? "none"];
    const keys = Object.keys(body);
    const key = keys[f % keys.length]!;
    if (op === "replace") body[key] = value;
    else if (op === "drop") delete body[key];
    else if (op === "add") body[["extra", "id", "value", "created_at", "tenant_id", "type"][f % 6]!] = value;
    return JSON.stringify(body);
  });
const bodyArb = (path: string) => fc.oneof(
  { arbitrary: nearValidArb(path), weight: 4 },
  fc.record(
    { name: fieldArb, type: fieldArb, tier: fieldArb, upstream_url: fieldArb, insert_url: fieldArb, select_url: fieldArb },
    { requiredKeys: [] },
  ).map((o) => JSON.stringify(o)),
  fc.record({ type: fieldArb, description: fieldArb, tenant_id: fieldArb }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ name: fieldArb, access: fieldArb, deployment_ids: fieldArb, expires_at: fieldArb }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom("", "{", "{}", "[]", "null", '{"__proto__":{"admin":true}}', '{"name":"a","name":"b"}', "\u0000", '{"a":' + "[".repeat(5000) + "]".repeat(5000) + "}", "x".repeat(70_000)),
  fc.string({ maxLength: 50 }),
);

/** The methods each path serves (per /admin/openapi.json); the fuzz uses them most of the time. */
function methodsOf(path: string): string[] {
  if (/\/(deployments|api_keys)$/.test(path)) return ["GET", "POST"];
  if (/\/access_tokens$/.test(path)) return ["GET", "POST"];
  if (/\/access_tokens\/[^/]*$/.test(path)) return ["GET", "DELETE"];
  if (/\/rotate$/.test(path)) return ["POST"];
  if (/\/deployments\/[^/]*$/.test(path)) return ["GET", "PUT", "DELETE"];
  if (/\/api_keys\/[^/]*$/.test(path)) return ["GET", "DELETE"];
  return ["GET"];
}

const requestArb = pathArb.chain((path) => fc.record({
  methodRoll: fc.nat(9),
  anyMethod: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
  path: fc.constant(path),
  query: queryArb,
  key: fc.constantFrom(...Array<string>(10).fill("bootstrap"), "rw", "rw", "rw", "readOnly", "readOnly", "scoped", "expired", "revoked", "wellFormedUnknown", "junk", "empty", "nearBootstrap", "none"),
  contentType: fc.constantFrom("application/json", "application/json", "application/json", "application/json; charset=utf-8", "application/vnd.api+json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "none", "none"),
  body: fc.option(bodyArb(path), { nil: undefined, freq: 4 }),
  cfRay: fc.option(fc.constantFrom("abc-123", "x".repeat(100), "<script>", "a b"), { nil: undefined }),
}));

// ---- Property ---------------------------------------------------------------------------------

let snapshot: string | undefined;

describe("management plane fuzz", () => {
  const { numRuns, seed } = runSettings(300);
  it("never answers 5xx, and a 4xx changes nothing in D1 or KV", async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (gen) => {
        const methods = methodsOf(gen.path);
        const r = { ...gen, method: gen.methodRoll < 7 ? methods[gen.methodRoll % methods.length]! : gen.anyMethod };
        const headers = new Headers();
        if (r.key !== "none") headers.set("x-vm-cloud-access", fx.keys[r.key]!);
        if (r.contentType !== "none") headers.set("content-type", r.contentType);
        if (r.cfRay !== undefined) {
          try {
            headers.set("cf-ray", r.cfRay);
          } catch {
            // not a ByteString: a client could not send it either
          }
        }
        const hasBody = r.body !== undefined && r.method !== "GET" && r.method !== "HEAD";
        // The store changes only through this loop (no data-plane traffic here, so no Durable
        // Object writes last_used_at): the snapshot taken after the previous case is "before".
        const before = (snapshot ??= await storeSnapshot());
        const res = await worker.default.fetch(`http://authorizer.test${r.path}${r.query}`, { method: r.method, headers, body: hasBody ? r.body : undefined });
        const text = await res.text();
        stats.cases++;
        stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
        const problems: string[] = [];
        if (res.status >= 500) problems.push(`answered ${res.status}: ${text.slice(0, 300)}`);
        const after = await storeSnapshot();
        snapshot = after;
        if (res.status >= 400 && res.status < 500) {
          if (after !== before) problems.push(`a ${res.status} changed the store`);
          else stats.unchangedOn4xx++;
          if (r.method !== "HEAD") {
            let body: { error?: unknown; message?: unknown } = {};
            try {
              body = JSON.parse(text) as typeof body;
            } catch {
              problems.push(`a ${res.status} without a JSON body: ${text.slice(0, 200)}`);
            }
            if (typeof body.error !== "string" || typeof body.message !== "string") problems.push(`a ${res.status} without error/message: ${text.slice(0, 200)}`);
          }
        }
        // Track what successes created, so later cases can use (and delete) it.
        if (res.status === 201 && r.method === "POST") {
          const created = JSON.parse(text) as { id?: string; value?: string };
          if (r.path.endsWith("/deployments") && created.id) fx.deployments.push(created.id);
          else if ((r.path.endsWith("/access_tokens") || r.path.endsWith("/rotate")) && created.id) fx.tokens.push({ deployment: r.path.split("/")[5]!, id: created.id });
          else if (r.path.endsWith("/api_keys") && created.id) fx.apiKeys.push(created.id);
        }
        if (problems.length > 0) {
          stats.failures++;
          throw new Error(`${r.method} ${r.path}${r.query} key=${r.key} ct=${r.contentType} body=${String(r.body).slice(0, 200)}\n  ${problems.join("\n  ")}`);
        }
      }),
      { numRuns, seed },
    );
    expect(stats.unchangedOn4xx).toBeGreaterThan(stats.cases / 3);
  }, 60_000 + numRuns * 30);
});
