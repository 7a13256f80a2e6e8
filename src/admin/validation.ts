import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import { invalidRequest } from "../errors";
import type { AdminEnv } from "./context";

/**
 * Request validation. Routes declare their path, query and body schemas once, in
 * `createRoute` (src/admin/*.ts); @hono/zod-openapi validates requests with them and
 * describes them in /admin/openapi.json. Every failure goes through `validationHook` and is
 * rendered as `400 {error: "invalid_request", message: "<field>: <rule>", field: "<field>"}` —
 * our format, never zod's raw issue list. "body" names the body as a whole.
 */

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A dotted path; a key that is not a plain name is JSON-quoted, so the field is never blank. */
function fieldOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "body";
  return path.map((key) => (typeof key === "number" || /^[\w-]+$/.test(String(key)) ? String(key) : JSON.stringify(String(key)))).join(".");
}

function describe(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

// zod's own English messages; any other message was written in a schema as the rule itself.
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized key|Expected|Required)/;

/** The value at `path` inside `input`, or undefined when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The first problem of a failed parse, as field and rule. Unknown fields are reported first.
 * `input` (the value that was parsed) tells a missing field from one of the wrong type.
 */
export function describeIssue(issues: readonly z.core.$ZodIssue[], input?: unknown): { field: string; rule: string } {
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  if (!issue) return { field: "body", rule: "invalid" };
  // A rule written in the schema ({ message }) wins over the generic wording below.
  if (!ZOD_DEFAULT_MESSAGE.test(issue.message)) return { field: fieldOf(issue.path), rule: issue.message };
  if ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.path.length > 0 && valueAt(input, issue.path) === undefined) {
    return { field: fieldOf(issue.path), rule: "required" };
  }
  switch (issue.code) {
    case "unrecognized_keys":
      return { field: fieldOf([...issue.path, issue.keys[0] ?? ""]), rule: "unknown field" };
    case "invalid_type":
      return { field: fieldOf(issue.path), rule: `must be ${issue.expected === "object" ? "a JSON object" : `a ${issue.expected}`}` };
    case "invalid_value":
      return { field: fieldOf(issue.path), rule: `must be one of ${describe(issue.values)}` };
    case "invalid_union":
      if ("options" in issue && Array.isArray(issue.options)) {
        return { field: fieldOf(issue.path), rule: `must be one of ${describe(issue.options)}` };
      }
      return { field: fieldOf(issue.path), rule: "invalid value" };
    case "too_small":
      if (issue.origin === "string") {
        return { field: fieldOf(issue.path), rule: Number(issue.minimum) === 1 ? "must not be empty" : `must be at least ${issue.minimum} characters` };
      }
      return { field: fieldOf(issue.path), rule: `must be at least ${issue.minimum}` };
    case "too_big":
      if (issue.origin === "string") return { field: fieldOf(issue.path), rule: `must be at most ${issue.maximum} characters` };
      return { field: fieldOf(issue.path), rule: `must be at most ${issue.maximum}` };
    default:
      return { field: fieldOf(issue.path), rule: issue.message };
  }
}

/** The defaultHook of every management route: a failed parse becomes our 400, thrown to onError. */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError; data?: unknown }): void {
  if (result.success) return;
  const { field, rule } = describeIssue(result.error.issues, result.data);
  throw invalidRequest(field, rule);
}

/**
 * Runs before the body schema on every route that takes JSON. It refuses a body that is not
 * JSON in our format (the validator alone would answer with its own), and accepts a request
 * without Content-Type as JSON: the VictoriaMetrics Cloud Go client and Terraform provider send
 * none. Any other Content-Type is refused. The request is then handed on with
 * `Content-Type: application/json` and the body already read, so the schema sees what was sent.
 */
export const jsonRequest = createMiddleware<AdminEnv>(async function jsonRequest(c, next) {
  const contentType = c.req.header("content-type");
  const mediaType = contentType?.split(";")[0]?.trim() ?? "";
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(mediaType)) {
    throw invalidRequest("body", "send a JSON body with Content-Type: application/json");
  }
  const text = await c.req.text();
  try {
    JSON.parse(text);
  } catch {
    throw invalidRequest("body", "is not valid JSON");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  // HonoRequest keeps the text it read in bodyCache, so the validator's c.req.json() reuses it.
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: text });
  await next();
});
