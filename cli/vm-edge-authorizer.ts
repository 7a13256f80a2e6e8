#!/usr/bin/env node
// vm-edge-authorizer: the management API from a shell or CI job.
//
// It talks to the Worker's HTTP API only (never to D1), so every change goes through the same
// validation, audit log, KV projection and revocation as any other client. TypeScript run by the
// project's pinned Node 24 as is (type stripping, no build step), type-checked by
// tsconfig.cli.json. The values it offers come from the token domain's words
// (src/tokens/words.ts, no dependencies), the answers it prints are typed by the API's response schemas.
// Commands: cli/commands.ts; HTTP: cli/api.ts; tables: cli/output.ts.
//
// Exit codes (stable, for scripts):
//   0  success
//   1  the API refused the request (4xx): bad input, unknown id, missing permission, bad key
//   2  usage error: unknown command or option, missing argument, no URL or API key
//   3  the API could not be reached, timed out, or failed (5xx, or an answer that is not JSON)

import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ACCESS_LEVELS, API_KEY_ACCESS, DEPLOYMENT_TYPES, EXAMPLE_IDS } from "../src/tokens/words.ts";
import { adminBase, Api, CliError, EXIT, type ExitCode, NAME, usage } from "./api.ts";
import { type Command, COMMANDS, GLOBAL, type OptionName, OPTIONS, type Options, type Output } from "./commands.ts";

export { EXIT };

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
  deployments create --name NAME --type ${DEPLOYMENT_TYPES[0]} --tier ID --upstream-url URL
  deployments create --name NAME --type ${DEPLOYMENT_TYPES[1]} --tier ID --insert-url URL --select-url URL
  deployments update <deployment-id> [--name NAME] [--tier ID] [--upstream-url URL]
                     [--insert-url URL] [--select-url URL]
  deployments delete <deployment-id>
  tokens list <deployment-id>
  tokens create <deployment-id> --type ${ACCESS_LEVELS.join("|")} --description TEXT [--tenant-id ID]
                [--expires-in 30d | --expires-at RFC3339] [--allow CIDR]... [--label NAME=VALUE]...
  tokens rotate <deployment-id> <token-id> --overlap DURATION [--expires-in 30d | --expires-at RFC3339]
                         the successor gets the same type, tenant, policies and description; the old
                         token keeps working for DURATION (0 to 30d; 0 stops it at once)
  tokens reveal <deployment-id> <token-id>
  tokens revoke <deployment-id> <token-id>
  tokens examples <deployment-id> <token-id> [--only ${EXAMPLE_IDS.join("|")}]
  tokens explain <deployment-id> <token-id> <METHOD> <path> [--client-address IP]
                         what the data path would do with this request from this token (no
                         request is sent upstream); path as a client sends it, query included
  tokens usage <deployment-id> <token-id> [--since RFC3339] [--until RFC3339] [--step 1m|5m|15m|1h|6h|1d]
                         requests by answer and class, bytes, latency, permits and the last use
  api-keys list
  api-keys get <key-id>
  api-keys create --name NAME --access ${API_KEY_ACCESS.join("|")} [--deployment ID]... [--expires-at RFC3339]
  api-keys revoke <key-id>
  audit [--deployment ID] [--actor KEY-ID] [--action ACTION] [--since RFC3339]
        [--until RFC3339] [--limit N] [--all]
  openapi                print the OpenAPI document (no API key needed)

Exit codes: 0 ok, 1 refused by the API (4xx), 2 usage error, 3 unreachable or server error (5xx).`;

function readKeyFile(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8").trim();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw usage(`--api-key-file: cannot read ${file}: ${e.code ?? e.message}`);
  }
}

interface Invocation {
  help?: false;
  name: string;
  command: Command;
  args: string[];
  options: Options;
  base: string;
  apiKey: string | undefined;
  json: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * `--name VALUE` → `--name=VALUE` for every option that takes a value. The argument after such an
 * option is always its value — a key or description may begin with "-" — but strict parseArgs
 * refuses a dash-led value unless it is attached with "=".
 */
function attachValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return [...out, ...argv.slice(i)];
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    const takesValue = name !== undefined && Object.hasOwn(OPTIONS, name) && OPTIONS[name as OptionName].type === "string";
    if (takesValue && i + 1 < argv.length) out.push(`${arg}=${argv[++i]}`);
    else out.push(arg);
  }
  return out;
}

/** Parses argv into the command to run; throws CliError(USAGE) on anything it does not know. */
export function parse(argv: string[], env: Env = process.env): Invocation | { help: true } {
  let parsed;
  try {
    parsed = parseArgs({ args: attachValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { help: true };
  const two = positionals.slice(0, 2).join(" ");
  const name = COMMANDS[two] ? two : positionals[0]!;
  const command = COMMANDS[name];
  if (!command) throw usage(`unknown command "${positionals.slice(0, 2).join(" ")}"`);
  const args = positionals.slice(name.split(" ").length);
  const wanted = command.args ?? [];
  if (args.length < wanted.length) throw usage(`${name}: missing <${wanted[args.length]}>`);
  if (args.length > wanted.length) throw usage(`${name}: unexpected argument ${JSON.stringify(args[wanted.length])}`);
  for (const option of Object.keys(values) as OptionName[]) {
    if (!GLOBAL.includes(option) && !(command.options ?? []).includes(option)) throw usage(`${name}: unknown option --${option}`);
  }
  if (values["api-key"] !== undefined && values["api-key-file"] !== undefined) throw usage("give --api-key or --api-key-file, not both");
  // VMCLOUD_*: the variables the VictoriaMetrics Cloud Terraform provider reads, as a fallback.
  const url = values.url ?? env.VMEA_URL ?? env.VMCLOUD_BASE_URL;
  if (!url) throw usage("no Worker URL: pass --url or set VMEA_URL");
  const apiKey = values["api-key"] ?? (values["api-key-file"] !== undefined ? readKeyFile(values["api-key-file"]) : (env.VMEA_API_KEY ?? env.VMCLOUD_API_KEY));
  return { name, command, args, options: values, base: adminBase(url), apiKey, json: Boolean(values.json) };
}

interface Streams {
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  env?: Env;
}

export async function main(argv: string[], { stdout = process.stdout, stderr = process.stderr, env = process.env }: Streams = {}): Promise<ExitCode> {
  let invocation: Invocation | { help: true } | undefined;
  try {
    invocation = parse(argv, env);
    if (invocation.help) {
      stdout.write(`${USAGE}\n`);
      return EXIT.OK;
    }
    const out: Output = await invocation.command.run(new Api(invocation.base, invocation.apiKey), invocation.args, invocation.options);
    if (out.raw !== undefined && !invocation.json) stdout.write(out.raw.endsWith("\n") ? out.raw : `${out.raw}\n`);
    else if (invocation.json || out.text === undefined) stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
    else stdout.write(`${out.text}\n`);
    return EXIT.OK;
  } catch (err) {
    if (!(err instanceof CliError)) {
      stderr.write(`${NAME}: unexpected error: ${(err as Error | undefined)?.stack ?? err}\n`);
      return EXIT.UNAVAILABLE;
    }
    const json = invocation !== undefined && !invocation.help && invocation.json;
    if (json && err.body !== undefined) stderr.write(`${JSON.stringify(err.body)}\n`);
    else stderr.write(`${NAME}: ${err.message}\n`);
    return err.exitCode;
  }
}

// Run when executed (also through npm's bin symlink), not when imported by a test.
const invokedAs = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (invokedAs === import.meta.url) {
  process.exitCode = await main(process.argv.slice(2));
}
