import type { Hono } from "hono";
import { handleDataRequest } from "./data/data-plane";
import { toErrorResponse } from "./errors";

export { LocationLimiter } from "./limiter/location-limiter";
export { TokenLimiter } from "./limiter/token-limiter";

/**
 * Two planes behind one URL. `/admin` and `/console` are the management plane, a Hono app loaded
 * on its first request: its modules (zod schemas, the OpenAPI generator, the console) are most of
 * the bundle and are not evaluated by an isolate that only proxies. Everything else is the data
 * plane, dispatched without a router.
 */
let management: Promise<Hono<{ Bindings: Env }>> | undefined;

function loadManagement(): Promise<Hono<{ Bindings: Env }>> {
  management ??= (async () => {
    const [{ Hono }, { adminApp }, { consoleApp }] = await Promise.all([import("hono"), import("./admin"), import("./console")]);
    const app = new Hono<{ Bindings: Env }>();
    app.onError((err, c) => toErrorResponse(err, c.req.header("cf-ray") ?? undefined));
    app.route("/admin", adminApp);
    app.route("/console", consoleApp);
    return app;
  })();
  management.catch(() => (management = undefined)); // a failed load is retried by the next request
  return management;
}

/** `/admin`, `/admin/...`, `/console`, `/console/...` (as sent; nothing else is management). */
function isManagementPath(url: string): boolean {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  if (pathStart < 0) return false;
  for (const prefix of ["/admin", "/console"]) {
    if (url.startsWith(prefix, pathStart)) {
      const next = url[pathStart + prefix.length];
      if (next === undefined || next === "/" || next === "?" || next === "#") return true;
    }
  }
  return false;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (isManagementPath(request.url)) return (await loadManagement()).fetch(request, env, ctx);
    try {
      return await handleDataRequest(request, env, ctx);
    } catch (err) {
      return toErrorResponse(err, request.headers.get("cf-ray") ?? undefined);
    }
  },
} satisfies ExportedHandler<Env>;
