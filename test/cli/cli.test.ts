import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ROOT } from "./worker.ts";

// The CLI as operators and CI run it: a child process of the pinned Node against the Worker
// running locally (global-setup.ts), checked by output and exit code only.

const CLI = join(ROOT, "cli/vm-edge-authorizer.mjs");
const url = inject("workerUrl");
const adminKey = inject("adminApiKey");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, VMEA_URL: url, VMEA_API_KEY: adminKey, ...env })) if (v !== undefined) childEnv[k] = v;
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: childEnv, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

async function cliJson<T = Record<string, unknown>>(args: string[], env?: Record<string, string | undefined>): Promise<T> {
  const run = await cli([...args, "--json"], env);
  if (run.code !== 0) throw new Error(`${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** A 127.0.0.1 port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

const onPath = (binary: string) => spawnSync("sh", ["-c", `command -v ${binary}`]).status === 0;

describe("usage", () => {
  it("prints help with exit 0", async () => {
    for (const args of [["--help"], ["-h"], []]) {
      const run = await cli(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: vm-edge-authorizer/);
      expect(run.stdout).toMatch(/Exit codes: 0 ok, 1 refused by the API \(4xx\), 2 usage error, 3 unreachable/);
    }
  });

  it.each([
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["an unknown subcommand", ["tokens", "delete", "a", "b"], /unknown command "tokens delete"/],
    ["an unknown option", ["tiers", "list", "--colour"], /Unknown option '--colour'/],
    ["an option of another command", ["tiers", "list", "--tenant-id", "1"], /tiers list: unknown option --tenant-id/],
    ["a missing argument", ["tokens", "reveal", "d"], /missing <token-id>/],
    ["an extra argument", ["deployments", "get", "a", "b"], /unexpected argument "b"/],
    ["a missing required option", ["tokens", "create", "d", "--type", "r"], /missing --description/],
    ["a non-numeric tier", ["deployments", "create", "--name", "x", "--type", "single_node", "--tier", "big"], /--tier: must be a whole number/],
    ["a relative URL", ["tiers", "list", "--url", "localhost:8787"], /--url: .* not an absolute URL|--url: must be http/],
  ])("exits 2 on %s, without calling the API", async (_name, args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
  });

  it("falls back to the Terraform provider's VMCLOUD_BASE_URL and VMCLOUD_API_KEY", async () => {
    const run = await cli(["tiers", "list", "--json"], { VMEA_URL: undefined, VMEA_API_KEY: undefined, VMCLOUD_BASE_URL: `${url}/admin`, VMCLOUD_API_KEY: adminKey });
    expect(run.code, run.stderr).toBe(0);
  });

  it("takes a value that begins with a dash as the option's value, not as an option", async () => {
    // A generated key is base64url: one in 64 begins with "-". It must reach the API (401, exit 1), not be a usage error.
    const run = await cli(["tiers", "list", "--api-key", "-unknown-key"], { VMEA_API_KEY: undefined });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/401/);
  });

  it("exits 2 without URL or key", async () => {
    const noUrl = await cli(["tiers", "list"], { VMEA_URL: undefined, VMCLOUD_BASE_URL: undefined });
    expect(noUrl).toMatchObject({ code: 2, stderr: expect.stringMatching(/no Worker URL: pass --url or set VMEA_URL/) });
    const noKey = await cli(["tiers", "list"], { VMEA_API_KEY: undefined, VMCLOUD_API_KEY: undefined });
    expect(noKey).toMatchObject({ code: 2, stderr: expect.stringMatching(/no API key/) });
  });

  it("exits 3 when the Worker cannot be reached", async () => {
    const run = await cli(["tiers", "list"], { VMEA_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});

describe("against the running Worker", () => {
  let deploymentId: string;

  beforeAll(async () => {
    const created = await cliJson<{ id: string }>(["deployments", "create", "--name", "cli single", "--type", "single_node", "--tier", "21", "--upstream-url", "http://127.0.0.1:8428"]);
    deploymentId = created.id;
  });

  it("lists tiers as a table and as JSON", async () => {
    const run = await cli(["tiers", "list"]);
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split("\n");
    expect(header!.split(/\s+/)).toEqual(["ID", "NAME", "TYPE", "TOKENS", "CONCURRENCY"]);
    expect(rows.some((r) => /^20\s+s\.starter\.a\s+single_node\s+5\s+50$/.test(r))).toBe(true);
    const tiers = await cliJson<{ id: number }[]>(["tiers", "list"]);
    expect(tiers.map((t) => t.id)).toContain(42);
  });

  it("accepts the URL with /admin, a trailing slash, or as a flag, and the key from a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmea-key-"));
    writeFileSync(join(dir, "key"), `${adminKey}\n`, { mode: 0o600 });
    for (const [args, env] of [
      [["--url", `${url}/admin/`], { VMEA_URL: undefined }],
      [["--url", url, "--api-key", adminKey], { VMEA_URL: undefined, VMEA_API_KEY: undefined }],
      [["--api-key-file", join(dir, "key")], { VMEA_API_KEY: undefined }],
    ] as const) {
      const run = await cli(["deployments", "get", deploymentId, ...args], env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^id\s+/m);
    }
  });

  it("manages tokens: create, list, reveal, examples, revoke", async () => {
    const token = await cliJson<{ id: string; value: string; type: string }>(["tokens", "create", deploymentId, "--type", "rw", "--description", "from the cli"]);
    expect(token.value).toMatch(/^vmat_/);

    const list = await cli(["tokens", "list", deploymentId]);
    expect(list.code).toBe(0);
    const row = list.stdout.split("\n").find((l) => l.startsWith(token.id));
    expect(row).toMatch(new RegExp(`\\srw\\s+-\\s+bootstrap\\s.*\\s…${token.value.slice(-4)}\\s+from the cli$`));
    expect(list.stdout).not.toContain(token.value);

    const reveal = await cli(["tokens", "reveal", deploymentId, token.id]);
    expect(reveal.code).toBe(0);
    expect(reveal.stdout).toMatch(new RegExp(`^value\\s+${token.value}$`, "m"));

    const examples = await cli(["tokens", "examples", deploymentId, token.id]);
    expect(examples.code).toBe(0);
    for (const title of ["## vmagent (write)", "## Prometheus remote_write (write, prometheus.yml)", "## Grafana data source", "## curl (instant query) (read)"]) {
      expect(examples.stdout).toContain(title);
    }

    const revoke = await cli(["tokens", "revoke", deploymentId, token.id]);
    expect(revoke).toMatchObject({ code: 0, stdout: `Revoked access token ${token.id}.\n` });
    const again = await cli(["tokens", "reveal", deploymentId, token.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/404 not_found: This access token was revoked/);
  });

  it("creates a token with --expires-in, --allow and --label, shows the time left, and rotates it", async () => {
    const before = Date.now();
    const token = await cliJson<{ id: string; value: string; expires_at: string; allowed_networks: string[]; labels: Record<string, string> }>([
      "tokens", "create", deploymentId, "--type", "w", "--description", "policies",
      "--expires-in", "30d", "--allow", "10.0.0.0/8", "--allow", "2001:0DB8::/32", "--label", "team=payments", "--label", "env=a=b",
    ]);
    expect(Date.parse(token.expires_at)).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
    expect(Date.parse(token.expires_at)).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    expect(token.allowed_networks).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    expect(token.labels).toEqual({ env: "a=b", team: "payments" });

    const list = await cli(["tokens", "list", deploymentId]);
    const row = list.stdout.split("\n").find((l) => l.startsWith(token.id));
    expect(row).toMatch(/\s(29d 23h|30d) left\s+allow=10\.0\.0\.0\/8,2001:db8::\/32 labels=env=a=b,team=payments\s/);
    const reveal = await cli(["tokens", "reveal", deploymentId, token.id]);
    expect(reveal.stdout).toMatch(/^expires_at\s+\S+ \((29d 23h|30d) left\)$/m);

    const rotated = await cli(["tokens", "rotate", deploymentId, token.id, "--overlap", "1h"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^labels\s+\{"env":"a=b","team":"payments"\}$/m);
    expect(rotated.stdout).toMatch(new RegExp(`The old token ${token.id} works until \\S+ \\((59m \\d+s|1h) left\\)`));

    const refused = await cli(["tokens", "rotate", deploymentId, token.id, "--overlap", "31d"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/400 invalid_request: overlap_seconds: must be from 0 to 2592000/);
    const badLabel = await cli(["tokens", "create", deploymentId, "--type", "w", "--description", "x", "--label", "__name__=up"]);
    expect(badLabel.code).toBe(1);
    expect(badLabel.stderr).toMatch(/400 invalid_request: labels.__name__: /);
  });

  it.each([
    [["--expires-in", "30 days"], /--expires-in: must be a duration/],
    [["--expires-in", "1d", "--expires-at", "2099-01-01T00:00:00Z"], /not both/],
    [["--label", "team"], /--label: "team" must be name=value/],
    [["--label", "a=1", "--label", "a=2"], /--label: a is given twice/],
  ])("refuses tokens create %j as a usage error, sending nothing", async (extra, message) => {
    const run = await cli(["tokens", "create", "dep", "--type", "w", "--description", "x", ...extra]);
    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toMatch(message);
  });

  it("requires --overlap for tokens rotate", async () => {
    const run = await cli(["tokens", "rotate", "dep", "tok"]);
    expect(run).toMatchObject({ code: 2 });
    expect(run.stderr).toMatch(/missing --overlap/);
  });

  it("shows a token's usage as text and --json, and names a bad --step", async () => {
    const token = await cliJson<{ id: string }>(["tokens", "create", deploymentId, "--type", "r", "--description", "usage"]);
    const text = await cli(["tokens", "usage", deploymentId, token.id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^requests\s+0 \(0 refused by the authorizer\)$/m);
    expect(text.stdout).toMatch(/^last_used\s+never$/m);
    const json = await cliJson<{ step: string; total: { requests: number }; points: unknown[]; last_used: unknown }>(["tokens", "usage", deploymentId, token.id, "--step", "1h"]);
    expect(json).toMatchObject({ step: "1h", total: { requests: 0 }, last_used: null });
    expect(json.points.length).toBeGreaterThanOrEqual(24);
    const bad = await cli(["tokens", "usage", deploymentId, token.id, "--step", "7m"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/step/);
    const unknown = await cli(["tokens", "usage", deploymentId, "no-such-token"]);
    expect(unknown.code).toBe(1);
  });

  it("prints one example raw with --only, valid for its real tool", async () => {
    const token = await cliJson<{ id: string; value: string }>(["tokens", "create", deploymentId, "--type", "w", "--description", "snippets"]);
    const dir = mkdtempSync(join(tmpdir(), "vmea-examples-"));

    const prometheus = await cli(["tokens", "examples", deploymentId, token.id, "--only", "prometheus"]);
    expect(prometheus.code).toBe(0);
    expect(parseYaml(prometheus.stdout)).toMatchObject({ remote_write: [{ authorization: { type: "Bearer", credentials: token.value } }] });
    if (onPath("promtool")) {
      const file = join(dir, "prometheus.yml");
      writeFileSync(file, prometheus.stdout);
      const check = spawnSync("promtool", ["check", "config", file], { encoding: "utf8", timeout: 20_000 });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    }

    const vmagent = await cli(["tokens", "examples", deploymentId, token.id, "--only", "vmagent"]);
    expect(vmagent.code).toBe(0);
    expect(vmagent.stdout).toContain(`-remoteWrite.bearerToken=${token.value}`);
    if (onPath("vmagent")) {
      // vmagent parses every flag of the snippet and exits; an unknown flag would fail it.
      const scrape = join(dir, "scrape.yml");
      writeFileSync(scrape, "scrape_configs: []\n");
      const check = spawnSync("sh", ["-c", `${vmagent.stdout.trimEnd()} -dryRun -promscrape.config=${scrape}`], { encoding: "utf8", timeout: 20_000 });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    }

    const missing = await cli(["tokens", "examples", deploymentId, token.id, "--only", "grafana"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no grafana example \(offered: vmagent, prometheus, curl_write\)/);
  });

  it("exits 1 with the API's field and rule on refused input; --json gives the error body", async () => {
    const bad = await cli(["tokens", "create", deploymentId, "--type", "admin", "--description", "x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_request: type: must be one of "r", "w", "rw"/);
    const badJson = await cli(["tokens", "create", deploymentId, "--type", "r", "--description", "x", "--tenant-id", "1", "--json"]);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stderr)).toEqual({ error: "invalid_request", message: expect.stringMatching(/^tenant_id: only cluster/), field: "tenant_id" });
    const unknown = await cli(["deployments", "get", "00000000-0000-4000-8000-000000000000"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 not_found/);
    const wrongKey = await cli(["tiers", "list"], { VMEA_API_KEY: "wrong" });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/401 unauthorized/);
  });

  it("manages API keys; a revoked key exits 1 at once", async () => {
    const key = await cliJson<{ id: string; value: string }>(["api-keys", "create", "--name", "ci pipeline", "--access", "rw", "--deployment", deploymentId, "--expires-at", "2099-01-01T00:00:00Z"]);
    expect(key.value).toMatch(/^vmak_/);
    const list = await cli(["api-keys", "list"]);
    expect(list.stdout.split("\n").find((l) => l.startsWith(key.id))).toMatch(new RegExp(`ci pipeline\\s+rw\\s+${deploymentId}\\s+2099-01-01T00:00:00.000Z\\s+bootstrap`));

    // The new key works, limited to its deployment.
    const asKey = { VMEA_API_KEY: key.value };
    const mine = await cliJson<{ id: string }[]>(["deployments", "list"], asKey);
    expect(mine.map((d) => d.id)).toEqual([deploymentId]);
    const token = await cliJson<{ created_by: string }>(["tokens", "create", deploymentId, "--type", "r", "--description", "by ci"], asKey);
    expect(token.created_by).toBe("ci pipeline");

    expect((await cli(["api-keys", "revoke", key.id])).code).toBe(0);
    const refused = await cli(["deployments", "list"], asKey);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/401 unauthorized: .*was revoked/);
  });

  it("reads the audit log, filtered and paged", async () => {
    const table = await cli(["audit", "--deployment", deploymentId]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]!.split(/\s+/)).toEqual(["AT", "ACTION", "ACTOR", "TARGET", "DEPLOYMENT", "REQUEST", "DETAIL"]);
    expect(table.stdout).toMatch(/deployment\.create\s+bootstrap \(bootstrap\)\s+deployment\//);

    const whole = await cliJson<{ id: number }[]>(["audit", "--deployment", deploymentId]);
    const paged = await cliJson<{ id: number }[]>(["audit", "--deployment", deploymentId, "--limit", "2", "--all"]);
    expect(paged).toEqual(whole);
    const firstPage = await cliJson<unknown[]>(["audit", "--deployment", deploymentId, "--limit", "2"]);
    expect(firstPage).toHaveLength(2);

    const bad = await cli(["audit", "--since", "yesterday"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/since: must be an RFC 3339 time/);
  });

  it("updates and deletes a deployment", async () => {
    const created = await cliJson<{ id: string }>(["deployments", "create", "--name", "short-lived", "--type", "cluster", "--tier", "40", "--insert-url", "http://vminsert:8480", "--select-url", "http://vmselect:8481"]);
    const updated = await cliJson<{ name: string; tier: number }>(["deployments", "update", created.id, "--name", "renamed", "--tier", "41"]);
    expect(updated).toMatchObject({ name: "renamed", tier: 41 });
    const nothing = await cli(["deployments", "update", created.id]);
    expect(nothing.code).toBe(2);
    const del = await cli(["deployments", "delete", created.id]);
    expect(del).toMatchObject({ code: 0, stdout: `Deleted deployment ${created.id}; its tokens are revoked.\n` });
    expect((await cli(["deployments", "get", created.id])).code).toBe(1);
  });

  it("explains what the data path would do with a request: allowed with its upstream URL, or refused with status and code", async () => {
    const token = await cliJson<{ id: string }>(["tokens", "create", deploymentId, "--type", "r", "--description", "explain", "--label", "team=payments", "--allow", "10.0.0.0/8"]);
    const allowed = await cli(["tokens", "explain", deploymentId, token.id, "GET", "/api/v1/query?query=up", "--client-address", "10.1.2.3"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/^allowed: a read request, forwarded to http:\/\/127\.0\.0\.1:8428\/api\/v1\/query\?query=up&extra_label=team=payments$/m);
    expect(allowed.stdout).toMatch(/^not_checked\s+concurrency_limit, body_size, upstream$/m);

    const refused = await cliJson<{ decision: string; status: number; code: string }>(["tokens", "explain", deploymentId, token.id, "POST", "/api/v1/write"]);
    expect(refused).toMatchObject({ decision: "refused", status: 403, code: "insufficient_access" });
    const outside = await cli(["tokens", "explain", deploymentId, token.id, "GET", "/api/v1/query", "--client-address", "11.0.0.1"]);
    expect(outside.code).toBe(0);
    expect(outside.stdout).toMatch(/^refused: 403 address_not_allowed: /);

    const missing = await cli(["tokens", "explain", deploymentId, token.id, "GET"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing <path>/);
    const unknown = await cli(["tokens", "explain", deploymentId, "no-such-token", "GET", "/api/v1/query"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 not_found/);
  });

  it("prints the OpenAPI document without a key", async () => {
    const run = await cli(["openapi"], { VMEA_API_KEY: undefined });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ openapi: "3.0.3", servers: [{ url: `${url}/admin` }] });
  });
});
