// `npm start`: the Worker on http://127.0.0.1:8787 (wrangler.toml [dev]) with local KV, D1 and
// Durable Objects (state under .wrangler/state), migrations applied first. Secrets come from
// .dev.vars: written with fresh random values when missing, missing keys added when it exists.
// Once the Worker answers, prints its data-plane URL, the console URL and where the admin key is
// (never the key itself). Extra arguments go to `wrangler dev` (e.g. `npm start -- --port 9000`).
import { spawnSync, spawn } from "node:child_process";
import { resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { ensureDevVars } from "./dev-vars.ts";

const root = resolve(import.meta.dirname, "..");
const devVars = resolve(root, ".dev.vars");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "1" };
const wrangler = resolve(root, "node_modules/.bin/wrangler");
const args = process.argv.slice(2);

const { created, added } = ensureDevVars(devVars);
if (created) console.log(`Wrote ${devVars} with a new random ADMIN_API_KEY and TOKEN_ENCRYPTION_KEY.`);
else if (added.length > 0) console.log(`Added ${added.join(" and ")} to ${devVars} (other lines unchanged).`);

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { cwd: root, env, stdio: "inherit" });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Where wrangler dev listens: an --ip/--port given to npm start, else wrangler.toml's [dev].
const arg = (name) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
};
const { dev: devConfig } = unstable_readConfig({ config: resolve(root, "wrangler.toml") }, { hideWarnings: true });
const ip = arg("ip") ?? devConfig.ip ?? "localhost";
const port = arg("port") ?? devConfig.port ?? 8787;
const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
// The management API reports ACCESS_ENDPOINT as the URL clients use: follow a moved port.
const endpoint = arg("ip") !== undefined || arg("port") !== undefined ? ["--var", `ACCESS_ENDPOINT:${url}`] : [];

const dev = spawn(wrangler, ["dev", ...endpoint, ...args], { cwd: root, env, stdio: "inherit" });
let exited = false;
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => {
  exited = true;
  process.exit(code ?? 0);
});

// Ready = the Worker answers HTTP at all (any status; the console, so that the probe is no failed
// authentication on the data plane). Bounded: a start that never answers leaves wrangler's own
// output to explain itself.
const deadline = Date.now() + 180_000;
while (!exited && Date.now() < deadline) {
  try {
    const res = await fetch(`${url}/console`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    console.log(
      [
        "",
        "vm-edge-authorizer is ready:",
        `  data plane   ${url}   (Authorization: Bearer <access token>)`,
        `  console      ${url}/console`,
        `  admin key    ADMIN_API_KEY in ${devVars}   (send it as X-VM-Cloud-Access)`,
        "",
      ].join("\n"),
    );
    break;
  } catch {
    await new Promise((ok) => setTimeout(ok, 250));
  }
}
