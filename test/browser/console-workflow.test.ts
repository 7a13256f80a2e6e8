// The console's "Access tokens" workflow in a real browser: Debian's chromium (headless), driven by
// playwright-core, against the Worker as wrangler bundles it, running in workerd on loopback.
// The deployments' upstream is a recording upstream, so a write through the data plane can be
// seen arriving — and, once the token is deleted, not arriving.
//
// Screenshots of every page, at desktop and phone width: test-results/console/*.png.
// Run: npm run test:browser

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempRoot, sleep } from "../e2e/lib/processes.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../e2e/lib/recording-upstream.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "../e2e/lib/worker.ts";
import { admin, type Admin, type DeploymentJson } from "./lib/admin.ts";
import {
  clearClipboard,
  DESKTOP,
  launchChromium,
  newConsoleContext,
  PHONE,
  readClipboard,
  resetScreenshots,
  screenshot,
  watch,
  type PageProblems,
  type Viewport,
} from "./lib/browser.ts";

const SECRET_SHAPE = /^vmat_[0-9A-Za-z]{50}$/;
const STORAGE_KEY = "vm-console.api-key";

let worker: WorkerHarness;
let upstream: RecordingUpstream;
let browser: Browser;
let api: Admin;
let single: DeploymentJson;
let cluster: DeploymentJson;
let hostile: DeploymentJson;

/** Every page any test opened, checked at the end for errors and for secrets in URLs. */
const watched: PageProblems[] = [];
/** Every secret and key the run handled: none may appear in a URL or the Worker's log. */
const secrets: string[] = [];
let failed = false;

beforeAll(async () => {
  resetScreenshots();
  [upstream, worker] = await Promise.all([startRecordingUpstream(), startWorker()]);
  secrets.push(worker.adminApiKey);
  api = admin(worker);
  single = await api.createDeployment({ name: "Production metrics", type: "single_node", tier: 21, upstream_url: upstream.url });
  cluster = await api.createDeployment({ name: "EU cluster", type: "cluster", tier: 40, insert_url: upstream.url, select_url: upstream.url });
  // A name that is markup: it must show as text and run nothing.
  hostile = await api.createDeployment({
    name: `<img src=x onerror="window.pwned=1"> & "friends"`,
    type: "single_node",
    tier: 20,
    upstream_url: upstream.url,
  });
  browser = await launchChromium();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await browser?.close();
  await stopAllWorkers();
  await upstream?.stop();
  cleanupTempRoot(failed); // the Worker's log and state stay for a failed run

});

async function openPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  watched.push(watch(page));
  return page;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#login").waitFor({ state: "hidden" });
}

/** Waits for a polite status line (the page's, or the open dialog's) to say `text` (e.g. "copied"). */
async function statusSays(page: Page, text: string): Promise<string> {
  const status = page.locator(".status.visible", { hasText: text });
  await status.waitFor();
  return (await status.textContent()) ?? "";
}

function tokenRow(page: Page, name: string) {
  return page.locator("#tokens-body tr", { has: page.getByRole("rowheader", { name, exact: true }) });
}

async function openActions(page: Page, tokenName: string, item: "Examples" | "Test a URL" | "Rotate" | "Delete"): Promise<void> {
  await page.getByRole("button", { name: `Actions for token ${tokenName}` }).click();
  const menuItem = page.locator(".menu:popover-open").getByRole("button", { name: item, exact: true });
  await menuItem.waitFor();
  await menuItem.click();
}

/** True when nothing sticks out sideways: readable at phone width without horizontal scrolling. */
function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

describe("the Access tokens workflow at desktop width", () => {
  const view: Viewport = DESKTOP;
  let context: BrowserContext;
  let page: Page;
  const tokenName = "vmagent on prod-1";
  let secret = "";
  let importUrl = "";

  beforeAll(async () => {
    context = await newConsoleContext(browser, view, worker.url);
    page = await openPage(context);
  });
  afterAll(async () => context?.close());

  it("signs in with an API key that stays in sessionStorage, and lists deployments as text", async () => {
    await page.goto(`${worker.url}/console`);
    await page.getByLabel("API key").fill("not-a-management-key");
    await page.getByLabel("API key").press("Enter");
    const refusal = page.locator("#login-error");
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe("The key in X-VM-Cloud-Access is not a valid management API key.");
    await screenshot(page, view, "01-sign-in-refused");

    await signIn(page, worker.adminApiKey);
    await page.getByRole("link", { name: "Production metrics" }).waitFor();
    const stored = await page.evaluate((k) => ({ session: sessionStorage.getItem(k), local: localStorage.length, cookie: document.cookie }), STORAGE_KEY);
    expect(stored).toEqual({ session: worker.adminApiKey, local: 0, cookie: "" });
    expect((await context.cookies()).length).toBe(0);
    expect(page.url()).toBe(`${worker.url}/console`);

    // The hostile name is shown literally and nothing of it ran.
    expect(await page.getByRole("link", { name: hostile.name, exact: true }).textContent()).toBe(hostile.name);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator("#deployments-body tr").count()).toBe(3);
    await screenshot(page, view, "02-deployments");
  });

  it("shows the access endpoint on Overview and copies it on click", async () => {
    await page.getByRole("link", { name: "Production metrics" }).click();
    await page.waitForURL(`${worker.url}/console/deployments/${single.id}`);
    const endpoint = page.getByRole("button", { name: /^Access endpoint/ });
    await page.locator("#endpoint-url", { hasText: worker.url }).waitFor();
    expect(await page.locator("#deployment-name").textContent()).toBe("Production metrics");
    await clearClipboard(page);
    await endpoint.click();
    await statusSays(page, "Access endpoint copied");
    expect(await readClipboard(page)).toBe(worker.url);
    await screenshot(page, view, "03-overview");
  });

  it("generates a Write token from the Access tokens tab", async () => {
    await page.getByRole("link", { name: "Access tokens" }).click();
    await tokenRow(page, "default").waitFor();
    await screenshot(page, view, "04-access-tokens");

    await page.getByRole("button", { name: "Generate Token" }).click();
    const dialog = page.getByRole("dialog", { name: "Generate Token" });
    await dialog.waitFor();
    // A single-node deployment has no tenants: Advanced Settings offer no Tenant field.
    await dialog.getByText("Advanced Settings").click();
    expect(await dialog.getByLabel("Tenant").isVisible()).toBe(false);
    expect(await dialog.getByLabel("Expires").isVisible()).toBe(true);
    await dialog.getByText("Advanced Settings").click();
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    expect(await dialog.locator("#generate-error").textContent()).toBe("Name: enter a name for the token.");

    await dialog.getByLabel("Name").fill(tokenName);
    await dialog.getByRole("radio", { name: /^Write/ }).check();
    await screenshot(page, view, "05-generate-token");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    const row = tokenRow(page, tokenName);
    await row.waitFor();
    expect(await row.locator('[data-label="Access"]').textContent()).toBe("Write");
    expect(await statusSays(page, "generated")).toContain(`Token “${tokenName}” generated.`);
    await screenshot(page, view, "06-token-generated");

    const created = (await api.tokens(single.id)).find((t) => t.description === tokenName);
    expect(created?.type).toBe("w");
  });

  it("copies the token's secret when its key is clicked, without showing it", async () => {
    await clearClipboard(page);
    await page.getByRole("button", { name: `Copy the secret of token ${tokenName}` }).click();
    await statusSays(page, "copied");
    secret = await readClipboard(page);
    secrets.push(secret);
    expect(secret).toMatch(SECRET_SHAPE);
    const created = (await api.tokens(single.id)).find((t) => t.description === tokenName)!;
    expect((await api.reveal(single.id, created.id)).value).toBe(secret);
    expect(await page.locator("body").innerText()).not.toContain(secret);
  });

  it("opens Examples from the token's actions: Write tab only, secret masked on screen, copied in full", async () => {
    await page.getByRole("button", { name: `Actions for token ${tokenName}` }).click();
    await page.locator(".menu:popover-open").waitFor();
    await screenshot(page, view, "07-token-actions");
    await page.locator(".menu:popover-open").getByRole("button", { name: "Examples" }).click();

    const dialog = page.getByRole("dialog", { name: "Examples" });
    await dialog.locator('pre[data-snippet="vmagent"]').waitFor();
    expect(await dialog.getByRole("tab", { name: "Write" }).getAttribute("aria-selected")).toBe("true");
    expect(await dialog.getByRole("tab", { name: "Read" }).isVisible()).toBe(false);
    expect(await dialog.locator("h3").allTextContents()).toEqual(["vmagent", "Prometheus remote_write", "curl (write one sample)"]);
    const shown = await dialog.locator('pre[data-snippet="vmagent"]').textContent();
    expect(shown).toContain(`-remoteWrite.url=${worker.url}/api/v1/write`);
    expect(shown).not.toContain(secret);
    expect(shown).toContain("vmat_••••");
    await screenshot(page, view, "08-examples");

    await clearClipboard(page);
    await dialog.getByRole("button", { name: "Copy the vmagent snippet" }).click();
    await statusSays(page, "vmagent snippet copied");
    const vmagent = await readClipboard(page);
    expect(vmagent).toContain(`-remoteWrite.url=${worker.url}/api/v1/write \\`);
    expect(vmagent).toContain(`-remoteWrite.bearerToken=${secret}`);

    await dialog.getByLabel("Show secret").check();
    expect(await dialog.locator('pre[data-snippet="vmagent"]').textContent()).toContain(secret);
    await dialog.getByLabel("Show secret").uncheck();

    await dialog.getByRole("button", { name: "Copy the curl (write one sample) snippet" }).click();
    await statusSays(page, "curl (write one sample) snippet copied");
    const curl = await readClipboard(page);
    expect(curl).toContain(`-H 'Authorization: Bearer ${secret}'`);
    importUrl = curl.trim().split(/\s+/).at(-1) ?? "";
    expect(importUrl).toBe(`${worker.url}/api/v1/import/prometheus`);

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    // The snippets (and the secret in them) leave the page with the dialog; focus goes back.
    await page.waitForFunction(() => document.querySelectorAll("#examples-dialog pre").length === 0);
    await page.waitForFunction((label) => document.activeElement?.getAttribute("aria-label") === label, `Actions for token ${tokenName}`);
  });

  it("writes a sample through the data plane with the copied secret", async () => {
    upstream.clear();
    const sample = `console_browser_sample{run="${randomBytes(3).toString("hex")}"} 1`;
    const res = await fetch(importUrl, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: sample, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(204);
    const [received] = await upstream.waitForRequests(1);
    expect(received).toMatchObject({ method: "POST", path: "/api/v1/import/prometheus", bodyBytes: Buffer.byteLength(sample) });
    // A Write token cannot read.
    const read = await fetch(`${worker.url}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(10_000) });
    expect(read.status).toBe(403);
  });

  it("deletes the token only after a confirmation; the data plane then refuses it", async () => {
    await openActions(page, tokenName, "Delete");
    const confirm = page.getByRole("alertdialog", { name: "Delete access token?" });
    await confirm.waitFor();
    expect(await confirm.locator("#delete-name").textContent()).toBe(`“${tokenName}”`);
    await screenshot(page, view, "09-delete-confirm");
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    expect(await tokenRow(page, tokenName).count()).toBe(1);
    expect((await api.tokens(single.id)).some((t) => t.description === tokenName)).toBe(true);

    await openActions(page, tokenName, "Delete");
    await confirm.getByRole("button", { name: "Delete token" }).click();
    await confirm.waitFor({ state: "hidden" });
    await tokenRow(page, tokenName).waitFor({ state: "detached" });
    await statusSays(page, "deleted");
    await screenshot(page, view, "10-token-deleted");

    upstream.clear();
    const refused = await fetch(importUrl, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: "x 1", signal: AbortSignal.timeout(10_000) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(upstream.requests()).toHaveLength(0);
  });

  it("says so when the tier's token limit is reached", async () => {
    const limited = await api.createDeployment({ name: "Starter", type: "single_node", tier: 20, upstream_url: upstream.url });
    for (let i = 1; i <= 4; i++) await api.createToken(limited.id, { type: "r", description: `reader ${i}` }); // + default = 5, the tier's limit
    await page.goto(`${worker.url}/console/deployments/${limited.id}/access-tokens`);
    await tokenRow(page, "reader 4").waitFor();
    expect(await page.locator("#token-count").textContent()).toBe("5 of 5 access tokens in use (tier s.starter.a).");
    await page.getByRole("button", { name: "Generate Token" }).click();
    const dialog = page.getByRole("dialog", { name: "Generate Token" });
    await dialog.getByLabel("Name").fill("one too many");
    await dialog.getByRole("radio", { name: /^Read\b(?!\/)/ }).check();
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    const error = dialog.locator("#generate-error");
    await error.waitFor();
    expect(await error.textContent()).toBe("Deployment has reached its tier's limit of 5 access tokens: revoke one or move to a bigger tier.");
    await screenshot(page, view, "11-token-limit");
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("generates a token with an expiry, allowed networks and labels under Advanced Settings, and rotates it", async () => {
    const name = "payments agent";
    await page.goto(`${worker.url}/console/deployments/${single.id}/access-tokens`);
    await tokenRow(page, "default").waitFor();
    await page.getByRole("button", { name: "Generate Token" }).click();
    const dialog = page.getByRole("dialog", { name: "Generate Token" });
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByRole("radio", { name: /^Write/ }).check();
    await dialog.getByText("Advanced Settings").click();
    await dialog.getByLabel("Expires").selectOption({ label: "In 30 days" });
    await dialog.getByLabel("Allowed networks").fill("10.0.0.0/8\n2001:0DB8::/32");
    await dialog.getByLabel("Labels").fill("team");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    expect(await dialog.locator("#generate-error").textContent()).toBe("Labels: write each as name=value, one per line (not “team”).");
    // The server's rule, named by its field.
    await dialog.getByLabel("Labels").fill("__name__=up");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    await dialog.locator("#generate-error", { hasText: "labels.__name__" }).waitFor();
    await dialog.getByLabel("Labels").fill("team=payments");
    await screenshot(page, view, "11b-generate-restricted");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    const row = tokenRow(page, name);
    await row.waitFor();
    expect(await row.locator('[data-label="Expires"]').textContent()).toBe("29 days left");
    expect(await row.locator('[data-label="Restrictions"]').textContent()).toBe("10.0.0.0/8 · 2001:db8::/32 · team=payments");
    const [created] = (await api.tokens(single.id)).filter((t) => t.description === name);
    expect(created).toMatchObject({ type: "w", allowed_networks: ["10.0.0.0/8", "2001:db8::/32"], labels: { team: "payments" } });

    await openActions(page, name, "Rotate");
    const rotate = page.getByRole("dialog", { name: "Rotate access token?" });
    await rotate.waitFor();
    expect(await rotate.locator("#rotate-name").textContent()).toBe(`“${name}”`);
    expect(await rotate.getByLabel("Overlap").inputValue()).toBe("3600");
    await screenshot(page, view, "11c-rotate-confirm");
    await rotate.getByRole("button", { name: "Rotate", exact: true }).click();
    await rotate.waitFor({ state: "hidden" });
    expect(await statusSays(page, "rotated")).toMatch(new RegExp(`^Token “${name}” rotated: the old one works until `));
    await page.waitForFunction((n) => [...document.querySelectorAll("#tokens-body th")].filter((th) => th.textContent === n).length === 2, name);
    const pair = (await api.tokens(single.id)).filter((t) => t.description === name);
    const old = pair.find((t) => t.id === created!.id)!;
    const successor = pair.find((t) => t.id !== created!.id)!;
    expect(Date.parse(old.expires_at!) - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(successor).toMatchObject({ type: "w", allowed_networks: created!.allowed_networks, labels: created!.labels });
    expect(await page.locator(`#tokens-body tr[data-token-id="${old.id}"] [data-label="Expires"]`).textContent()).toMatch(/^(59 minutes|1 hour) left$/);
  });

  it("tests a URL from the token's actions: allowed with its upstream URL, or refused with the data path's reason, nothing sent upstream", async () => {
    await page.goto(`${worker.url}/console/deployments/${single.id}/access-tokens`);
    await tokenRow(page, "default").waitFor();
    const before = upstream.requests().length;
    await openActions(page, "default", "Test a URL");
    const dialog = page.getByRole("dialog", { name: "Test a URL" });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("explain-path");
    await dialog.getByLabel("Path").fill("/api/v1/query?query=up");
    await dialog.getByRole("button", { name: "Test", exact: true }).click();
    await dialog.locator('[data-decision="allowed"]').waitFor();
    expect(await dialog.locator(".verdict").textContent()).toBe("Allowed: a read request");
    expect(await dialog.locator("[data-upstream-url]").textContent()).toBe(`${upstream.url}/api/v1/query?query=up`);
    await screenshot(page, view, "11d-test-url-allowed");

    await dialog.getByLabel("Path").fill("/internal/force_merge");
    await dialog.getByRole("button", { name: "Test", exact: true }).click();
    await dialog.locator('[data-decision="refused"]').waitFor();
    expect(await dialog.locator(".verdict").textContent()).toBe("Refused: 403 forbidden_path");
    expect(await dialog.locator("#explain-result").textContent()).toContain("never reachable through an access token");
    await screenshot(page, view, "11e-test-url-refused");
    expect(upstream.requests().length).toBe(before);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("offers a tenant under Advanced Settings for a cluster deployment, and examples for both tabs", async () => {
    await page.goto(`${worker.url}/console/deployments/${cluster.id}/access-tokens`);
    await tokenRow(page, "default").waitFor();
    await page.getByRole("button", { name: "Generate Token" }).click();
    const dialog = page.getByRole("dialog", { name: "Generate Token" });
    await dialog.getByLabel("Name").fill("grafana team 42");
    await dialog.getByRole("radio", { name: /^Read\/Write/ }).check();
    await dialog.getByText("Advanced Settings").click();
    await dialog.getByLabel("Tenant").fill("forty-two");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    expect(await dialog.locator("#generate-error").textContent()).toMatch(/^Tenant: use accountID or accountID:projectID/);
    await dialog.getByLabel("Tenant").fill("42:7");
    await screenshot(page, view, "12-generate-cluster-tenant");
    await dialog.getByRole("button", { name: "Generate", exact: true }).click();
    const row = tokenRow(page, "grafana team 42");
    await row.waitFor();
    expect(await row.locator('[data-label="Tenant"]').textContent()).toBe("42:7");

    await openActions(page, "grafana team 42", "Examples");
    const examples = page.getByRole("dialog", { name: "Examples" });
    await examples.locator('pre[data-snippet="vmagent"]').waitFor();
    // Pinned to a tenant: the Worker adds it, so the URL names none.
    expect(await examples.locator('pre[data-snippet="vmagent"]').textContent()).toContain(`-remoteWrite.url=${worker.url}/prometheus/api/v1/write`);
    await examples.getByRole("tab", { name: "Write" }).press("ArrowRight");
    expect(await examples.getByRole("tab", { name: "Read" }).getAttribute("aria-selected")).toBe("true");
    await examples.locator('pre[data-snippet="grafana"]').waitFor();
    expect(await examples.locator('pre[data-snippet="grafana"]').textContent()).toContain(`url: "${worker.url}/prometheus"`);
    expect(await examples.locator("#examples-notes").textContent()).toContain("pinned to tenant 42:7");
    await screenshot(page, view, "13-examples-read");
    await page.keyboard.press("Escape");
  });

  it("is usable from the keyboard alone: tab order, actions menu, dialogs", async () => {
    await page.goto(`${worker.url}/console/deployments/${single.id}/access-tokens`);
    await tokenRow(page, "default").waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press("Tab");
      reached.push(await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.textContent?.trim() ?? ""));
    }
    expect(reached).toEqual(
      expect.arrayContaining(["Skip to content", "Metrics console", "Sign out", "Deployments", "Overview", "Access tokens", "Generate Token", "Copy the secret of token default", "Actions for token default"]),
    );

    // Generate a token with the keyboard only.
    await page.getByRole("button", { name: "Generate Token" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog", { name: "Generate Token" }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("token-name");
    await page.keyboard.type("typed by keyboard");
    await page.keyboard.press("Tab"); // the radio group
    await page.keyboard.press("Space"); // Read
    await page.keyboard.press("Enter"); // submits the form
    await tokenRow(page, "typed by keyboard").waitFor();
    expect(await tokenRow(page, "typed by keyboard").locator('[data-label="Access"]').textContent()).toBe("Read");

    // Actions menu: Enter opens it with focus on its first item; Escape closes and returns focus.
    await page.getByRole("button", { name: "Actions for token typed by keyboard" }).focus();
    await page.keyboard.press("Enter");
    await page.locator(".menu:popover-open").waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === "Examples");
    await page.keyboard.press("Enter");
    const examples = page.getByRole("dialog", { name: "Examples" });
    await examples.locator('pre[data-snippet="grafana"]').waitFor();
    await page.keyboard.press("Escape");
    await examples.waitFor({ state: "hidden" });
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Actions for token typed by keyboard");
  });

  it("explains a key that expired mid-session and asks to sign in again", async () => {
    const expiresAt = Date.now() + 6000; // room to sign in on a busy machine
    const key = await api.call<{ value: string }>("POST", "/api_keys", { name: "short-lived", access: "rw", expires_at: new Date(expiresAt).toISOString() });
    secrets.push(key.value);
    const ctx = await newConsoleContext(browser, view, worker.url);
    try {
      const p = await openPage(ctx);
      await p.goto(`${worker.url}/console/deployments/${single.id}/access-tokens`);
      await signIn(p, key.value);
      await tokenRow(p, "default").waitFor();
      await sleep(Math.max(0, expiresAt - Date.now()) + 300);
      await p.getByRole("button", { name: "Generate Token" }).click();
      const dialog = p.getByRole("dialog", { name: "Generate Token" });
      await dialog.getByLabel("Name").fill("too late");
      await dialog.getByRole("radio", { name: /^Write/ }).check();
      await dialog.getByRole("button", { name: "Generate", exact: true }).click();
      const refusal = p.locator("#login-error");
      await refusal.waitFor();
      expect(await refusal.textContent()).toBe("The key in X-VM-Cloud-Access has expired: ask for a new management API key.");
      expect(await p.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY)).toBeNull();
      await screenshot(p, view, "14-expired-key");
    } finally {
      await ctx.close();
    }
  });

  it("explains that a read-only key cannot reveal a secret", async () => {
    const key = await api.call<{ value: string }>("POST", "/api_keys", { name: "viewer", access: "r" });
    secrets.push(key.value);
    const ctx = await newConsoleContext(browser, view, worker.url);
    try {
      const p = await openPage(ctx);
      await p.goto(`${worker.url}/console/deployments/${single.id}/access-tokens`);
      await signIn(p, key.value);
      await p.getByRole("button", { name: "Copy the secret of token default" }).click();
      const alert = p.locator("#alert-text");
      await alert.waitFor();
      expect(await alert.textContent()).toBe("This API key is read-only: use a read-write key for this operation.");
    } finally {
      await ctx.close();
    }
  });
});

describe("the same pages at phone width", () => {
  const view: Viewport = PHONE;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await newConsoleContext(browser, view, worker.url);
    page = await openPage(context);
  });
  afterAll(async () => context?.close());

  it("fits every page and dialog in 390 CSS pixels", async () => {
    await page.goto(`${worker.url}/console`);
    await page.getByLabel("API key").waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "01-sign-in");

    await signIn(page, worker.adminApiKey);
    await page.getByRole("link", { name: "Production metrics" }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "02-deployments");

    await page.getByRole("link", { name: "EU cluster" }).click();
    await page.locator("#endpoint-url", { hasText: worker.url }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "03-overview");

    await page.getByRole("link", { name: "Access tokens" }).click();
    await tokenRow(page, "grafana team 42").waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "04-access-tokens");

    await page.getByRole("button", { name: "Generate Token" }).click();
    const generate = page.getByRole("dialog", { name: "Generate Token" });
    await generate.getByText("Advanced Settings").click();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "05-generate-token");
    await generate.getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("button", { name: "Actions for token grafana team 42" }).click();
    await page.locator(".menu:popover-open").waitFor();
    await screenshot(page, view, "06-token-actions");
    await page.locator(".menu:popover-open").getByRole("button", { name: "Examples" }).click();
    const examples = page.getByRole("dialog", { name: "Examples" });
    await examples.locator('pre[data-snippet="vmagent"]').waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "07-examples");
    await page.keyboard.press("Escape");

    await openActions(page, "grafana team 42", "Test a URL");
    const test = page.getByRole("dialog", { name: "Test a URL" });
    await test.getByLabel("Path").fill("/api/v1/query?query=up");
    await test.getByRole("button", { name: "Test", exact: true }).click();
    await test.locator("[data-decision]").waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "07b-test-url");
    await page.keyboard.press("Escape");

    await openActions(page, "grafana team 42", "Delete");
    await page.getByRole("alertdialog", { name: "Delete access token?" }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, view, "08-delete-confirm");
    await page.getByRole("alertdialog").getByRole("button", { name: "Cancel" }).click();
  });
});

describe("across the whole run", () => {
  it("no page had an error or a refused script, style or HTML sink", () => {
    // Chromium reports each non-2xx fetch as "Failed to load resource"; the error paths above cause those on purpose.
    const errors = watched.flatMap((w) => w.errors).filter((e) => !/Failed to load resource: the server responded with a status of (400|401|403|409)/.test(e));
    expect(errors).toEqual([]);
  });

  it("no secret or API key travelled in a URL or reached the Worker's log", () => {
    const urls = watched.flatMap((w) => w.urls);
    expect(urls.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const log = readFileSync(worker.logFile, "utf8");
    for (const s of secrets) {
      expect(urls.filter((u) => u.includes(s) || u.includes(encodeURIComponent(s)))).toEqual([]);
      expect(log.includes(s)).toBe(false);
    }
  });
});
