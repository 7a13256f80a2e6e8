// This project's unit tests are typed against the Workers runtime, without Node's types; vitest
// runs them in Node, where these modules exist. Typed by hand below.
// @ts-expect-error no Node types in this tsconfig
import { readFileSync as readFile, readdirSync as readDir } from "node:fs";
import { describe, expect, it } from "vitest";
import { REFUSALS, RefusalReason, UNATTRIBUTED_REFUSALS, isRefusal, refusalReasonOf, upstreamAnswerOf } from "../../src/usage/vocabulary";

/** Every `(status, code)` the data plane can answer with, read from the sources that raise them. */
const readFileSync = readFile as (path: string, encoding: "utf8") => string;
const readdirSync = readDir as (path: string) => string[];

function dataPlaneCodes(): Map<string, number> {
  const files = ["src/errors.ts", ...["src/data", "src/policy", "src/limiter"].flatMap((dir) => readdirSync(dir).map((f) => `${dir}/${f}`))];
  const codes = new Map<string, number>();
  const patterns = [/\brefuse\(\s*(\d{3}),\s*"([a-z_]+)"/g, /\bHttpError\(\s*(\d{3}),\s*"([a-z_]+)"/g, /\bsuper\(\s*(\d{3}),\s*"([a-z_]+)"/g];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const re of patterns) for (const m of text.matchAll(re)) codes.set(m[2]!, Number(m[1]));
    // Constructors that take the code and fix the status (errors.ts).
    for (const m of text.matchAll(/\bserviceUnavailable\(\s*"([a-z_]+)"/g)) codes.set(m[1]!, 503);
  }
  return codes;
}

describe("refusal vocabulary", () => {
  const codes = dataPlaneCodes();

  it("finds the data plane's codes in the sources (the scan itself works)", () => {
    for (const code of ["unauthorized", "forbidden_path", "too_many_requests", "storage_unavailable", "limiter_unavailable", "too_many_failed_authentications"]) {
      expect(codes.has(code), code).toBe(true);
    }
  });

  it("names every code the data plane answers with, at the status it answers", () => {
    // `unauthorized` is split three ways below; the management API's own codes live in errors.ts too.
    const managementOnly = new Set(["not_found", "invalid_request", "token_limit_reached", "revocation_incomplete", "not_configured"]);
    for (const [code, status] of codes) {
      if (code === "unauthorized" || managementOnly.has(code)) continue;
      const reason = RefusalReason.safeParse(code);
      expect(reason.success, `${code} missing from RefusalReason (src/usage/vocabulary.ts)`).toBe(true);
      expect(REFUSALS[reason.data!].status, code).toBe(status);
    }
    for (const split of ["unknown_token", "revoked_token", "expired_token"] as const) expect(REFUSALS[split].status).toBe(codes.get("unauthorized"));
  });

  it("maps codes to reasons, splitting unauthorized by what the caller knows", () => {
    expect(refusalReasonOf("unauthorized")).toBe("unknown_token");
    expect(refusalReasonOf("unauthorized", "revoked")).toBe("revoked_token");
    expect(refusalReasonOf("unauthorized", "expired")).toBe("expired_token");
    expect(refusalReasonOf("tenant_in_path")).toBe("tenant_in_path");
    expect(refusalReasonOf("some_future_code")).toBe("internal_error");
  });

  it("tells refusals from upstream answers", () => {
    expect(isRefusal("too_many_requests")).toBe(true);
    expect(isRefusal("5xx")).toBe(false);
    for (const r of UNATTRIBUTED_REFUSALS) expect(isRefusal(r)).toBe(true);
  });

  it.each([
    [101, "2xx"],
    [200, "2xx"],
    [204, "2xx"],
    [299, "2xx"],
    [302, "3xx"],
    [400, "4xx"],
    [429, "4xx"],
    [499, "4xx"],
    [500, "5xx"],
    [503, "5xx"],
    [599, "5xx"],
  ])("upstream status %i is %s", (status, answer) => {
    expect(upstreamAnswerOf(status)).toBe(answer);
  });
});
