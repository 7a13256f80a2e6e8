// The patched builds the breakdown section measures: each is the shipped source with a few exact
// text replacements. A replacement whose text is no longer in src/ is an error, not a skipped
// variant (test/scripts/bench-variants.test.ts checks every one against the current source), so the
// breakdown cannot quietly stop measuring what docs/benchmarks.md says it measures.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Patch {
  file: string;
  find: string;
  replace: string;
}

/** The upstream body returned as is: permit released at the headers (unsafe; measurement only). */
export const NO_RELAY: Patch = {
  file: "src/data/forward.ts",
  find: "const relayed = relay(readable, length, route.path, deadline);",
  replace: "return new Response(readable, responseInit(upstream, headers));",
};

/** Every body through the JavaScript relay (the path of exports), none piped by the runtime. */
export const JS_RELAY: Patch = {
  file: "src/data/forward.ts",
  find: "if ((known && length <= NATIVE_RELAY_MAX_BYTES) || !LONG_STREAM.test(path)) {",
  replace: "if (length < 0) {",
};

/** The runtime's pipe without its abort signal: what the signal costs. */
export const NO_PIPE_SIGNAL: Patch = {
  file: "src/data/forward.ts",
  find: "body.pipeTo(pipe.writable, { signal: deadline.signal })",
  replace: "body.pipeTo(pipe.writable)",
};

/** The runtime's pipe, but the permit released at the headers and no waitUntil: what holding it costs. */
export const NO_WAIT_UNTIL: Patch = {
  file: "src/data/forward.ts",
  find: "ctx.waitUntil(\n      relayed.ended.finally(() => {",
  replace: "permit.release();\n    void Promise.resolve(\n      relayed.ended.finally(() => {",
};

/** No permit at all: what the limiter's local bookkeeping costs. */
export const NO_PERMIT: Patch = {
  file: "src/data/permit.ts",
  find: "const result = await acquirePermit(",
  replace: "if (record) return { release() {} };\n  const result = await acquirePermit(",
};

export const VARIANTS: { name: string; patches: Patch[] }[] = [
  { name: "authorizer", patches: [] },
  { name: "JS relay", patches: [JS_RELAY] },
  { name: "pipe without signal", patches: [NO_PIPE_SIGNAL] },
  { name: "pipe, no waitUntil", patches: [NO_WAIT_UNTIL] },
  { name: "no relay", patches: [NO_RELAY] },
  { name: "no relay, no permit", patches: [NO_RELAY, NO_PERMIT] },
];

/** `text` with `patch` applied exactly once; throws when its text is missing or ambiguous. */
export function applyPatch(text: string, patch: Patch): string {
  const at = text.indexOf(patch.find);
  if (at < 0 || text.indexOf(patch.find, at + 1) >= 0) {
    throw new Error(`bench variant patch for ${patch.file} ${at < 0 ? "no longer matches" : "matches more than once"}: ${JSON.stringify(patch.find)}`);
  }
  return text.slice(0, at) + patch.replace + text.slice(at + patch.find.length);
}

/** Applies `patches` to the copy of the source under `root`. */
export function patchTree(root: string, patches: Patch[]): void {
  for (const p of patches) {
    const path = join(root, p.file);
    writeFileSync(path, applyPatch(readFileSync(path, "utf8"), p));
  }
}
