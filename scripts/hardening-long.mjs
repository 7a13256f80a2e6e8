#!/usr/bin/env node
// The long versions of the hardening runs (docs/reliability.md): the same tests `npm test` runs
// with a small fixed-seed count, here with large counts, plus the two real-socket scenarios that
// take too long for `npm test` (permit recovery across runtime restarts, floods over sockets).
// Each step prints the `HARDENING <name> {...}` line its test or script emits; the last line is a
// JSON object of all of them.
//
//   node scripts/hardening-long.mjs                 every step, in order
//   node scripts/hardening-long.mjs isolation admin  some steps
//   HARDENING_SEED=7 node scripts/hardening-long.mjs isolation   another seed (default 20260101)
//
// Runs under any Node: the tests run under the pinned Node 24 from node_modules/.bin. Steps are
// one at a time and each is bounded by a timeout (the machine has 2 shared cores).

import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules/.bin");
const seed = process.env.HARDENING_SEED ?? "20260101";

/** name → what it runs. `env` goes to the test (VITE_* reaches tests inside workerd). */
const STEPS = {
  isolation: {
    what: "tenant isolation through the whole Worker in workerd: 100,000 generated requests",
    cmd: ["vitest", "run", "--project", "worker", "test/hardening/tenant-isolation.worker.test.ts"],
    env: { VITE_HARDENING_RUNS: "100000", VITE_HARDENING_SEED: seed },
    minutes: 20,
  },
  "policy-isolation": {
    what: "token policies (label scope, address allowlists) through the whole Worker in workerd: 100,000 generated requests",
    cmd: ["vitest", "run", "--project", "worker", "test/hardening/token-policy-isolation.worker.test.ts"],
    env: { VITE_HARDENING_RUNS: "100000", VITE_HARDENING_SEED: seed },
    minutes: 20,
  },
  "raw-lines": {
    what: "raw request lines over sockets through workerd's HTTP parser: 50,000 generated",
    cmd: ["vitest", "run", "--project", "unit", "test/hardening/real-socket.node.test.ts", "-t", "request lines"],
    env: { HARDENING_RUNS: "50000", HARDENING_SEED: seed },
    minutes: 20,
  },
  "permit-release": {
    what: "permits come back: method x upstream answer x client behaviour, 2,000 generated",
    cmd: ["vitest", "run", "--project", "worker", "test/hardening/permit-release.worker.test.ts"],
    env: { VITE_HARDENING_RUNS: "2000", VITE_HARDENING_SEED: seed },
    minutes: 20,
  },
  permits: {
    what: "permits over real sockets: 10x overload, every ending, runtime restart; 5 rounds",
    cmd: ["node", "scripts/hardening-permits.ts"],
    env: { HARDENING_ROUNDS: "5" },
    minutes: 15,
  },
  credentials: {
    what: "100,000 random credentials through the whole Worker, binding calls counted",
    cmd: ["vitest", "run", "--project", "worker", "test/hardening/brute-force.worker.test.ts"],
    env: { VITE_HARDENING_RUNS: "100000" },
    minutes: 20,
  },
  flood: {
    what: "floods over real sockets alongside a valid client: 100,000 spread + 20,000 one-address + control + paced",
    cmd: ["node", "scripts/hardening-flood.ts"],
    env: {},
    minutes: 20,
  },
  secrets: {
    what: "secrets at rest and in logs after a full lifecycle",
    cmd: ["vitest", "run", "--project", "unit", "test/hardening/secrets-at-rest.node.test.ts"],
    env: {},
    minutes: 5,
  },
  admin: {
    what: "management plane fuzz: 20,000 generated requests",
    cmd: ["vitest", "run", "--project", "worker", "test/hardening/admin-fuzz.worker.test.ts"],
    env: { VITE_HARDENING_RUNS: "100000", VITE_HARDENING_SEED: seed },
    minutes: 30,
  },
};

function run(name, step) {
  return new Promise((resolve) => {
    const started = Date.now();
    const [command, ...args] = step.cmd;
    const child = spawn(join(bin, command), args, {
      cwd: root,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ...step.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    const onData = (chunk) => {
      const text = chunk.toString();
      out += text;
      for (const line of text.split("\n")) if (line.includes("HARDENING ") || /round \d+\/\d+/.test(line)) process.stderr.write(`  ${line.trim()}\n`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      out += `\n[killed after ${step.minutes} min]`;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, step.minutes * 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      const plain = out.replace(/\u001b\[[0-9;]*m/g, "");
      const figures = {};
      for (const m of plain.matchAll(/HARDENING (\S+) (\{.*\})/g)) {
        try {
          figures[m[1]] = JSON.parse(m[2]);
        } catch {}
      }
      const tests = /Tests\s+(.*)/.exec(plain)?.[1]?.trim();
      resolve({ name, what: step.what, exit: code, seconds: Math.round((Date.now() - started) / 1000), tests, figures, tail: code === 0 ? undefined : plain.split("\n").slice(-40).join("\n") });
    });
  });
}

const chosen = process.argv.slice(2);
const names = chosen.length > 0 ? chosen : Object.keys(STEPS);
for (const n of names) if (!STEPS[n]) throw new Error(`unknown step ${n}; steps: ${Object.keys(STEPS).join(", ")}`);

const results = {};
for (const name of names) {
  process.stderr.write(`== ${name}: ${STEPS[name].what}\n`);
  const r = await run(name, STEPS[name]);
  results[name] = r;
  process.stderr.write(`   exit ${r.exit} in ${r.seconds} s${r.tests ? ` (tests: ${r.tests})` : ""}\n`);
  if (r.tail) process.stderr.write(`${r.tail}\n`);
}
console.log(JSON.stringify(results));
process.exit(Object.values(results).every((r) => r.exit === 0) ? 0 : 1);
