import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { routeRequest } from "../../src/policy/route";
import {
  type AccessTokenJson,
  type DeploymentJson,
  adminFetch,
  createAccessToken,
  createApiKey,
  createDeployment,
  expectJson,
  kvKeyCount,
  storedAudit,
  tableCounts,
} from "./helpers/admin";

// Storage is shared by the tests of one file: each test makes its own deployment.

interface Snippet {
  id: string;
  tab: "write" | "read";
  title: string;
  language: "shell" | "yaml";
  filename?: string;
  content: string;
}

interface Examples {
  token_id: string;
  deployment_id: string;
  deployment_type: "single_node" | "cluster";
  access: "r" | "w" | "rw";
  tenant_id?: string;
  write_url?: string;
  read_url?: string;
  notes: string[];
  examples: Snippet[];
}

const endpoint = () => env.ACCESS_ENDPOINT.replace(/\/+$/, "");
const examplesPath = (d: string, t: string) => `/deployments/${d}/access_tokens/${t}/examples`;

/** A YAML document parsed strictly: any syntax error, warning or duplicate key fails the test. */
function parseYaml(text: string): Record<string, unknown> {
  const doc = parseDocument(text, { strict: true, uniqueKeys: true, prettyErrors: false });
  expect(doc.errors.map(String)).toEqual([]);
  expect(doc.warnings.map(String)).toEqual([]);
  return doc.toJS() as Record<string, unknown>;
}

/**
 * Splits a POSIX shell snippet into commands of words: `#` comments, backslash-newline
 * continuations, single and double quotes and backslash escapes — enough to read the snippets
 * exactly as sh would, and to fail on anything unbalanced.
 */
function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\" && text[i + 1] === "\n") {
      i++;
      continue;
    }
    if (ch === "#" && word === null) {
      while (i < text.length && text[i] !== "\n") i++;
      i--;
      continue;
    }
    if (ch === "\n" || ch === " " || ch === "\t") {
      if (word !== null) words.push(word);
      word = null;
      if (ch === "\n" && words.length > 0) {
        commands.push(words);
        words = [];
      }
      continue;
    }
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error("unbalanced single quote");
      word = (word ?? "") + text.slice(i + 1, end);
      i = end;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let out = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && /["\\$`]/.test(text[j + 1] ?? "")) j++;
        if (/[$`]/.test(text[j]!)) throw new Error("expansion inside double quotes");
        out += text[j];
      }
      if (j >= text.length) throw new Error("unbalanced double quote");
      word = (word ?? "") + out;
      i = j;
      continue;
    }
    if (/[$`;&|<>(){}*?[\]!]/.test(ch)) throw new Error(`unquoted shell metacharacter ${JSON.stringify(ch)}`);
    if (ch === "\\") {
      word = (word ?? "") + (text[++i] ?? "");
      continue;
    }
    word = (word ?? "") + ch;
  }
  if (word !== null) words.push(word);
  if (words.length > 0) commands.push(words);
  return commands;
}

/** `-name=value` flags of a command (Go flag syntax, as vmagent parses them). */
function goFlags(words: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const w of words) {
    const m = /^--?([\w.]+)=(.*)$/s.exec(w);
    if (!m) throw new Error(`not a -flag=value word: ${w}`);
    expect(flags).not.toHaveProperty(m[1]!);
    flags[m[1]!] = m[2]!;
  }
  return flags;
}

/** curl's arguments as pairs of option and value, plus the URL. */
function curlArgs(words: string[]): { options: [string, string | true][]; url: string } {
  expect(words[0]).toBe("curl");
  const options: [string, string | true][] = [];
  let url: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (["-H", "--data-binary", "--data-urlencode"].includes(w)) options.push([w, words[++i]!]);
    else if (/^-[sSG]+$/.test(w)) options.push([w, true]);
    else {
      expect(url, `a second URL ${w}`).toBeUndefined();
      url = w;
    }
  }
  if (!url) throw new Error("curl without URL");
  return { options, url };
}

async function examplesOf(deploymentId: string, tokenId: string, key?: string): Promise<Examples> {
  const res = await adminFetch("GET", examplesPath(deploymentId, tokenId), { key });
  expect(res.headers.get("cache-control")).toBe("no-store");
  return expectJson<Examples>(res, 200);
}

/** Checks every snippet of `ex` with a real parser and against the data plane's own routing. */
function checkSnippets(ex: Examples, deployment: DeploymentJson, token: AccessTokenJson) {
  const grant = { deploymentType: deployment.type, access: token.type, ...(token.tenant_id ? { tenantId: token.tenant_id } : {}) };
  const routes = (url: string, requestClass: "read" | "write") => {
    expect(url.startsWith(`${endpoint()}/`)).toBe(true);
    const decision = routeRequest(grant, new URL(url).pathname);
    expect(decision, url).toMatchObject({ ok: true, requestClass });
  };
  const bearer = `Authorization: Bearer ${token.value}`;

  for (const snippet of ex.examples) {
    expect(snippet.content).toContain(token.value);
    switch (snippet.id) {
      case "vmagent": {
        const [command, ...rest] = shellCommands(snippet.content);
        expect(rest).toEqual([]);
        expect(command![0]).toBe("vmagent");
        expect(goFlags(command!.slice(1))).toEqual({ "remoteWrite.url": ex.write_url, "remoteWrite.bearerToken": token.value });
        routes(ex.write_url!, "write");
        break;
      }
      case "prometheus": {
        expect(snippet.filename).toBe("prometheus.yml");
        const config = parseYaml(snippet.content);
        expect(config).toEqual({ remote_write: [{ url: ex.write_url, authorization: { type: "Bearer", credentials: token.value } }] });
        break;
      }
      case "curl_write": {
        const [command, ...rest] = shellCommands(snippet.content);
        expect(rest).toEqual([]);
        const { options, url } = curlArgs(command!);
        expect(options).toContainEqual(["-H", bearer]);
        expect(options).toContainEqual(["--data-binary", 'example_metric{source="curl"} 1']);
        expect(url.startsWith(ex.write_url!.replace(/\/write$/, "/"))).toBe(true);
        routes(url, "write");
        break;
      }
      case "grafana": {
        const config = parseYaml(snippet.content);
        expect(config).toEqual({
          apiVersion: 1,
          datasources: [
            {
              name: deployment.name,
              type: "prometheus",
              access: "proxy",
              url: ex.read_url,
              jsonData: { httpHeaderName1: "Authorization" },
              secureJsonData: { httpHeaderValue1: `Bearer ${token.value}` },
            },
          ],
        });
        routes(`${ex.read_url}/api/v1/query_range`, "read");
        break;
      }
      case "curl_read": {
        const [command, ...rest] = shellCommands(snippet.content);
        expect(rest).toEqual([]);
        const { options, url } = curlArgs(command!);
        expect(options).toContainEqual(["-H", bearer]);
        expect(options).toContainEqual(["-G", true]);
        expect(options).toContainEqual(["--data-urlencode", "query=up"]);
        expect(url).toBe(`${ex.read_url}/api/v1/query`);
        routes(url, "read");
        break;
      }
      default:
        throw new Error(`unexpected snippet ${snippet.id}`);
    }
  }
}

const TABS = { r: ["grafana", "curl_read"], w: ["vmagent", "prometheus", "curl_write"], rw: ["vmagent", "prometheus", "curl_write", "grafana", "curl_read"] };

describe("GET .../access_tokens/{tokenId}/examples", () => {
  const cases: { name: string; type: "single_node" | "cluster"; tenant?: string; write: string; read: string }[] = [
    { name: "single-node", type: "single_node", write: "/api/v1/write", read: "" },
    { name: "cluster, regular token", type: "cluster", write: "/insert/0/prometheus/api/v1/write", read: "/select/0/prometheus" },
    { name: "cluster, tenant-specific token", type: "cluster", tenant: "42:7", write: "/prometheus/api/v1/write", read: "/prometheus" },
  ];
  for (const c of cases) {
    for (const access of ["r", "w", "rw"] as const) {
      it(`${c.name}, ${access}: offers the allowed tabs with the right URLs, each snippet valid`, async () => {
        const { deployment } = await createDeployment({ type: c.type, name: `ex ${c.name} ${access}` });
        const token = await createAccessToken(deployment.id, { type: access, ...(c.tenant ? { tenant_id: c.tenant } : {}) });
        const ex = await examplesOf(deployment.id, token.id);
        expect(ex).toMatchObject({ token_id: token.id, deployment_id: deployment.id, deployment_type: c.type, access });
        expect(ex.examples.map((s) => s.id)).toEqual(TABS[access]);
        expect(ex.examples.every((s) => s.tab === (["grafana", "curl_read"].includes(s.id) ? "read" : "write"))).toBe(true);
        if (access === "r") expect(ex).not.toHaveProperty("write_url");
        else expect(ex.write_url).toBe(`${endpoint()}${c.write}`);
        if (access === "w") expect(ex).not.toHaveProperty("read_url");
        else expect(ex.read_url).toBe(`${endpoint()}${c.read}`);
        if (c.tenant) {
          expect(ex.tenant_id).toBe(c.tenant);
          expect(ex.notes.join(" ")).toMatch(/pinned to tenant 42:7/);
        } else if (c.type === "cluster") {
          expect(ex.notes.join(" ")).toMatch(/Replace 0 with the tenant/);
        }
        checkSnippets(ex, deployment, token);
      });
    }
  }

  it("keeps a hostile deployment name one YAML value", async () => {
    const name = `prod: "eu" #1 {a: b} [x] & *y \\ 'q' ünïcødé`;
    const { deployment } = await createDeployment({ name });
    const token = await createAccessToken(deployment.id, { type: "r" });
    const ex = await examplesOf(deployment.id, token.id);
    checkSnippets(ex, deployment, token);
  });

  it("is a reveal: audited with via=examples, and refused to read-only keys", async () => {
    const { deployment } = await createDeployment();
    const token = await createAccessToken(deployment.id, { type: "w" });
    const res = await adminFetch("GET", examplesPath(deployment.id, token.id), { headers: { "cf-ray": "examples-1" } });
    expect(res.status).toBe(200);
    const reveals = (await storedAudit(token.id)).filter((r) => r.action === "access_token.reveal");
    expect(reveals).toEqual([expect.objectContaining({ request_id: "examples-1", actor_id: "bootstrap", deployment_id: deployment.id, detail: '{"via":"examples"}' })]);

    const reader = await createApiKey({ name: "examples reader", access: "r" });
    const before = { tables: await tableCounts(), kv: await kvKeyCount() };
    const refused = await expectJson(await adminFetch("GET", examplesPath(deployment.id, token.id), { key: reader.value }), 403);
    expect(refused).toMatchObject({ error: "forbidden" });
    expect(JSON.stringify(refused)).not.toContain(token.value);
    expect({ tables: await tableCounts(), kv: await kvKeyCount() }).toEqual(before);
  });

  it("answers 404 for a revoked token, an unknown one and another deployment's, auditing nothing", async () => {
    const { deployment } = await createDeployment();
    const { defaultToken: othersToken } = await createDeployment();
    const revoked = await createAccessToken(deployment.id);
    await adminFetch("DELETE", `/deployments/${deployment.id}/access_tokens/${revoked.id}`);
    for (const id of [revoked.id, "00000000-0000-4000-8000-000000000000", othersToken.id]) {
      const before = await tableCounts();
      expect(await expectJson(await adminFetch("GET", examplesPath(deployment.id, id)), 404)).toMatchObject({ error: "not_found" });
      expect(await tableCounts()).toEqual(before);
    }
  });

  it("answers other methods with 405", async () => {
    const { deployment, defaultToken } = await createDeployment();
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await adminFetch(method, examplesPath(deployment.id, defaultToken.id), { body: {} });
      expect(await expectJson(res, 405)).toMatchObject({ error: "method_not_allowed" });
      expect(res.headers.get("allow")).toBe("GET");
    }
  });
});
