import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { acceptsEncoding, clientAcceptEncoding, decoderFor, upstreamAcceptEncoding } from "../../src/data/encoding";

describe("acceptsEncoding", () => {
  it.each([
    ["", "gzip", false],
    ["gzip", "gzip", true],
    ["GZIP", "gzip", true],
    ["x-gzip", "gzip", true],
    ["gzip", "x-gzip", true],
    ["br, gzip", "gzip", true],
    ["br", "gzip", false],
    ["gzip;q=0", "gzip", false],
    ["gzip; q=0.5", "gzip", true],
    ["*", "gzip", true],
    ["*;q=0", "gzip", false],
    ["*, gzip;q=0", "gzip", false],
    ["gzip, *;q=0", "gzip", true],
    ["identity", "gzip", false],
    ["gzip", "gzip, br", false],
    ["gzip, br", "gzip, br", true],
  ])("Accept-Encoding %j, Content-Encoding %j → %s", (accept, coding, expected) => {
    expect(acceptsEncoding(accept, coding)).toBe(expected);
  });

  it("identity (or no coding) is readable by every client", () => {
    fc.assert(fc.property(fc.string(), (accept) => acceptsEncoding(accept, "identity") && acceptsEncoding(accept, "")));
  });

  it("a coding the client never named, with no `*`, is never acceptable", () => {
    const coding = fc.constantFrom("gzip", "br", "zstd", "deflate");
    const named = fc.array(fc.constantFrom("gzip", "br", "zstd", "deflate", "identity"), { maxLength: 4 });
    fc.assert(fc.property(coding, named, (c, list) => acceptsEncoding(list.join(", "), c) === list.includes(c)));
  });
});

describe("what the client accepts and what the upstream is asked for", () => {
  it("prefers request.cf.clientAcceptEncoding, even when empty, over the rewritten header", () => {
    const withCf = new Request("http://x/", { headers: { "accept-encoding": "br, gzip" } });
    Object.defineProperty(withCf, "cf", { value: { clientAcceptEncoding: "" } });
    expect(clientAcceptEncoding(withCf)).toBe("");
    expect(clientAcceptEncoding(new Request("http://x/", { headers: { "accept-encoding": "gzip" } }))).toBe("gzip");
    expect(clientAcceptEncoding(new Request("http://x/"))).toBe("");
  });

  it("asks the upstream for identity when the client named nothing, else for the client's header as sent", () => {
    expect(upstreamAcceptEncoding("")).toBe("identity");
    expect(upstreamAcceptEncoding("  ")).toBe("identity");
    expect(upstreamAcceptEncoding("gzip, deflate")).toBe("gzip, deflate");
  });

  it("decodes what DecompressionStream reads, nothing else", () => {
    expect(decoderFor("gzip")).toBe("gzip");
    expect(decoderFor("X-Gzip")).toBe("gzip");
    expect(decoderFor("deflate")).toBe("deflate");
    expect(decoderFor("br")).toBeUndefined();
    expect(decoderFor("gzip, br")).toBeUndefined();
  });
});
