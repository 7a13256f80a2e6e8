import { describe, expect, it } from "vitest";
import { checkAllowedNetworks, scopeForToken } from "../../src/policy/token-policy";

// The data path's entry to a token's allowlist and label scope (src/policy/token-policy.ts). The
// rules themselves are property-tested in policy-networks.test.ts and policy-label-scope.test.ts.

describe("checkAllowedNetworks", () => {
  const networks = ["10.0.0.0/8", "2001:db8::/32"];

  it("allows any address when the token has no allowlist", () => {
    expect(checkAllowedNetworks(undefined, "203.0.113.9")).toBeUndefined();
    expect(checkAllowedNetworks(undefined, null)).toBeUndefined();
  });

  it.each(["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::1"])("allows %s inside the allowlist", (ip) => {
    expect(checkAllowedNetworks(networks, ip)).toBeUndefined();
  });

  it.each([
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db9::1", "2001:db9::1"],
    [null, "an unknown address"],
    ["10.1.2.3, 203.0.113.9", "an unknown address"],
  ])("refuses %j with 403 naming %s", (ip, shown) => {
    expect(checkAllowedNetworks(networks, ip)).toEqual({ ok: false, status: 403, code: "address_not_allowed", reason: expect.stringContaining(`not allowed from ${shown};`) });
  });

  it("compiles a record's allowlist once and keeps answering the same", () => {
    const list = ["192.168.0.0/16"];
    for (let i = 0; i < 3; i++) {
      expect(checkAllowedNetworks(list, "192.168.1.1")).toBeUndefined();
      expect(checkAllowedNetworks(list, "192.169.1.1")?.status).toBe(403);
    }
  });
});

describe("scopeForToken", () => {
  it("forwards the query as sent and the body untouched for a token without labels", () => {
    expect(scopeForToken(undefined, "/api/v1/query", "?query=up&extra_label=a%3Db", "application/x-www-form-urlencoded")).toEqual({
      ok: true,
      search: "?query=up&extra_label=a%3Db",
      body: "forward",
    });
    expect(scopeForToken(undefined, "/api/v1/query", "", null)).toEqual({ ok: true, search: "", body: "forward" });
  });

  it("applies the label scope of a token with labels", () => {
    expect(scopeForToken({ team: "a" }, "/api/v1/query", "?query=up&EXTRA_LABEL=x%3Dy", null)).toEqual({ ok: true, search: "?query=up&extra_label=team=a", body: "forward" });
    expect(scopeForToken({ team: "a" }, "/api/v1/series/count", "", null)).toMatchObject({ ok: false, status: 403, code: "label_scope_unsupported" });
  });
});
