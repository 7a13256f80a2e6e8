/**
 * Query arguments as VictoriaMetrics (Go's net/url, built with Go 1.19.8 in the Debian 1.79.5
 * package) reads them, for one purpose: find and drop every argument a client could use to widen
 * a label scope — `extra_label`, `extra_filters`, `extra_filters[]` — in any spelling, while
 * forwarding every other argument byte for byte.
 *
 * How Go reads `a=b&c=d` (url.ParseQuery): pairs are split on `&`; a pair holding `;` is ignored
 * (Go >= 1.17; older Go split on `;` too); the key is what precedes the first `=`; keys and values
 * are unescaped (`+` is a space, `%XX` a byte; a bad escape makes Go ignore the pair); keys are
 * compared byte for byte, so `EXTRA_LABEL` is another argument (test/e2e/label-scope-vm.e2e.ts
 * shows each of these against the real binary).
 *
 * Dropping is deliberately broader than Go: a pair is dropped when any `;`-separated piece of it
 * has a key that, unescaped leniently up to three times and compared without ASCII case, names a
 * widening argument. That covers what Go reads today, what an older Go would read, and what a
 * proxy that decodes once more or folds case would read; the only cost is dropping arguments that
 * VictoriaMetrics would ignore anyway.
 */

const WIDENING = new Set(["extra_label", "extra_filters", "extra_filters[]"]);

/** Is this raw `key=value` pair (as sent, still escaped) one VictoriaMetrics could read as a widening argument? */
export function isWideningPair(rawPair: string): boolean {
  const pieces = rawPair.includes(";") ? rawPair.split(";") : [rawPair];
  return pieces.some((piece) => {
    const eq = piece.indexOf("=");
    return isWideningKey(eq === -1 ? piece : piece.slice(0, eq));
  });
}

/** Lengths of the widening names; unescaping only shortens a key, and `+` becomes a space none of them holds. */
const WIDENING_LENGTHS = new Set([...WIDENING].map((name) => name.length));

function isWideningKey(rawKey: string): boolean {
  // Fast path for the usual keys (query, start, match[], ...): no escape, so one comparison decides.
  if (!rawKey.includes("%")) return WIDENING_LENGTHS.has(rawKey.length) && WIDENING.has(asciiLower(rawKey));
  let key = rawKey;
  for (let round = 0; round < 4; round++) {
    if (WIDENING.has(asciiLower(key))) return true;
    const next = unescapeLeniently(key);
    if (next === key) return false;
    key = next;
  }
  return WIDENING.has(asciiLower(key));
}

/** `+` → space, `%XX` → the character with that code (a byte, as Go reads it); a bad escape stays as it is. */
function unescapeLeniently(text: string): string {
  return text.replace(/\+/g, " ").replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * The raw query string (with or without its leading `?`) without any widening pair; every other
 * pair is kept exactly as sent, in order, empty pairs included. No leading `?` in the answer.
 */
export function withoutWideningArgs(rawQuery: string): string {
  return dropWideningPairs(rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery);
}

function dropWideningPairs(text: string): string {
  if (text === "") return "";
  return text
    .split("&")
    .filter((pair) => !isWideningPair(pair))
    .join("&");
}

/** `extra_label=<name>=<value>` pairs in name order; values escaped for Go's unescape (UTF-8). */
export function extraLabelArgs(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .sort()
    .map((name) => `extra_label=${name}=${encodeURIComponent(labels[name]!)}`);
}

// ---------------------------------------------------------------------------------------------
// Form bodies

/**
 * What the data path must do with a request body on an endpoint whose handler reads `r.Form`
 * (vmselect), for a label-scoped token. Go merges into `r.Form` an
 * `application/x-www-form-urlencoded` body (Content-Type compared without case, parameters
 * allowed) on POST, PUT and PATCH, and a `multipart/form-data` body whenever a handler calls
 * `FormValue` — which they all do. Any other body is never read as arguments.
 *
 * - `forward`: no form body; stream it unchanged.
 * - `rewrite`: an urlencoded body; buffer it (at most MAX_SCOPED_FORM_BODY_BYTES) and send
 *   `scopeFormBody(body)` instead.
 * - `refuse`: multipart, or a Content-Type that mentions a form type in a shape we do not
 *   parse exactly like Go; the client can send the same arguments urlencoded or in the URL.
 */
export type FormBodyHandling = "forward" | "rewrite" | "refuse";

/** Query API bodies are small: VictoriaMetrics caps a query at 16 KiB (-search.maxQueryLen). */
export const MAX_SCOPED_FORM_BODY_BYTES = 256 * 1024;

export function formBodyHandling(contentType: string | null | undefined): FormBodyHandling {
  if (!contentType) return "forward";
  const lower = asciiLower(contentType);
  const base = lower.split(";", 1)[0]!.trim();
  if (base === "application/x-www-form-urlencoded") return "rewrite";
  if (lower.includes("multipart") || lower.includes("form-urlencoded") || lower.includes("form-data")) return "refuse";
  return "forward";
}

/**
 * An urlencoded form body without its widening pairs, byte for byte otherwise. Works on bytes so
 * that a body that is not UTF-8 passes unchanged (each byte is one character while we look at it).
 */
export function scopeFormBody(body: Uint8Array): Uint8Array {
  let text = "";
  for (let i = 0; i < body.length; i += 8192) {
    text += String.fromCharCode(...body.subarray(i, i + 8192));
  }
  const kept = dropWideningPairs(text);
  const out = new Uint8Array(kept.length);
  for (let i = 0; i < kept.length; i++) out[i] = kept.charCodeAt(i);
  return out;
}
