// The text handling behind test/e2e/readme.e2e.ts: which blocks run, what is substituted, and
// that a promised line that is not printed is caught (docs/e2e.md, "Documentation blocks").

import { describe, expect, it } from "vitest";
import {
  extractBlocks,
  firstMissingPromise,
  promisedLines,
  redactSecrets,
  substitute,
} from "../e2e/lib/doc-blocks.ts";

const doc = [
  "# Title",
  "```sh",
  "echo unmarked",
  "```",
  "<!-- e2e: first -->",
  "```sh",
  "curl http://127.0.0.1:8787/x   # → not a promise: not at the line's start",
  "# → {\"a\":[…,\"42\"]}",
  "```",
  "",
  "<!-- e2e: second -->",
  "```bash",
  "victoria-metrics -httpListenAddr=127.0.0.1:8428 -storageDataPath=/tmp/vm-data &",
  "```",
].join("\n");

describe("extractBlocks", () => {
  it("takes exactly the marked blocks, with their names, code and line", () => {
    const blocks = extractBlocks("doc.md", doc);
    expect(blocks.map((b) => b.name)).toEqual(["first", "second"]);
    expect(blocks[0]!.code).toBe('curl http://127.0.0.1:8787/x   # → not a promise: not at the line\'s start\n# → {"a":[…,"42"]}\n');
    expect(blocks[0]!.line).toBe(7);
  });

  it("refuses a marker that is not right above a shell fence", () => {
    expect(() => extractBlocks("d.md", "<!-- e2e: x -->\n\n```sh\necho\n```\n")).toThrow(/not followed/);
    expect(() => extractBlocks("d.md", "<!-- e2e: x -->\n```sh\necho\n")).toThrow(/no closing fence/);
  });
});

describe("substitute", () => {
  it("changes the two ports where they stand alone and the one path, nothing else", () => {
    const s = { workerPort: 40001, vmPort: 40002, vmDataDir: "/t/vm" };
    expect(substitute("a:8787/ 18787 87870 -httpListenAddr=127.0.0.1:8428 -storageDataPath=/tmp/vm-data 8480", s)).toBe(
      "a:40001/ 18787 87870 -httpListenAddr=127.0.0.1:40002 -storageDataPath=/t/vm 8480",
    );
  });
});

describe("promised output", () => {
  const promised = promisedLines(extractBlocks("doc.md", doc)[0]!.code);

  it("reads only `# → ` lines", () => {
    expect(promised).toEqual(['{"a":[…,"42"]}']);
  });

  it("accepts the promised line with anything where … stands", () => {
    expect(firstMissingPromise('noise\n{"a":[1795935682,"42"]}\n', promised)).toBeUndefined();
  });

  it("catches a different value, and a match that is only part of a line", () => {
    expect(firstMissingPromise('{"a":[1795935682,"41"]}\n', promised)).toBe('{"a":[…,"42"]}');
    expect(firstMissingPromise('x{"a":[1,"42"]}\n', promised)).toBe('{"a":[…,"42"]}');
    expect(firstMissingPromise("", ["401"])).toBe("401");
  });

  it("does not take a background request log for the output, and cuts it out mid-line", () => {
    // wrangler's own line holds "401" but is no command's output.
    expect(firstMissingPromise("[wrangler:info] GET /api/v1/query 401 Unauthorized (5ms)\n", ["401"])).toBe("401");
    expect(
      firstMissingPromise('{"a":[1,"42"]}[wrangler:info] GET /api/v1/query 200 OK (13ms)\n\n401\n', ['{"a":[…,"42"]}', "401"]),
    ).toBeUndefined();
  });

  it("wants the promises in order", () => {
    expect(firstMissingPromise("b\na\n", ["a", "b"])).toBe("b");
  });
});

it("redacts token and API key secrets", () => {
  expect(redactSecrets("Bearer vmat_AbC-1_x and vmak_zz9")).toBe("Bearer vmat_<redacted> and vmak_<redacted>");
});
