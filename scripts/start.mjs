// `npm start`: the Worker on http://127.0.0.1:8787 with local KV, D1 and Durable Objects
// (state under .wrangler/state), migrations applied first. Secrets come from .dev.vars, which
// is written with fresh random values when missing.
import { spawnSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const devVars = resolve(root, ".dev.vars");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "1" };
const wrangler = resolve(root, "node_modules/.bin/wrangler");

if (!existsSync(devVars)) {
  const adminKey = randomBytes(24).toString("base64url");
  writeFileSync(
    devVars,
    `# Local secrets for npm start (git-ignored). Written by scripts/start.mjs.\n` +
      `ADMIN_API_KEY=${adminKey}\n` +
      `TOKEN_ENCRYPTION_KEY=${randomBytes(32).toString("base64")}\n`,
    { mode: 0o600 },
  );
  console.log(`Wrote ${devVars} with a new random ADMIN_API_KEY; send it as the X-VM-Cloud-Access header.`);
}

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { cwd: root, env, stdio: "inherit" });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", "8787", ...process.argv.slice(2)], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
