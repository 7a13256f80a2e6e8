// `npm start`'s .dev.vars handling (scripts/dev-vars.ts) on temp files: a missing file is written
// whole; an existing one gets only the keys it lacks, every other byte kept.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assignedKeys, DEV_SECRETS, ensureDevVars } from "../../scripts/dev-vars.ts";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dev-vars-"));
  file = join(dir, ".dev.vars");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fixed = { ADMIN_API_KEY: () => "new-admin", TOKEN_ENCRYPTION_KEY: () => "new-enc" };

describe("ensureDevVars", () => {
  it("writes a missing file with every secret, readable by the owner only", () => {
    expect(ensureDevVars(file)).toEqual({ created: true, added: ["ADMIN_API_KEY", "TOKEN_ENCRYPTION_KEY"] });
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^ADMIN_API_KEY=[A-Za-z0-9_-]{32}$/m);
    const enc = /^TOKEN_ENCRYPTION_KEY=(\S+)$/m.exec(text)?.[1];
    expect(Buffer.from(enc!, "base64")).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("adds the missing keys to an existing file and leaves its other lines as they were", () => {
    const before = "# mine\nUPSTREAM_TIMEOUT_MS=500\r\nexport OTHER = x\n\nTOKEN_ENCRYPTION_KEY=keep-me\n";
    writeFileSync(file, before);
    expect(ensureDevVars(file, fixed)).toEqual({ created: false, added: ["ADMIN_API_KEY"] });
    expect(readFileSync(file, "utf8")).toBe(`${before}ADMIN_API_KEY=new-admin\n`);
  });

  it("starts the added keys on a new line when the file does not end with one", () => {
    writeFileSync(file, "FOO=bar");
    expect(ensureDevVars(file, fixed).added).toEqual(["ADMIN_API_KEY", "TOKEN_ENCRYPTION_KEY"]);
    expect(readFileSync(file, "utf8")).toBe("FOO=bar\nADMIN_API_KEY=new-admin\nTOKEN_ENCRYPTION_KEY=new-enc\n");
  });

  it("changes nothing when every key is there, in either dotenv form", () => {
    const before = "export ADMIN_API_KEY=a\n  TOKEN_ENCRYPTION_KEY = b\n";
    writeFileSync(file, before);
    expect(ensureDevVars(file, fixed)).toEqual({ created: false, added: [] });
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("does not take a commented-out or prefixed key for the key", () => {
    writeFileSync(file, "# ADMIN_API_KEY=old\nMY_ADMIN_API_KEY=x\nTOKEN_ENCRYPTION_KEY=k\n");
    expect(ensureDevVars(file, fixed).added).toEqual(["ADMIN_API_KEY"]);
  });

  it("knows the two secrets the Worker needs", () => {
    expect(Object.keys(DEV_SECRETS)).toEqual(["ADMIN_API_KEY", "TOKEN_ENCRYPTION_KEY"]);
    expect(assignedKeys("A=1\n# B=2\nexport C=3\nD\n")).toEqual(new Set(["A", "C"]));
  });
});
