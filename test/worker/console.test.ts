import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/**
 * The console's routes inside workerd: the headers that make it safe by construction (policy,
 * framing, caching), escaping of what a URL puts into a page, and that /console/* never falls
 * through to the data plane. The workflow itself is tested in a real browser (test/browser).
 */

const worker = exports as unknown as { default: { fetch(input: string | Request, init?: RequestInit): Promise<Response> } };
const ORIGIN = "http://authorizer.test";

function get(path: string, init?: RequestInit): Promise<Response> {
  return worker.default.fetch(`${ORIGIN}${path}`, init);
}

/** The Content-Security-Policy as directive → sources. */
function csp(res: Response): Map<string, string[]> {
  const header = res.headers.get("content-security-policy") ?? "";
  return new Map(
    header
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe("console pages", () => {
  it("serve HTML under a strict nonce-based policy, not frameable, never cached", async () => {
    const res = await get("/console");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const policy = csp(res);
    expect(policy.get("default-src")).toEqual(["'none'"]);
    const scriptSrc = policy.get("script-src") ?? [];
    expect(scriptSrc).toHaveLength(1);
    expect(scriptSrc[0]).toMatch(/^'nonce-[A-Za-z0-9+/]{22}==?'$/);
    expect(policy.get("style-src")).toEqual(["'self'"]);
    expect(policy.get("connect-src")).toEqual(["'self'"]);
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    expect(policy.get("form-action")).toEqual(["'none'"]);
    expect(policy.get("base-uri")).toEqual(["'none'"]);
    expect(policy.get("require-trusted-types-for")).toEqual(["'script'"]);
    expect(policy.get("trusted-types")).toEqual(["'none'"]);
    expect(res.headers.get("content-security-policy")).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("carry exactly one script: external, with the nonce of the policy", async () => {
    const res = await get("/console");
    const html = await res.text();
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![0]).toContain('src="/console/app.js"');
    expect(scripts[0]![0]).toContain(`nonce="${nonce}"`);
    expect(scripts[0]![1]).toBe(""); // no inline code
    expect(html).not.toMatch(/\son[a-z]+=/i); // no event-handler attributes
    expect(html).not.toMatch(/\sstyle=/i); // no inline style (the policy would refuse it)
  });

  it("use a fresh nonce for every response", async () => {
    const [a, b] = await Promise.all([get("/console"), get("/console")]);
    expect(csp(a).get("script-src")).not.toEqual(csp(b).get("script-src"));
  });

  it("keep the API key field out of any form submission", async () => {
    const html = await (await get("/console")).text();
    const input = /<input[^>]*id="api-key"[^>]*>/.exec(html)?.[0] ?? "";
    expect(input).toContain('type="password"');
    expect(input).not.toMatch(/\sname=/);
    expect(html).toMatch(/<label for="api-key">API key<\/label>/);
  });

  it("answer the deployment views, and redirect a trailing slash to the page", async () => {
    const slash = await get("/console/deployments/abc/", { redirect: "manual" });
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe(`${ORIGIN}/console/deployments/abc`);
    expect((await get("/console/", { redirect: "manual" })).headers.get("location")).toBe(`${ORIGIN}/console`);
    for (const path of ["/console", "/console/deployments/abc", "/console/deployments/abc/access-tokens"]) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(csp(res).get("frame-ancestors"), path).toEqual(["'none'"]);
    }
    const html = await (await get("/console/deployments/abc/access-tokens")).text();
    expect(html).toContain('data-view="access-tokens"');
    expect(html).toContain('data-deployment-id="abc"');
    expect(html).toContain('<a href="/console/deployments/abc/access-tokens" aria-current="page">');
  });

  it("escape a deployment id taken from the URL in text, attributes and links", async () => {
    const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const res = await get(`/console/deployments/${encodeURIComponent(hostile)}/access-tokens`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain('data-deployment-id="&quot;&gt;&lt;script&gt;');
    expect(html).toContain(`href="/console/deployments/${encodeURIComponent(hostile)}"`);
  });
});

describe("console assets", () => {
  it("serve the client script as JavaScript that keeps the key in sessionStorage only", async () => {
    const res = await get("/console/app.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const script = await res.text();
    expect(script.startsWith('"use strict";')).toBe(true);
    expect(script).toContain("sessionStorage");
    expect(script).toContain("X-VM-Cloud-Access");
    expect(script).not.toMatch(/localStorage|document\.cookie|innerHTML|outerHTML|insertAdjacentHTML|console\.log/);
  });

  it("serve the stylesheet and icon with their types", async () => {
    const css = await get("/console/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    const icon = await get("/console/favicon.svg");
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
  });
});

describe("the /console prefix", () => {
  it("answers unknown pages itself with a 404 page under the same policy, not the data plane", async () => {
    const res = await get("/console/api/v1/write");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(csp(res).get("frame-ancestors")).toEqual(["'none'"]);
    expect(await res.text()).toContain("No such console page");
  });

  it("refuses other methods with 405", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await get("/console", { method, body: "x" });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
  });
});
