import { Hono } from "hono";
import type { SecureHeadersVariables } from "hono/secure-headers";
import { trimTrailingSlash } from "hono/trailing-slash";
import { CONSOLE_SCRIPT } from "./app-script";
import { AccessTokensPage, DeploymentsPage, NotFoundPage, OverviewPage } from "./pages";
import { consoleSecurityHeaders } from "./security";
import { CONSOLE_CSS, CONSOLE_ICON } from "./styles";

/**
 * The console, mounted at /console: the seed's "Access tokens" workflow in a browser. Pages are
 * frames rendered here; the data comes from the management API under /admin, called by the
 * client script with the API key the user entered (see pages.tsx and client/). Every response
 * carries the policy of security.ts.
 */

type ConsoleEnv = { Bindings: Env; Variables: SecureHeadersVariables };

/** Pages hold a per-response nonce and lead to personal data: never stored by any cache. */
const PAGE_CACHE = "no-store";
/** Assets change with each deploy and are small: always revalidate. */
const ASSET_CACHE = "no-cache";

function nonceOf(c: { get(key: "secureHeadersNonce"): string | undefined }): string {
  const nonce = c.get("secureHeadersNonce");
  // secureHeaders sets it before the handler runs whenever the policy uses NONCE.
  if (!nonce) throw new Error("console: no CSP nonce for this response");
  return nonce;
}

export const consoleApp = new Hono<ConsoleEnv>()
  .use(consoleSecurityHeaders)
  // /console/ → /console (and so on): one URL per page, whatever the router's strictness.
  .use(trimTrailingSlash({ alwaysRedirect: true }))
  .use(async function consoleCacheControl(c, next) {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("cache-control", PAGE_CACHE);
  })
  .get("/", function deploymentsPage(c) {
    return c.html(<DeploymentsPage nonce={nonceOf(c)} />);
  })
  .get("/deployments/:id", function overviewPage(c) {
    return c.html(<OverviewPage nonce={nonceOf(c)} id={c.req.param("id")} />);
  })
  .get("/deployments/:id/access-tokens", function accessTokensPage(c) {
    return c.html(<AccessTokensPage nonce={nonceOf(c)} id={c.req.param("id")} />);
  })
  .get("/app.js", function consoleScript(c) {
    return c.body(CONSOLE_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": ASSET_CACHE });
  })
  .get("/app.css", function consoleStylesheet(c) {
    return c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": ASSET_CACHE });
  })
  .get("/favicon.svg", function consoleIcon(c) {
    return c.body(CONSOLE_ICON, 200, { "content-type": "image/svg+xml", "cache-control": ASSET_CACHE });
  })
  // The console owns /console/*: nothing under it falls through to the data plane.
  .all("*", function consoleNotFound(c) {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.text("The console only answers GET; the management API is under /admin.", 405, { allow: "GET, HEAD" });
    }
    return c.html(<NotFoundPage nonce={nonceOf(c)} />, 404);
  });
