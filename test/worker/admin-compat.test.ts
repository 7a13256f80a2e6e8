import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, createApiKey, createDeployment, workerFetch } from "./helpers/admin";

/**
 * Contract with the VictoriaMetrics Cloud API Go client (github.com/VictoriaMetrics/
 * victoriametrics-cloud-api-go, package v1), which the Terraform provider uses too. This file
 * issues exactly the requests its tier and access-token calls make and decodes the answers with
 * the field set of its structs — more strictly than encoding/json does:
 *
 * - URL: `parsedURL.JoinPath("/api/v1/deployments", id, "access_tokens", tokenId)` on the base URL
 *   the user gives, which has its own path here (`<worker>/admin`).
 * - Headers: only `X-VM-Cloud-Access: <key>`; net/http adds User-Agent, Accept-Encoding and
 *   Content-Length. No Content-Type, not even on POST.
 * - Body: `json.Marshal(AccessTokenCreateRequest)` — fields in struct order, `tenant_id`
 *   `omitempty`, `<`, `>` and `&` escaped as \u003c, \u003e, \u0026.
 * - Answer: any 2xx is success; an empty body is not decoded; otherwise json.Unmarshal into the
 *   struct. Here every field without `omitempty` must be present, every present field must have
 *   the Go type (uint32/int ranges, RFC 3339 for time.Time), and no field may be unknown.
 */

type GoType = "string" | "int" | "uint32" | "float64" | "time.Time" | "*time.Time";
type GoStruct = Record<string, { type: GoType; omitempty?: boolean }>;

// v1/model.go
const AccessToken: GoStruct = {
  id: { type: "string" },
  value: { type: "string" },
  type: { type: "string" },
  description: { type: "string" },
  created_by: { type: "string" },
  created_at: { type: "time.Time" },
  tenant_id: { type: "string", omitempty: true },
  last_used_at: { type: "*time.Time", omitempty: true },
};

// TierInfo = TierInfoCommon + MetricsTierInfo for single_node and cluster tiers.
const TierInfo: GoStruct = {
  id: { type: "uint32" },
  type: { type: "string" },
  cloud_provider: { type: "string" },
  name: { type: "string" },
  compute_cost_per_hour: { type: "float64" },
  access_token_concurrent_requests: { type: "int" },
  access_token_limit: { type: "int" },
  ingestion_rate: { type: "int" },
  active_time_series: { type: "int" },
  new_series_over_24h: { type: "int" },
  datapoints_read_rate: { type: "int" },
  series_read_per_query: { type: "int" },
};

// time.Time.UnmarshalJSON: RFC 3339 with optional fractional seconds.
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function decodeValue(value: unknown, type: GoType, where: string): void {
  const fail = (why: string) => {
    throw new Error(`${where}: ${why} (got ${JSON.stringify(value)})`);
  };
  switch (type) {
    case "string":
      if (typeof value !== "string") fail("want a JSON string");
      break;
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > 2 ** 63) fail("want an integer");
      break;
    case "uint32":
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) fail("want a uint32");
      break;
    case "float64":
      if (typeof value !== "number") fail("want a number");
      break;
    case "time.Time":
    case "*time.Time":
      if (typeof value !== "string" || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) fail("want an RFC 3339 time");
      break;
  }
}

function decodeStruct(value: unknown, struct: GoStruct, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where}: want a JSON object`);
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!(key in struct)) throw new Error(`${where}: unknown field ${key}`);
  }
  for (const [key, field] of Object.entries(struct)) {
    if (!(key in object)) {
      if (!field.omitempty) throw new Error(`${where}: missing field ${key}`);
      continue;
    }
    // An omitempty field is left out when empty, never sent as "" or null.
    if (field.omitempty && (object[key] === "" || object[key] === null)) throw new Error(`${where}: ${key} sent empty instead of omitted`);
    decodeValue(object[key], field.type, `${where}.${key}`);
  }
  return object;
}

function decodeList(value: unknown, struct: GoStruct, where: string): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw new Error(`${where}: want a JSON array`);
  return value.map((item, i) => decodeStruct(item, struct, `${where}[${i}]`));
}

/** Go's json.Marshal string escaping (HTMLEscape on by default). */
function goJsonMarshal(fields: [string, string][]): string {
  const escaped = fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")}`);
  return `{${escaped.join(",")}}`;
}

/** path.Join + JoinPath's "keep one trailing slash" rule. */
function joinPath(base: URL, ...elements: string[]): URL {
  const parts = [base.pathname, ...elements].join("/").split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  let path = `/${out.join("/")}`;
  if (elements.at(-1)?.endsWith("/") && !path.endsWith("/")) path += "/";
  const url = new URL(base.href);
  url.pathname = path;
  return url;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The client, request for request (v1/client.go, v1/utils.go requestAPI). */
class GoClient {
  readonly sent: { method: string; url: string; headers: Record<string, string>; body: string | null }[] = [];
  private readonly base: URL;
  constructor(
    private readonly apiKey: string,
    baseUrl: string,
  ) {
    this.base = new URL(baseUrl);
  }

  private async request(method: string, body: string | null, ...path: string[]): Promise<unknown> {
    const url = joinPath(this.base, ...path).href;
    const headers: Record<string, string> = { "X-VM-Cloud-Access": this.apiKey, "User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip" };
    if (body !== null) headers["Content-Length"] = String(new TextEncoder().encode(body).length);
    this.sent.push({ method, url, headers, body });
    // A byte body: fetch adds no Content-Type, as net/http adds none.
    const res = await workerFetch(url, { method, headers, body: body === null ? null : new TextEncoder().encode(body) });
    const text = await res.text();
    if (Math.floor(res.status / 100) !== 2) throw new Error(`unexpected status code: ${res.status}, body: ${text}`);
    return text.length > 0 ? JSON.parse(text) : undefined;
  }

  private static checkDeploymentId(id: string): void {
    if (!UUID.test(id)) throw new Error(`invalid deployment ID format: ${id}`);
  }

  async listTiers() {
    return decodeList(await this.request("GET", null, "/api/v1/tiers"), TierInfo, "TierInfoList");
  }
  async listDeploymentAccessTokens(deploymentId: string) {
    GoClient.checkDeploymentId(deploymentId);
    return decodeList(await this.request("GET", null, "/api/v1/deployments", deploymentId, "access_tokens"), AccessToken, "AccessTokensList");
  }
  async createDeploymentAccessToken(deploymentId: string, req: { type: string; description: string; tenant_id?: string }) {
    GoClient.checkDeploymentId(deploymentId);
    const fields: [string, string][] = [["type", req.type], ["description", req.description]];
    if (req.tenant_id) fields.push(["tenant_id", req.tenant_id]);
    return decodeStruct(await this.request("POST", goJsonMarshal(fields), "/api/v1/deployments", deploymentId, "access_tokens"), AccessToken, "AccessToken");
  }
  async revealDeploymentAccessToken(deploymentId: string, tokenId: string) {
    GoClient.checkDeploymentId(deploymentId);
    return decodeStruct(await this.request("GET", null, "/api/v1/deployments", deploymentId, "access_tokens", tokenId), AccessToken, "AccessToken");
  }
  async deleteDeploymentAccessToken(deploymentId: string, tokenId: string): Promise<void> {
    GoClient.checkDeploymentId(deploymentId);
    await this.request("DELETE", null, "/api/v1/deployments", deploymentId, "access_tokens", tokenId);
  }
}

describe("VictoriaMetrics Cloud API Go client against base URL <worker>/admin", () => {
  for (const base of ["http://authorizer.test/admin", "http://authorizer.test/admin/"]) {
    it(`lists tiers (base ${base})`, async () => {
      const client = new GoClient(ADMIN_KEY, base);
      const tiers = await client.listTiers();
      expect(tiers.length).toBeGreaterThan(0);
      expect(client.sent[0]!.url).toBe("http://authorizer.test/admin/api/v1/tiers");
    });
  }

  it("lists, creates, reveals and deletes access tokens of a single-node deployment", async () => {
    const { deployment } = await createDeployment();
    const client = new GoClient(ADMIN_KEY, "http://authorizer.test/admin");

    const before = await client.listDeploymentAccessTokens(deployment.id);
    expect(before.map((t) => t.description)).toEqual(["default"]);
    expect(before[0]!.value).toHaveLength(4);

    const created = await client.createDeploymentAccessToken(deployment.id, { type: "rw", description: "CI <main> & nightly" });
    expect(created).toMatchObject({ type: "rw", description: "CI <main> & nightly", created_by: "bootstrap" });
    expect(created).not.toHaveProperty("tenant_id");
    expect(created).not.toHaveProperty("last_used_at");
    const post = client.sent.at(-1)!;
    expect(post.body).toBe('{"type":"rw","description":"CI \\u003cmain\\u003e \\u0026 nightly"}');
    expect(Object.keys(post.headers).map((h) => h.toLowerCase())).not.toContain("content-type");

    const revealed = await client.revealDeploymentAccessToken(deployment.id, created.id as string);
    expect(revealed).toEqual(created);

    const listed = await client.listDeploymentAccessTokens(deployment.id);
    expect(listed.map((t) => t.id)).toEqual([before[0]!.id, created.id]);

    await client.deleteDeploymentAccessToken(deployment.id, created.id as string);
    expect((await client.listDeploymentAccessTokens(deployment.id)).map((t) => t.id)).toEqual([before[0]!.id]);

    expect(client.sent.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      `GET /admin/api/v1/deployments/${deployment.id}/access_tokens`,
      `POST /admin/api/v1/deployments/${deployment.id}/access_tokens`,
      `GET /admin/api/v1/deployments/${deployment.id}/access_tokens/${created.id}`,
      `GET /admin/api/v1/deployments/${deployment.id}/access_tokens`,
      `DELETE /admin/api/v1/deployments/${deployment.id}/access_tokens/${created.id}`,
      `GET /admin/api/v1/deployments/${deployment.id}/access_tokens`,
    ]);
  });

  it("creates a tenant-specific token on a cluster and reads tenant_id back", async () => {
    const { deployment } = await createDeployment({ type: "cluster" });
    const client = new GoClient(ADMIN_KEY, "http://authorizer.test/admin");
    const created = await client.createDeploymentAccessToken(deployment.id, { type: "w", description: "tenant 108", tenant_id: "108:2" });
    expect(created.tenant_id).toBe("108:2");
    expect(client.sent[0]!.body).toBe('{"type":"w","description":"tenant 108","tenant_id":"108:2"}');
    const listed = await client.listDeploymentAccessTokens(deployment.id);
    expect(listed.find((t) => t.id === created.id)).toMatchObject({ tenant_id: "108:2", value: (created.value as string).slice(-4) });
  });

  it("decodes last_used_at as RFC 3339 once a token was used", async () => {
    const { deployment, defaultToken } = await createDeployment();
    await env.DB.prepare("UPDATE access_tokens SET last_used_at = ?1 WHERE id = ?2").bind(Date.UTC(2026, 4, 6, 7, 8, 9, 123), defaultToken.id).run();
    const client = new GoClient(ADMIN_KEY, "http://authorizer.test/admin");
    const [token] = await client.listDeploymentAccessTokens(deployment.id);
    expect(token!.last_used_at).toBe("2026-05-06T07:08:09.123Z");
  });

  it("surfaces refusals as non-2xx, which the client turns into errors", async () => {
    const { deployment } = await createDeployment();
    await expect(new GoClient("wrong-key", "http://authorizer.test/admin").listTiers()).rejects.toThrow(/unexpected status code: 401/);
    const client = new GoClient(ADMIN_KEY, "http://authorizer.test/admin");
    await expect(client.listDeploymentAccessTokens("00000000-0000-4000-8000-000000000000")).rejects.toThrow(/unexpected status code: 404/);
    await expect(client.createDeploymentAccessToken(deployment.id, { type: "rw", description: "x", tenant_id: "1" })).rejects.toThrow(
      /unexpected status code: 400.*tenant_id: only cluster deployments/,
    );
    await expect(client.revealDeploymentAccessToken(deployment.id, "no-such-token")).rejects.toThrow(/unexpected status code: 404/);
  });

  it("works with a stored API key (Terraform-style: base URL + key)", async () => {
    const { deployment } = await createDeployment();
    const key = await createApiKey({ name: "terraform", access: "rw", deployment_ids: [deployment.id] });
    const client = new GoClient(key.value, "http://authorizer.test/admin");
    const created = await client.createDeploymentAccessToken(deployment.id, { type: "r", description: "grafana" });
    expect(created.created_by).toBe("terraform");
    await client.deleteDeploymentAccessToken(deployment.id, created.id as string);
  });
});
