// The local secrets file of `npm start` (.dev.vars, dotenv syntax, git-ignored): make sure it
// holds every secret the Worker needs. A missing file is written whole; an existing one only gets
// the missing keys appended, its other lines left byte for byte as they were.

import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

/** The secrets the Worker reads, and how a fresh value for each is made. */
export const DEV_SECRETS: Readonly<Record<string, () => string>> = {
  // Sent as X-VM-Cloud-Access: the bootstrap management key.
  ADMIN_API_KEY: () => randomBytes(24).toString("base64url"),
  // 32 bytes, base64: encrypts the revealable copy of every token secret.
  TOKEN_ENCRYPTION_KEY: () => randomBytes(32).toString("base64"),
};

export interface EnsureDevVarsResult {
  /** The file did not exist and was written. */
  created: boolean;
  /** Keys written now (all of them when created). */
  added: string[];
}

/** Keys assigned in dotenv text (`KEY=…` or `export KEY=…`; comments and blank lines ignored). */
export function assignedKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m?.[1] !== undefined) keys.add(m[1]);
  }
  return keys;
}

/**
 * Write `path` with fresh values for every secret if it is missing; otherwise append a fresh
 * value for each secret it does not assign, touching nothing else. Values never leave this
 * function except into the file (mode 0600 when created).
 */
export function ensureDevVars(path: string, secrets: Readonly<Record<string, () => string>> = DEV_SECRETS): EnsureDevVarsResult {
  const lines = (keys: string[]) => keys.map((k) => `${k}=${secrets[k]!()}\n`).join("");
  if (!existsSync(path)) {
    const keys = Object.keys(secrets);
    writeFileSync(path, `# Local secrets for npm start (git-ignored). Written by scripts/start.mjs.\n${lines(keys)}`, {
      mode: 0o600,
    });
    return { created: true, added: keys };
  }
  const text = readFileSync(path, "utf8");
  const present = assignedKeys(text);
  const missing = Object.keys(secrets).filter((k) => !present.has(k));
  if (missing.length > 0) {
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    appendFileSync(path, `${sep}${lines(missing)}`);
  }
  return { created: false, added: missing };
}
