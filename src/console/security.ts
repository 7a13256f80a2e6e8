import { NONCE, secureHeaders } from "hono/secure-headers";

/**
 * Response headers of every console route. The policy is the console's safety net: even if a
 * value from the API reached the page unescaped, it could not run script, load anything from
 * elsewhere, send data anywhere but this origin, or be framed.
 *
 * - `script-src` names only the per-response nonce: the one <script src=/console/app.js> the
 *   page carries runs; inline script, event-handler attributes and injected tags do not.
 * - `require-trusted-types-for 'script'` with `trusted-types 'none'`: the browser refuses every
 *   HTML-parsing sink (innerHTML, outerHTML, document.write, …), so the client can only build the
 *   page with createElement/textContent — escaping by construction.
 * - `form-action 'none'`: a form can never be submitted natively, so a form that script failed
 *   to take over cannot put the API key in a URL (the key field has no `name` either).
 * - `frame-ancestors 'none'` and `X-Frame-Options: DENY`: no clickjacking through a frame.
 * - `connect-src 'self'`: the page talks to this Worker's /admin API and nothing else.
 */
export const consoleSecurityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    requireTrustedTypesFor: ["'script'"],
    trustedTypes: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  crossOriginOpenerPolicy: "same-origin",
  crossOriginResourcePolicy: "same-origin",
  // The console writes to the clipboard (copy a secret, an endpoint, a snippet) and needs nothing else.
  permissionsPolicy: {
    clipboardWrite: ["self"],
    camera: [],
    microphone: [],
    geolocation: [],
    payment: [],
    usb: [],
  },
});
