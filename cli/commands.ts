// Every command of the CLI: the options it accepts, its positional arguments, and what it does.
// A new command starts here (and in USAGE, vm-edge-authorizer.ts). Values the API accepts come
// from the token domain's vocabulary, answers are typed by the API's response schemas.
import type {
  AccessToken,
  ApiKey,
  AuditEntry,
  CreatedApiKey,
  Deployment,
  ExampleSnippet,
  Explanation,
  RotatedAccessToken,
  Tier,
  TokenExamples,
} from "../src/admin/response-schemas.ts";
import { ACCESS_LEVELS, API_KEY_ACCESS, DEPLOYMENT_TYPES } from "../src/tokens/words.ts";
import { type Api, CliError, EXIT, usage } from "./api.ts";
import type { TokenUsage } from "../src/usage/report.ts";
import { fields, table, timeLeft, usageText, VIEWS } from "./output.ts";

/** Every option of every command; each command lists the ones it accepts. */
export const OPTIONS = {
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
  "expires-in": { type: "string" },
  allow: { type: "string", multiple: true },
  label: { type: "string", multiple: true },
  overlap: { type: "string" },
  actor: { type: "string" },
  action: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  step: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  "client-address": { type: "string" },
} as const;
export type OptionName = keyof typeof OPTIONS;
export const GLOBAL: readonly OptionName[] = ["url", "api-key", "api-key-file", "json", "help"];

/** The parsed options (`parseArgs` values). */
export interface Options {
  [name: string]: string | boolean | string[] | undefined;
  deployment?: string[];
  allow?: string[];
  label?: string[];
}
const str = (o: Options, name: OptionName): string | undefined => {
  const value = o[name];
  return typeof value === "string" ? value : undefined;
};

/** What a command prints: JSON (with --json, or when there is no text), text, or a raw snippet. */
export interface Output {
  json: unknown;
  text?: string;
  raw?: string;
}

export interface Command {
  args?: readonly string[];
  options?: readonly OptionName[];
  run(api: Api, args: string[], options: Options): Promise<Output>;
}

/** "r, w or rw" from a vocabulary enum's values. */
const oneOf = (values: readonly string[]) => `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;

const enc = encodeURIComponent;

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw usage(`missing ${what}`);
  return value;
}

function integer(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw usage(`${what}: must be a whole number`);
  return Number(value);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "30d", "12h", "90m", "3600s" or "0" as seconds; anything else is a usage error. */
export function durationSeconds(value: string, what: string): number {
  const match = /^(\d{1,9})([smhd])?$/.exec(value);
  if (!match || (match[2] === undefined && match[1] !== "0")) throw usage(`${what}: must be a duration such as 30d, 12h, 90m or 3600s`);
  return Number(match[1]) * DURATION_UNITS[match[2] ?? "s"]!;
}

/** --expires-at as given, or --expires-in counted from now; not both. */
function expiry(o: Options): string | undefined {
  const at = str(o, "expires-at");
  const within = str(o, "expires-in");
  if (at !== undefined && within !== undefined) throw usage("give --expires-at or --expires-in, not both");
  if (within === undefined) return at;
  return new Date(Date.now() + durationSeconds(within, "--expires-in") * 1000).toISOString();
}

/** --label name=value, repeated, as the API's object; a name given twice is a usage error. */
function labels(o: Options): Record<string, string> | undefined {
  if (!o.label?.length) return undefined;
  const out: Record<string, string> = {};
  for (const pair of o.label) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usage(`--label: ${JSON.stringify(pair)} must be name=value`);
    const name = pair.slice(0, eq);
    if (name in out) throw usage(`--label: ${name} is given twice`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/** Drops undefined values so the API sees only what was given. */
const defined = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

const DEPLOYMENT_FIELDS = ["id", "name", "type", "tier"];
const TOKEN_FIELDS = ["id", "type", "tenant_id", "description", "expires_at", "allowed_networks", "labels", "value"];

/** A token as `field  value` lines, with the time left before its expiry. */
function tokenText(token: AccessToken): string {
  return fields({ ...token, ...(token.expires_at ? { expires_at: `${token.expires_at} (${timeLeft(token.expires_at)})` } : {}) }, TOKEN_FIELDS);
}

export const COMMANDS: Record<string, Command> = {
  "tiers list": {
    run: async (api) => {
      const tiers = await api.list<Tier>("/api/v1/tiers");
      return { json: tiers, text: table(tiers, VIEWS.tier) };
    },
  },
  "deployments list": {
    run: async (api) => {
      const list = await api.list<Deployment>("/api/v1/deployments");
      return { json: list, text: table(list, VIEWS.deployment) };
    },
  },
  "deployments get": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      const { body } = await api.request<Deployment>("GET", `/api/v1/deployments/${enc(id!)}`);
      return { json: body, text: fields(body, ["id", "name", "type", "tier", "status", "created_at", "access_endpoint"]) };
    },
  },
  "deployments create": {
    options: ["name", "type", "tier", "upstream-url", "insert-url", "select-url"],
    run: async (api, _args, o) => {
      const type = need(str(o, "type"), `--type (${oneOf(DEPLOYMENT_TYPES)})`);
      const body = defined({
        name: need(str(o, "name"), "--name"),
        type,
        tier: integer(need(str(o, "tier"), "--tier (see: tiers list)"), "--tier"),
        upstream_url: str(o, "upstream-url"),
        insert_url: str(o, "insert-url"),
        select_url: str(o, "select-url"),
      });
      const { body: created } = await api.request<Deployment>("POST", "/api/v1/deployments", { body });
      return { json: created, text: fields(created, DEPLOYMENT_FIELDS) };
    },
  },
  "deployments update": {
    args: ["deployment-id"],
    options: ["name", "tier", "upstream-url", "insert-url", "select-url"],
    run: async (api, [id], o) => {
      const tier = str(o, "tier");
      const body = defined({
        name: str(o, "name"),
        tier: tier === undefined ? undefined : integer(tier, "--tier"),
        upstream_url: str(o, "upstream-url"),
        insert_url: str(o, "insert-url"),
        select_url: str(o, "select-url"),
      });
      if (Object.keys(body).length === 0) throw usage("nothing to change: give --name, --tier or a URL option");
      const { body: updated } = await api.request<Deployment>("PUT", `/api/v1/deployments/${enc(id!)}`, { body });
      return { json: updated, text: fields(updated, DEPLOYMENT_FIELDS) };
    },
  },
  "deployments delete": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      await api.request("DELETE", `/api/v1/deployments/${enc(id!)}`);
      return { json: { deleted: id }, text: `Deleted deployment ${id}; its tokens are revoked.` };
    },
  },
  "tokens list": {
    args: ["deployment-id"],
    run: async (api, [id]) => {
      const list = await api.list<AccessToken>(`/api/v1/deployments/${enc(id!)}/access_tokens`);
      return { json: list, text: table(list, VIEWS.token) };
    },
  },
  "tokens create": {
    args: ["deployment-id"],
    options: ["type", "description", "tenant-id", "expires-at", "expires-in", "allow", "label"],
    run: async (api, [id], o) => {
      const body = defined({
        type: need(str(o, "type"), `--type (${oneOf(ACCESS_LEVELS)})`),
        description: need(str(o, "description"), "--description"),
        tenant_id: str(o, "tenant-id"),
        expires_at: expiry(o),
        allowed_networks: o.allow?.length ? o.allow : undefined,
        labels: labels(o),
      });
      const { body: token } = await api.request<AccessToken>("POST", `/api/v1/deployments/${enc(id!)}/access_tokens`, { body });
      return { json: token, text: tokenText(token) };
    },
  },
  "tokens rotate": {
    args: ["deployment-id", "token-id"],
    options: ["overlap", "expires-at", "expires-in"],
    run: async (api, [id, tokenId], o) => {
      const body = defined({
        overlap_seconds: durationSeconds(need(str(o, "overlap"), "--overlap (how long the old token keeps working, e.g. 1h or 0)"), "--overlap"),
        expires_at: expiry(o),
      });
      const { body: token } = await api.request<RotatedAccessToken>("POST", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}/rotate`, { body });
      const { replaces, ...successor } = token;
      const old = `The old token ${replaces.id} works until ${replaces.expires_at} (${timeLeft(replaces.expires_at)}); move its clients to this one.`;
      return { json: token, text: `${tokenText(successor)}\n\n${old}` };
    },
  },
  "tokens reveal": {
    args: ["deployment-id", "token-id"],
    run: async (api, [id, tokenId]) => {
      const { body } = await api.request<AccessToken>("GET", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}`);
      return { json: body, text: tokenText(body) };
    },
  },
  "tokens revoke": {
    args: ["deployment-id", "token-id"],
    run: async (api, [id, tokenId]) => {
      await api.request("DELETE", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}`);
      return { json: { revoked: tokenId }, text: `Revoked access token ${tokenId}.` };
    },
  },
  "tokens examples": {
    args: ["deployment-id", "token-id"],
    options: ["only"],
    run: async (api, [id, tokenId], o) => {
      const { body } = await api.request<TokenExamples>("GET", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}/examples`);
      const only = str(o, "only");
      if (only !== undefined) {
        const snippet = body.examples.find((s: ExampleSnippet) => s.id === only);
        if (!snippet) {
          const offered = body.examples.map((s) => s.id).join(", ");
          throw new CliError(EXIT.API, `this token has no ${only} example (offered: ${offered})`);
        }
        // Raw snippet either way: ready to redirect into a file.
        return { json: snippet, raw: snippet.content };
      }
      const parts = body.examples.map((s) => `## ${s.title} (${s.tab}${s.filename ? `, ${s.filename}` : ""})\n\n${s.content}`);
      return { json: body, text: [...body.notes.map((n) => `Note: ${n}`), "", ...parts].join("\n").trimEnd() };
    },
  },
  "tokens explain": {
    args: ["deployment-id", "token-id", "method", "path"],
    options: ["client-address"],
    run: async (api, [id, tokenId, method, path], o) => {
      const body = defined({ method, path, client_address: str(o, "client-address") });
      const { body: out } = await api.request<Explanation>("POST", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}/explain`, { body });
      const verdict = out.decision === "allowed" ? `allowed: a ${out.request_class} request, forwarded to ${out.upstream_url}` : `refused: ${out.status} ${out.code}: ${out.reason}`;
      const shown = out.decision === "allowed" ? { path: out.path, query: out.query, tenant_id: out.tenant_id, body: out.body } : {};
      return { json: out, text: `${verdict}\n${fields(defined({ ...shown, not_checked: out.not_checked.join(", ") }), ["path", "query", "tenant_id", "body", "not_checked"])}` };
    },
  },
  "tokens usage": {
    args: ["deployment-id", "token-id"],
    options: ["since", "until", "step"],
    run: async (api, [id, tokenId], o) => {
      const query = { since: str(o, "since"), until: str(o, "until"), step: str(o, "step") };
      const { body } = await api.request<TokenUsage>("GET", `/api/v1/deployments/${enc(id!)}/access_tokens/${enc(tokenId!)}/usage`, { query });
      return { json: body, text: usageText(body) };
    },
  },
  "api-keys list": {
    run: async (api) => {
      const list = await api.list<ApiKey>("/api/v1/api_keys");
      return { json: list, text: table(list, VIEWS.apiKey) };
    },
  },
  "api-keys get": {
    args: ["key-id"],
    run: async (api, [id]) => {
      const { body } = await api.request<ApiKey>("GET", `/api/v1/api_keys/${enc(id!)}`);
      return { json: body, text: fields(body, ["id", "name", "access", "deployment_ids", "expires_at", "created_by", "created_at", "revoked_at"]) };
    },
  },
  "api-keys create": {
    options: ["name", "access", "deployment", "expires-at"],
    run: async (api, _args, o) => {
      const body = defined({
        name: need(str(o, "name"), "--name"),
        access: need(str(o, "access"), `--access (${oneOf(API_KEY_ACCESS)})`),
        deployment_ids: o.deployment,
        expires_at: str(o, "expires-at"),
      });
      const { body: key } = await api.request<CreatedApiKey>("POST", "/api/v1/api_keys", { body });
      process.stderr.write("The key is shown only now: store it (it is kept as a hash and cannot be revealed again).\n");
      return { json: key, text: fields(key, ["id", "name", "access", "deployment_ids", "expires_at", "value"]) };
    },
  },
  "api-keys revoke": {
    args: ["key-id"],
    run: async (api, [id]) => {
      await api.request("DELETE", `/api/v1/api_keys/${enc(id!)}`);
      return { json: { revoked: id }, text: `Revoked API key ${id}.` };
    },
  },
  audit: {
    options: ["deployment", "actor", "action", "since", "until", "limit", "all"],
    run: async (api, _args, o) => {
      if ((o.deployment?.length ?? 0) > 1) throw usage("--deployment: give one deployment for audit");
      const query = { deployment_id: o.deployment?.[0], actor_id: str(o, "actor"), action: str(o, "action"), since: str(o, "since"), until: str(o, "until"), limit: str(o, "limit") };
      const entries = await api.list<AuditEntry>("/api/v1/audit", query, Boolean(o.all));
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
