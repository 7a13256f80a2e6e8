// A token's Usage dialog in a real browser (Debian's chromium via playwright-core, the Worker as
// wrangler bundles it, in workerd on loopback, deployments pointed at a recording upstream).
// Traffic goes through the data plane first: writes the upstream accepts and reads the token's
// access level refuses (403 insufficient_access, counted). Usage ships from the isolate at most
// once a minute (docs/usage.md: the sweep after any request), so the test waits on the usage API
// — poking the data plane with another token so that sweeps happen — with a bound, then opens
// the dialog and checks the totals, the last use and the chart against what was sent.
//
// Screenshots at desktop and phone width: test-results/console/usage/*.png.
// Run: npm run test:browser

import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempRoot, sleep } from "../e2e/lib/processes.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../e2e/lib/recording-upstream.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "../e2e/lib/worker.ts";
import { admin, type AccessTokenJson, type Admin, type DeploymentJson } from "./lib/admin.ts";
import { DESKTOP, launchChromium, newConsoleContext, PHONE, resetScreenshots, SCREENSHOT_DIR, screenshot, watch, type PageProblems } from "./lib/browser.ts";

const SHOTS = join(SCREENSHOT_DIR, "usage");
const USER_AGENT = "vmagent/1.110.0 (usage browser test)";
const WRITES = 3;
const WRITE_BODY = (i: number) => `usage_test{n="${i}"} 1`;
/** Bytes the writes send (ASCII: one byte a character); the upstream answers 204, without a body. */
const BYTES_IN = Array.from({ length: WRITES }, (_, i) => WRITE_BODY(i).length).reduce((a, b) => a + b);
const REFUSED_READS = 2;
/** Shipping takes one to two sweep intervals (60 s each) after the traffic; more is a failure. */
const USAGE_DEADLINE_MS = 180_000;

interface UsageJson {
  total: { requests: number; refused: number; answers: Record<string, number> };
  points: { at: string; requests: number; refused: number }[];
  last_used: { at: string; user_agent?: string; answer: string; class: string } | null;
}

let worker: WorkerHarness;
let upstream: RecordingUpstream;
let browser: Browser;
let api: Admin;
let deployment: DeploymentJson;
let used: AccessTokenJson;
let unused: AccessTokenJson;
let poker: AccessTokenJson;
const watched: PageProblems[] = [];
let failed = false;

beforeAll(async () => {
  resetScreenshots(SHOTS);
  [upstream, worker] = await Promise.all([startRecordingUpstream(), startWorker()]);
  api = admin(worker);
  deployment = await api.createDeployment({ name: "Usage metrics", type: "single_node", tier: 21, upstream_url: upstream.url });
  used = await api.createToken(deployment.id, { description: "vmagent on prod-7", type: "w" });
  unused = await api.createToken(deployment.id, { description: "grafana spare", type: "r" });
  poker = await api.createToken(deployment.id, { description: "poker", type: "r" });
  browser = await launchChromium();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await browser?.close();
  await stopAllWorkers();
  await upstream?.stop();
  cleanupTempRoot(failed);
});

function dataPlane(path: string, token: AccessTokenJson, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(path, { ...init, headers: { authorization: `Bearer ${token.value}`, "user-agent": USER_AGENT } });
}

const usageOf = (token: AccessTokenJson) => api.call<UsageJson>("GET", `/deployments/${deployment.id}/access_tokens/${token.id}/usage?step=15m`);

/**
 * Polls the usage API until `token` shows `requests` requests, or fails after the deadline. Each
 * round first sends one request with another token: the sweep runs only after a request.
 */
async function waitForUsage(token: AccessTokenJson, requests: number): Promise<UsageJson> {
  const deadline = Date.now() + USAGE_DEADLINE_MS;
  let last: UsageJson | undefined;
  while (Date.now() < deadline) {
    const poke = await dataPlane("/api/v1/query?query=up", poker);
    await poke.arrayBuffer();
    last = await usageOf(token);
    if (last.total.requests >= requests) return last;
    await sleep(2_000);
  }
  throw new Error(`usage of ${token.description} did not reach ${requests} requests within ${USAGE_DEADLINE_MS / 1000} s: ${JSON.stringify(last?.total)}`);
}

async function goSignedIn(page: Page, path: string): Promise<void> {
  await page.goto(`${worker.url}${path}`);
  if (await page.getByLabel("API key").isVisible()) {
    await page.getByLabel("API key").fill(worker.adminApiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
}

interface RollupJson {
  total: { requests: number; refused: number };
  tokens: { token_id: string; total: { requests: number; refused: number } }[];
}

/** The deployment's Overview, once its Usage section has loaded. */
async function openOverview(page: Page): Promise<ReturnType<Page["locator"]>> {
  await goSignedIn(page, `/console/deployments/${deployment.id}`);
  const section = page.locator("#deployment-usage");
  await page.locator('#deployment-usage[aria-busy="false"]').waitFor();
  return section;
}

async function openUsageOf(page: Page, name: string): Promise<ReturnType<Page["getByRole"]>> {
  await goSignedIn(page, `/console/deployments/${deployment.id}/access-tokens`);
  await page.getByRole("button", { name: `Actions for token ${name}` }).click();
  await page.locator(".menu:popover-open").getByRole("button", { name: "Usage", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Usage" });
  await dialog.locator('#usage-body[aria-busy="false"]').waitFor();
  return dialog;
}

describe("a token's usage in the console", () => {
  let context: BrowserContext;
  let page: Page;
  let shipped: UsageJson;

  beforeAll(async () => {
    context = await newConsoleContext(browser, DESKTOP, worker.url);
    page = await context.newPage();
    watched.push(watch(page));
  });
  afterAll(async () => context?.close());

  it("counts traffic through the data plane: accepted writes and refused reads", { timeout: USAGE_DEADLINE_MS + 30_000 }, async () => {
    for (let i = 0; i < REFUSED_READS; i++) {
      const res = await dataPlane("/api/v1/query?query=up", used);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe("insufficient_access");
    }
    for (let i = 0; i < WRITES; i++) {
      const res = await dataPlane("/api/v1/import/prometheus", used, { method: "POST", body: WRITE_BODY(i) });
      expect(res.status).toBe(204);
    }
    expect(upstream.requests().filter((r) => r.path === "/api/v1/import/prometheus")).toHaveLength(WRITES);

    shipped = await waitForUsage(used, WRITES + REFUSED_READS);
    expect(shipped.total).toMatchObject({ requests: WRITES + REFUSED_READS, refused: REFUSED_READS, answers: { "2xx": WRITES, insufficient_access: REFUSED_READS } });
    expect(shipped.last_used).toMatchObject({ class: "write", answer: "2xx", user_agent: USER_AGENT });
  });

  it("shows the totals, the last use and a chart with points", async () => {
    const dialog = await openUsageOf(page, used.description);
    expect(await dialog.locator('[data-usage-total="requests"]').textContent()).toBe(String(WRITES + REFUSED_READS));
    expect(await dialog.locator('[data-usage-total="refused"]').textContent()).toBe(`${REFUSED_READS} (40 %)`);
    expect(await dialog.locator(".usage-reasons").textContent()).toContain(`insufficient_access ${REFUSED_READS}`);
    expect(await dialog.locator('[data-last-used="user-agent"]').textContent()).toBe(USER_AGENT);
    expect(await dialog.locator('[data-last-used="answer"]').textContent()).toBe("write, answered 2xx");
    expect(await dialog.locator('[data-last-used="at"]').textContent()).not.toBe("");

    const chart = dialog.locator("svg.usage-chart");
    expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThanOrEqual(1);
    expect(await chart.getAttribute("aria-label")).toContain(`${REFUSED_READS} refused in all`);
    // Both series are drawn, each rising above the baseline (y = 160) somewhere.
    for (const series of ["requests", "refused"]) {
      const d = (await chart.locator(`path[data-series="${series}"]`).getAttribute("d")) ?? "";
      const ys = [...d.matchAll(/V([\d.]+)/g)].map((m) => Number(m[1]));
      expect(ys.length).toBeGreaterThan(90); // 96 steps of 15 minutes, give or take the edges
      expect(Math.min(...ys)).toBeLessThan(160);
    }
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(100);
    expect(await chart.getAttribute("data-step")).toBe("15m");

    // Traffic: the writes reached the upstream (a latency), sent their bodies, one at a time.
    expect(await dialog.locator('[data-usage-traffic="latency"]').textContent()).toMatch(/^\d[\d.,]* m?s \/ \d[\d.,]* m?s \/ \d[\d.,]* m?s$/);
    expect(await dialog.locator('[data-usage-traffic="bytes"]').textContent()).toBe(`${BYTES_IN} B / 0 B`);
    expect(await dialog.locator('[data-usage-traffic="concurrency"]').textContent()).toBe("1");
    // A request whose isolate had to ask the token's object for permits first counts that wait.
    expect(await dialog.locator('[data-usage-traffic="waits"]').textContent()).toMatch(new RegExp(`^(None|[1-${WRITES}], \\d[\\d.,]* m?s in all)$`));
    await screenshot(page, DESKTOP, "01-usage", SHOTS);
    await page.keyboard.press("Escape");
    await page.getByRole("dialog", { name: "Usage" }).waitFor({ state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(`Actions for token ${used.description}`);
  });

  it("shows the last 7 and 30 days when picked, and starts at 24 hours again when the dialog opens again", async () => {
    const dialog = await openUsageOf(page, used.description);
    const chart = dialog.locator("svg.usage-chart");
    for (const [label, step, words, ago] of [
      ["7 d", "1h", "the last 7 days", "7 d ago"],
      ["30 d", "6h", "the last 30 days", "30 d ago"],
    ] as const) {
      await dialog.getByRole("radio", { name: label, exact: true }).check();
      await dialog.locator(`svg.usage-chart[data-step="${step}"]`).waitFor();
      await dialog.locator('#usage-body[aria-busy="false"]').waitFor();
      expect(await dialog.locator("#usage-subtitle").textContent()).toBe(`Token “${used.description}”, ${words}.`);
      expect(await dialog.locator('[data-usage-total="requests"]').textContent()).toBe(String(WRITES + REFUSED_READS));
      expect(await dialog.locator(".usage-axis-x").textContent()).toContain(ago);
      expect(await chart.getAttribute("aria-label")).toContain(`over ${words}`);
      if (label === "7 d") await screenshot(page, DESKTOP, "03-usage-7-days", SHOTS);
    }
    await page.keyboard.press("Escape");
    await page.getByRole("dialog", { name: "Usage" }).waitFor({ state: "hidden" });
    const again = await openUsageOf(page, used.description);
    expect(await again.getByRole("radio", { name: "24 h", exact: true }).isChecked()).toBe(true);
    expect(await again.locator("svg.usage-chart").getAttribute("data-step")).toBe("15m");
    await page.keyboard.press("Escape");
  });

  it("adds up the deployment's tokens on its Overview page, busiest token first", async () => {
    const rollup = await api.call<RollupJson>("GET", `/deployments/${deployment.id}/usage?step=15m`);
    // The used token's requests and the poker's (the unused token has none).
    expect(rollup.total.refused).toBe(REFUSED_READS);
    expect(rollup.total.requests).toBeGreaterThan(WRITES + REFUSED_READS);
    const section = await openOverview(page);
    expect(await section.locator('[data-usage-total="requests"]').textContent()).toBe(rollup.total.requests.toLocaleString("en-US"));
    expect(await section.locator('[data-usage-total="refused"]').textContent()).toMatch(new RegExp(`^${REFUSED_READS} \\(\\d+ %\\)$`));
    expect(await section.locator("svg.usage-chart").getAttribute("data-step")).toBe("15m");
    expect(await section.locator('[data-usage-traffic="bytes"]').textContent()).toMatch(new RegExp(`^${BYTES_IN} B / `));
    const rows = section.locator("[data-usage-tokens] tbody tr");
    const byRequests = [...rollup.tokens].filter((t) => t.total.requests > 0).sort((a, b) => b.total.requests - a.total.requests);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-token-id")))).toEqual(byRequests.map((t) => t.token_id));
    const usedRow = section.locator(`tr[data-token-id="${used.id}"]`);
    expect(await usedRow.locator("th").textContent()).toBe(used.description);
    expect(await usedRow.locator('[data-usage="requests"]').textContent()).toBe(String(WRITES + REFUSED_READS));
    expect(await usedRow.locator('[data-usage="refused"]').textContent()).toBe(String(REFUSED_READS));
    expect(await section.locator(`tr[data-token-id="${unused.id}"]`).count()).toBe(0);
    await screenshot(page, DESKTOP, "04-deployment-usage", SHOTS);
  });

  it("says plainly when a token was never used", async () => {
    const dialog = await openUsageOf(page, unused.description);
    expect(await dialog.locator("[data-usage-empty]").textContent()).toBe("Never used.");
    expect(await dialog.locator("svg").count()).toBe(0);
    await screenshot(page, DESKTOP, "02-never-used", SHOTS);
    await page.keyboard.press("Escape");
  });
});

describe("a token's usage at phone width", () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await newConsoleContext(browser, PHONE, worker.url);
    page = await context.newPage();
    watched.push(watch(page));
  });
  afterAll(async () => context?.close());

  it("fits the dialog and its chart in 390 CSS pixels", async () => {
    const dialog = await openUsageOf(page, used.description);
    expect(await dialog.locator('[data-usage-total="requests"]').textContent()).toBe(String(WRITES + REFUSED_READS));
    expect(Number(await dialog.locator("svg.usage-chart").getAttribute("data-points"))).toBeGreaterThanOrEqual(1);
    expect(await dialog.getByRole("radio", { name: "30 d", exact: true }).isVisible()).toBe(true);
    expect(await dialog.locator('[data-usage-traffic="bytes"]').textContent()).toBe(`${BYTES_IN} B / 0 B`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, PHONE, "01-usage", SHOTS);
  });

  it("fits the deployment's usage in 390 CSS pixels", async () => {
    const section = await openOverview(page);
    expect(await section.locator(`tr[data-token-id="${used.id}"] [data-usage="requests"]`).textContent()).toBe(String(WRITES + REFUSED_READS));
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, PHONE, "02-deployment-usage", SHOTS);
  });
});

describe("across the usage run", () => {
  it("no page had an error or a refused script, style or HTML sink", () => {
    expect(watched.flatMap((w) => w.errors)).toEqual([]);
  });
});
