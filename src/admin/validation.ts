import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import { HttpError } from "../errors";
import type { AdminEnv } from "./context";

/**
 * The validation hook: request bodies are parsed with zod and every failure is rendered as
 * `400 {error: "invalid_request", message: "<field>: <rule>", field: "<field>"}` — our format,
 * never zod's raw issue list. "body" names the body as a whole.
 */

export function invalidRequest(field: string, rule: string): HttpError {
  return new HttpError(400, "invalid_request", `${field}: ${rule}`, {}, { field });
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

function fieldOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "body" : path.map(String).join(".");
}

function describe(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** The first problem of a failed parse, as field and rule. Unknown fields are reported first. */
export function describeIssue(issues: readonly z.core.$ZodIssue[]): { field: string; rule: string } {
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  if (!issue) return { field: "body", rule: "invalid" };
  switch (issue.code) {
    case "unrecognized_keys":
      return { field: fieldOf([...issue.path, issue.keys[0] ?? ""]), rule: "unknown field" };
    case "invalid_type":
      if (issue.input === undefined) return { field: fieldOf(issue.path), rule: "required" };
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

/** Parses the JSON body with `schema`; handlers read the result with `c.req.valid("json")`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return createMiddleware<AdminEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }>(
    async function validateJsonBody(c, next) {
      const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (!JSON_MEDIA_TYPE.test(mediaType)) throw invalidRequest("body", "send a JSON body with Content-Type: application/json");
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        throw invalidRequest("body", "is not valid JSON");
      }
      // reportInput lets the hook tell a missing field from a wrong type; inputs are never echoed.
      const parsed = schema.safeParse(raw, { reportInput: true });
      if (!parsed.success) {
        const { field, rule } = describeIssue(parsed.error.issues);
        throw invalidRequest(field, rule);
      }
      c.req.addValidatedData("json", parsed.data as object);
      await next();
    },
  );
}
