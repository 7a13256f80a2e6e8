import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers through the DO", async () => {
  const res = await exports.default.fetch("http://x/healthz");
  expect(await res.text()).toBe("pong");
});
