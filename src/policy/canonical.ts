/**
 * Canonical form of a request path, checked on the raw path exactly as sent (before any decoding).
 *
 * Upstreams percent-decode the path, and some collapse `//` (vmselect does). So anything that could
 * mean one path to us and another to VictoriaMetrics is refused, never repaired: dot segments,
 * doubled slashes, backslashes, `;` parameters, control bytes, non-ASCII, and percent-escapes of
 * characters that need none (unreserved ones such as `.` or letters) or that change structure
 * (`/`, `\`, `%` itself — which is also how double encoding like `%252e` is caught — and NUL and
 * other control bytes). A trailing slash or wrong case passes here: such a path is canonical, just
 * not an API path, and the URL map answers 404 for it.
 */

export const MAX_PATH_LENGTH = 4096;
export const MAX_SEGMENT_LENGTH = 256;

/** Raw characters a canonical path may hold: RFC 3986 pchar without `;`, plus `/` and escapes. */
const ALLOWED_RAW = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export type Canonical = { ok: true; segments: string[] } | { ok: false; problem: string };

const bad = (problem: string): Canonical => ({ ok: false, problem });

/** The path's segments (without the leading empty one), or what makes it non-canonical. */
export function canonicalSegments(rawPath: string): Canonical {
  if (!rawPath.startsWith("/")) return bad("it does not start with /");
  if (rawPath.length > MAX_PATH_LENGTH) return bad(`it is longer than ${MAX_PATH_LENGTH} characters`);
  const charProblem = rawCharacterProblem(rawPath);
  if (charProblem) return bad(charProblem);
  const escapeProblem = percentEscapeProblem(rawPath);
  if (escapeProblem) return bad(escapeProblem);
  const segments = rawPath.slice(1).split("/");
  const segmentProblem = segments.map((s, i) => segmentProblemOf(s, i === segments.length - 1)).find(Boolean);
  return segmentProblem ? bad(segmentProblem) : { ok: true, segments };
}

function rawCharacterProblem(rawPath: string): string | undefined {
  for (const ch of rawPath) {
    if (ALLOWED_RAW.test(ch)) continue;
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") return "it contains a backslash";
    if (ch === ";") return "it contains a ';' parameter";
    if (code < 0x20 || code === 0x7f) return "it contains a control byte";
    if (code > 0x7f) return "it contains non-ASCII characters";
    return `it contains U+${code.toString(16).toUpperCase().padStart(4, "0")}, which a path must percent-encode or leave out`;
  }
  return undefined;
}

function percentEscapeProblem(rawPath: string): string | undefined {
  for (let i = rawPath.indexOf("%"); i >= 0; i = rawPath.indexOf("%", i + 1)) {
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return "it contains a malformed percent-escape";
    const problem = escapedByteProblem(parseInt(hex, 16));
    if (problem) return `it contains %${hex}, ${problem}`;
  }
  return undefined;
}

function escapedByteProblem(byte: number): string | undefined {
  const ch = String.fromCharCode(byte);
  if (byte < 0x20 || byte === 0x7f) return "an encoded control byte";
  if (ch === "/" || ch === "\\") return "an encoded path separator";
  if (ch === "%") return "a double-encoded escape";
  if (UNRESERVED.test(ch)) return `an encoded '${ch}' that must be sent plain`;
  return undefined;
}

function segmentProblemOf(segment: string, isLast: boolean): string | undefined {
  if (segment === "" && !isLast) return "it contains a doubled slash";
  if (segment === "." || segment === "..") return "it contains a '.' or '..' segment";
  if (segment.length > MAX_SEGMENT_LENGTH) return `a segment is longer than ${MAX_SEGMENT_LENGTH} characters`;
  return undefined;
}
