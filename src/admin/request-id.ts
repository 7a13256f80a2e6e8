import { createMiddleware } from "hono/factory";
import type { AdminEnv } from "./context";

// cf-ray is set by Cloudflare's edge; locally a client could send anything, so only a plain token is kept.
const SAFE_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Gives every management request an id for the audit log and returns it as `x-request-id`. */
export const requestId = createMiddleware<AdminEnv>(async function requestId(c, next) {
  const ray = c.req.header("cf-ray");
  const id = ray && SAFE_ID.test(ray) ? ray : crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("x-request-id", id);
});
