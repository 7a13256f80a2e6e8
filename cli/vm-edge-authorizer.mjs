#!/usr/bin/env node
// vm-edge-authorizer: the management API from a shell or CI job.
//
// It talks to the Worker's HTTP API only (never to D1), so every change goes through the same
// validation, audit log, KV projection and revocation as any other client. Plain ESM JavaScript
// with no dependencies and no build step: runs on the project's pinned Node and on any Node >= 20.
//
// Exit codes (stable, for scripts):
//   0  success
//   1  the API refused the request (4xx): bad input, unknown id, missing permission, bad key
//   2  usage error: unknown command or option, missing argument, no URL or API key
//   3  the API could not be reached, timed out, or failed (5xx, or an answer that is not JSON)

import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const EXIT = Object.freeze({ OK: 0, API: 1, USAGE: 2, UNAVAILABLE: 3 });

const NAME = "vm-edge-authorizer";
const TIMEOUT_MS = Number(process.env.VMEA_TIMEOUT_MS) || 30_000;

const USAGE = `Usage: ${NAME} [--url URL] [--api-key KEY] [--json] <command> [arguments]

Manage a vm-edge-authorizer Worker through its management API (/admin).

Connection (flags win over the environment):
  --url URL              Worker URL, e.g. https://metrics.example.com (env VMEA_URL, else
                         VMCLOUD_BASE_URL); "/admin" is added unless the URL ends with it
  --api-key KEY          management API key (env VMEA_API_KEY, else VMCLOUD_API_KEY),
                         sent as X-VM-Cloud-Access
  --api-key-file FILE    read the key from a file instead ("-" reads standard input)
  --json                 print the API's JSON answers instead of tables

Commands:
  tiers list
  deployments list
  deployments get <deployment-id>
  deployments create --name NAME --type single_node --tier ID --upstream-url URL
  deployments create --name NAME --type cluster --tier ID --insert-url URL --select-url URL
  deployments update <deployment-id> [--name NAME] [--tier ID] [--upstream-url URL]
                     [--insert-url URL] [--select-url URL]
  deployments delete <deployment-id>
  tokens list <deployment-id>
  tokens create <deployment-id> --type r|w|rw --description TEXT [--tenant-id ID]
  tokens reveal <deployment-id> <token-id>
  tokens revoke <deployment-id> <token-id>
  tokens examples <deployment-id> <token-id> [--only vmagent|prometheus|curl_write|grafana|curl_read]
  api-keys list
  api-keys get <key-id>
  api-keys create --name NAME --access r|rw [--deployment ID]... [--expires-at RFC3339]
  api-keys revoke <key-id>
  audit [--deployment ID] [--actor KEY-ID] [--action ACTION] [--since RFC3339]
        [--until RFC3339] [--limit N] [--all]
  openapi                print the OpenAPI document (no API key needed)

Exit codes: 0 ok, 1 refused by the API (4xx), 2 usage error, 3 unreachable or server error (5xx).`;

/** Every option of every command; each command lists the ones it accepts. */
const OPTIONS = {
  url: { type: "string" },
  "api-key": { type: "string" },
  "api-key-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  name: { type: "string" },
  type: { type: "string" },
  tier: { type: "string" },
  "upstream-url": { type: "string" },
  "insert-url": { type: "string" },
  "select-url": { type: "string" },
  description: { type: "string" },
  "tenant-id": { type: "string" },
  only: { type: "string" },
  access: { type: "string" },
  deployment: { type: "string", multiple: true },
  "expires-at": { type: "string" },
  actor: { type: "string" },
  action: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
};
const GLOBAL = ["url", "api-key", "api-key-file", "json", "help"];

export class CliError extends Error {
  constructor(exitCode, message, body) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.body = body;
  }
}

const usage = (message) => new CliError(EXIT.USAGE, `${message}\nRun "${NAME} --help" for usage.`);

// ---------------------------------------------------------------------------------------------
// HTTP

/** The /admin base of a Worker URL. */
export function adminBase(url) {
  let base;
  try {
    base = new URL(url);
  } catch {
    throw usage(`--url: ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw usage("--url: must be http:// or https://");
  const path = base.pathname.replace(/\/+$/, "");
  base.pathname = path.endsWith("/admin") ? path : `${path}/admin`;
  base.search = "";
  base.hash = "";
  return base.href;
}

function readKeyFile(file) {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8").trim();
  } catch (err) {
    throw usage(`--api-key-file: cannot read ${file}: ${err.code ?? err.message}`);
  }
}

class Api {
  constructor(base, apiKey) {
    this.base = base;
    this.apiKey = apiKey;
  }

  /** Sends one request; resolves to { body, headers } on 2xx, throws CliError otherwise. */
  async request(method, path, { body, query, auth = true } = {}) {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return this.requestUrl(method, url.href, { body, auth });
  }

  async requestUrl(method, url, { body, auth = true } = {}) {
    if (auth && !this.apiKey) throw usage("no API key: pass --api-key or --api-key-file, or set VMEA_API_KEY");
    const headers = { accept: "application/json", "user-agent": `${NAME}-cli` };
    if (auth) headers["x-vm-cloud-access"] = this.apiKey;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "error" });
    } catch (err) {
      const why = err?.name === "TimeoutError" ? `no answer within ${TIMEOUT_MS} ms` : (err?.cause?.code ?? err?.cause?.message ?? err?.message);
      throw new CliError(EXIT.UNAVAILABLE, `cannot reach ${new URL(url).origin}: ${why}`);
    }
    const text = await res.text();
    let parsed;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(res.status >= 400 && res.status < 500 ? EXIT.API : EXIT.UNAVAILABLE, `${res.status} from ${method} ${new URL(url).pathname}: the answer is not JSON`);
      }
    }
    if (res.ok) return { body: parsed, headers: res.headers };
    const message = parsed && typeof parsed.message === "string" ? parsed.message : res.statusText;
    const code = parsed && typeof parsed.error === "string" ? `${parsed.error}: ` : "";
    throw new CliError(res.status >= 500 ? EXIT.UNAVAILABLE : EXIT.API, `${res.status} ${code}${message}`, parsed);
  }

  /** GET a list, following `Link: <…>; rel="next"` when `all` is set. */
  async list(path, query = {}, all = false) {
    let { body, headers } = await this.request("GET", path, { query });
    const items = [...body];
    while (all) {
      const next = /<([^>]+)>;\s*rel="next"/.exec(headers.get("link") ?? "")?.[1];
      if (!next) break;
      ({ body, headers } = await this.requestUrl("GET", next));
      items.push(...body);
    }
    return items;
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const clean = (value) => String(value ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");

/** Fixed-width columns; the last column is not padded. */
export function table(rows, columns) {
  const cells = rows.map((row) => columns.map(([, get]) => clean(get(row))));
  const headers = columns.map(([title]) => title);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

function fields(object, order) {
  const keys = [...order.filter((k) => k in object), ...Object.keys(object).filter((k) => !order.includes(k))];
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(width)}  ${clean(typeof object[k] === "object" ? JSON.stringify(object[k]) : object[k])}`).join("\n");
}

const VIEWS = {
  tier: [
    ["ID", (t) => t.id],
    ["NAME", (t) => t.name],
    ["TYPE", (t) => t.type],
    ["TOKENS", (t) => t.access_token_limit],
    ["CONCURRENCY", (t) => t.access_token_concurrent_requests],
  ],
  deployment: [
    ["ID", (d) => d.id],
    ["NAME", (d) => d.name],
    ["TYPE", (d) => d.type],
    ["TIER", (d) => d.tier],
    ["CREATED", (d) => d.created_at],
    ["UPSTREAM", (d) => d.upstream_url ?? `${d.insert_url} ${d.select_url}`],
  ],
  token: [
    ["ID", (t) => t.id],
    ["TYPE", (t) => t.type],
    ["TENANT", (t) => t.tenant_id ?? "-"],
    ["CREATED_BY", (t) => t.created_by],
    ["CREATED", (t) => t.created_at],
    ["LAST_USED", (t) => t.last_used_at ?? "never"],
    ["VALUE", (t) => (t.value.length > 4 ? t.value : `…${t.value}`)],
    ["DESCRIPTION", (t) => t.description],
  ],
  apiKey: [
    ["ID", (k) => k.id],
    ["NAME", (k) => k.name],
    ["ACCESS", (k) => k.access],
    ["DEPLOYMENTS", (k) => (k.deployment_ids ? k.deployment_ids.join(",") : "all")],
    ["EXPIRES", (k) => k.expires_at ?? "never"],
    ["CREATED_BY", (k) => k.created_by],
    ["CREATED", (k) => k.created_at],
  ],
  audit: [
    ["AT", (e) => e.at],
    ["ACTION", (e) => e.action],
    ["ACTOR", (e) => `${e.actor_name} (${e.actor_id})`],
    ["TARGET", (e) => `${e.target_type}/${e.target_id}`],
    ["DEPLOYMENT", (e) => e.deployment_id ?? "-"],
    ["REQUEST", (e) => e.request_id],
    ["DETAIL", (e) => (e.detail ? JSON.stringify(e.detail) : "")],
  ],
};

// ---------------------------------------------------------------------------------------------
// Commands

const enc = encodeURIComponent;

function need(value, what) {
  if (value === undefined || value === "") throw usage(`missing ${what}`);
  return value;
}

function integer(value, what) {
  if (!/^\d+$/.test(value)) throw usage(`${what}: must be a whole number`);
  return Number(value);
}

/** Drops undefined values so the API sees only what was given. */
const defined = (object) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

/**
 * Each command: the options it accepts, its positional argument names, and what it does. `run`
 * returns what to print: { json, text } (text may be omitted to reuse JSON), or nothing.
 */
const COMMANDS = {
  "tiers list": {
    run: async (api) => {
      const tiers = await api.list("/api/v1/tiers");
      return { json: tiers, text: table(tiers, VIEWS.tier) };
    },
  },
  "deployments list": {
    run: async (api) => {
      const list = await api.list("/api/v1/deployments");
      return { json: list, text: table(list, VIEWS.deployment) };
    },
  },
  "deployments get": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      const { body } = await api.request("GET", `/api/v1/deployments/${enc(id)}`);
      return { json: body, text: fields(body, ["id", "name", "type", "tier", "status", "created_at", "access_endpoint"]) };
    },
  },
  "deployments create": {
    options: ["name", "type", "tier", "upstream-url", "insert-url", "select-url"],
    run: async (api, _args, o) => {
      const type = need(o.type, "--type (single_node or cluster)");
      const body = defined({
        name: need(o.name, "--name"),
        type,
        tier: integer(need(o.tier, "--tier (see: tiers list)"), "--tier"),
        upstream_url: o["upstream-url"],
        insert_url: o["insert-url"],
        select_url: o["select-url"],
      });
      const { body: created } = await api.request("POST", "/api/v1/deployments", { body });
      return { json: created, text: fields(created, ["id", "name", "type", "tier"]) };
    },
  },
  "deployments update": {
    args: ["deployment-id"],
    options: ["name", "tier", "upstream-url", "insert-url", "select-url"],
    run: async (api, [id], o) => {
      const body = defined({
        name: o.name,
        tier: o.tier === undefined ? undefined : integer(o.tier, "--tier"),
        upstream_url: o["upstream-url"],
        insert_url: o["insert-url"],
        select_url: o["select-url"],
      });
      if (Object.keys(body).length === 0) throw usage("nothing to change: give --name, --tier or a URL option");
      const { body: updated } = await api.request("PUT", `/api/v1/deployments/${enc(id)}`, { body });
      return { json: updated, text: fields(updated, ["id", "name", "type", "tier"]) };
    },
  },
  "deployments delete": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      await api.request("DELETE", `/api/v1/deployments/${enc(id)}`);
      return { json: { deleted: id }, text: `Deleted deployment ${id}; its tokens are revoked.` };
    },
  },
  "tokens list": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      const list = await api.list(`/api/v1/deployments/${enc(id)}/access_tokens`);
      return { json: list, text: table(list, VIEWS.token) };
    },
  },
  "tokens create": {
    args: ["deployment-id"],
    options: ["type", "description", "tenant-id"],
    run: async (api, [id], o) => {
      const body = defined({ type: need(o.type, "--type (r, w or rw)"), description: need(o.description, "--description"), tenant_id: o["tenant-id"] });
      const { body: token } = await api.request("POST", `/api/v1/deployments/${enc(id)}/access_tokens`, { body });
      return { json: token, text: fields(token, ["id", "type", "tenant_id", "description", "value"]) };
    },
  },
  "tokens reveal": {
    args: ["deployment-id", "token-id"],
    run: async (api, [id, tokenId]) => {
      const { body } = await api.request("GET", `/api/v1/deployments/${enc(id)}/access_tokens/${enc(tokenId)}`);
      return { json: body, text: fields(body, ["id", "type", "tenant_id", "description", "value"]) };
    },
  },
  "tokens revoke": {
    args: ["deployment-id", "token-id"],
    run: async (api, [id, tokenId]) => {
      await api.request("DELETE", `/api/v1/deployments/${enc(id)}/access_tokens/${enc(tokenId)}`);
      return { json: { revoked: tokenId }, text: `Revoked access token ${tokenId}.` };
    },
  },
  "tokens examples": {
    args: ["deployment-id", "token-id"],
    options: ["only"],
    run: async (api, [id, tokenId], o) => {
      const { body } = await api.request("GET", `/api/v1/deployments/${enc(id)}/access_tokens/${enc(tokenId)}/examples`);
      if (o.only !== undefined) {
        const snippet = body.examples.find((s) => s.id === o.only);
        if (!snippet) {
          const offered = body.examples.map((s) => s.id).join(", ");
          throw new CliError(EXIT.API, `this token has no ${o.only} example (offered: ${offered})`);
        }
        // Raw snippet either way: ready to redirect into a file.
        return { json: snippet, raw: snippet.content };
      }
      const parts = body.examples.map((s) => `## ${s.title} (${s.tab}${s.filename ? `, ${s.filename}` : ""})\n\n${s.content}`);
      return { json: body, text: [...body.notes.map((n) => `Note: ${n}`), "", ...parts].join("\n").trimEnd() };
    },
  },
  "api-keys list": {
    run: async (api) => {
      const list = await api.list("/api/v1/api_keys");
      return { json: list, text: table(list, VIEWS.apiKey) };
    },
  },
  "api-keys get": {
    args: ["key-id"],
    run: async (api, [id]) => {
      const { body } = await api.request("GET", `/api/v1/api_keys/${enc(id)}`);
      return { json: body, text: fields(body, ["id", "name", "access", "deployment_ids", "expires_at", "created_by", "created_at", "revoked_at"]) };
    },
  },
  "api-keys create": {
    options: ["name", "access", "deployment", "expires-at"],
    run: async (api, _args, o) => {
      const body = defined({ name: need(o.name, "--name"), access: need(o.access, "--access (r or rw)"), deployment_ids: o.deployment, expires_at: o["expires-at"] });
      const { body: key } = await api.request("POST", "/api/v1/api_keys", { body });
      process.stderr.write("The key is shown only now: store it (it is kept as a hash and cannot be revealed again).\n");
      return { json: key, text: fields(key, ["id", "name", "access", "deployment_ids", "expires_at", "value"]) };
    },
  },
  "api-keys revoke": {
    args: ["key-id"],
    run: async (api, [id]) => {
      await api.request("DELETE", `/api/v1/api_keys/${enc(id)}`);
      return { json: { revoked: id }, text: `Revoked API key ${id}.` };
    },
  },
  audit: {
    options: ["deployment", "actor", "action", "since", "until", "limit", "all"],
    run: async (api, _args, o) => {
      if ((o.deployment?.length ?? 0) > 1) throw usage("--deployment: give one deployment for audit");
      const query = { deployment_id: o.deployment?.[0], actor_id: o.actor, action: o.action, since: o.since, until: o.until, limit: o.limit };
      const entries = await api.list("/api/v1/audit", query, Boolean(o.all));
      return { json: entries, text: table(entries, VIEWS.audit) };
    },
  },
  openapi: {
    run: async (api) => {
      const { body } = await api.request("GET", "/openapi.json", { auth: false });
      return { json: body };
    },
  },
};

/** Parses argv into the command to run; throws CliError(USAGE) on anything it does not know. */
export function parse(argv, env = process.env) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { help: true };
  const two = positionals.slice(0, 2).join(" ");
  const name = COMMANDS[two] ? two : positionals[0];
  const command = COMMANDS[name];
  if (!command) throw usage(`unknown command "${positionals.slice(0, 2).join(" ")}"`);
  const args = positionals.slice(name.split(" ").length);
  const wanted = command.args ?? [];
  if (args.length < wanted.length) throw usage(`${name}: missing <${wanted[args.length]}>`);
  if (args.length > wanted.length) throw usage(`${name}: unexpected argument ${JSON.stringify(args[wanted.length])}`);
  for (const option of Object.keys(values)) {
    if (!GLOBAL.includes(option) && !(command.options ?? []).includes(option)) throw usage(`${name}: unknown option --${option}`);
  }
  if (values["api-key"] !== undefined && values["api-key-file"] !== undefined) throw usage("give --api-key or --api-key-file, not both");
  // VMCLOUD_*: the variables the VictoriaMetrics Cloud Terraform provider reads, as a fallback.
  const url = values.url ?? env.VMEA_URL ?? env.VMCLOUD_BASE_URL;
  if (!url) throw usage("no Worker URL: pass --url or set VMEA_URL");
  const apiKey = values["api-key"] ?? (values["api-key-file"] !== undefined ? readKeyFile(values["api-key-file"]) : (env.VMEA_API_KEY ?? env.VMCLOUD_API_KEY));
  return { name, command, args, options: values, base: adminBase(url), apiKey, json: Boolean(values.json) };
}

export async function main(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  let invocation;
  try {
    invocation = parse(argv, env);
    if (invocation.help) {
      stdout.write(`${USAGE}\n`);
      return EXIT.OK;
    }
    const out = await invocation.command.run(new Api(invocation.base, invocation.apiKey), invocation.args, invocation.options);
    if (out?.raw !== undefined && !invocation.json) stdout.write(out.raw.endsWith("\n") ? out.raw : `${out.raw}\n`);
    else if (invocation.json || out.text === undefined) stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
    else stdout.write(`${out.text}\n`);
    return EXIT.OK;
  } catch (err) {
    if (!(err instanceof CliError)) {
      stderr.write(`${NAME}: unexpected error: ${err?.stack ?? err}\n`);
      return EXIT.UNAVAILABLE;
    }
    if (invocation?.json && err.body !== undefined) stderr.write(`${JSON.stringify(err.body)}\n`);
    else stderr.write(`${NAME}: ${err.message}\n`);
    return err.exitCode;
  }
}

// Run when executed (also through npm's bin symlink), not when imported by a test.
const invokedAs = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (invokedAs === import.meta.url) {
  process.exitCode = await main(process.argv.slice(2));
}
