// Debian's chromium, headless, driven by playwright-core (which ships no browser of its own).
//
// - The binary is /usr/bin/chromium (apt-get install chromium; scripts/test.sh installs it), or
//   $CHROMIUM_PATH.
// - Each launch gets a fresh profile: playwright-core makes a new temporary --user-data-dir for
//   every launch() and deletes it on close (it refuses the flag in `args` for that reason).
// - Every page is watched: an uncaught error, a console error (which is where Chromium reports a
//   Content-Security-Policy or Trusted Types refusal) or a failed request is recorded, and tests
//   assert there were none.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { REPO_ROOT } from "../../e2e/lib/worker.ts";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox", // root in CI containers: the setuid sandbox is unavailable
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface Viewport {
  name: "desktop" | "phone";
  width: number;
  height: number;
}

export const DESKTOP: Viewport = { name: "desktop", width: 1280, height: 860 };
/** A common phone: 390 CSS pixels wide. */
export const PHONE: Viewport = { name: "phone", width: 390, height: 844 };

/** A context (fresh cookies and storage) that may read and write the clipboard of `origin`. */
export async function newConsoleContext(browser: Browser, viewport: Viewport, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height },
    deviceScaleFactor: 1,
    isMobile: viewport.name === "phone",
    hasTouch: viewport.name === "phone",
    locale: "en-GB",
    timezoneId: "UTC",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  context.setDefaultTimeout(10_000);
  return context;
}

export interface PageProblems {
  /** Uncaught exceptions and console errors (CSP and Trusted Types refusals land here). */
  errors: string[];
  /** Every URL the page requested, to check that no secret ever travels in one. */
  urls: string[];
}

/** Records what went wrong on `page` and every URL it asked for. */
export function watch(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], urls: [] };
  page.on("pageerror", (err) => problems.errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.errors.push(`console: ${msg.text()}`);
  });
  page.on("request", (req) => problems.urls.push(req.url()));
  page.on("requestfailed", (req) => problems.errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ""}`));
  return problems;
}

/** The text on the page's clipboard. */
export function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Puts something else on the clipboard, so a later read proves a fresh copy. */
export function clearClipboard(page: Page): Promise<void> {
  return page.evaluate(() => navigator.clipboard.writeText("(cleared by the test)"));
}

/** test-results/console: screenshots for people to look at (git-ignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-results", "console");

/**
 * Empties `dir` of the screenshots a previous run left there. Only its own .png files: each test
 * file has its own folder (console-workflow the top one, console-usage `usage/`), and files may run
 * in any order.
 */
export function resetScreenshots(dir = SCREENSHOT_DIR): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".png")) rmSync(join(dir, entry.name), { force: true });
  }
}

/** Saves `<viewport>-<name>.png` of the whole page (dialogs included) in `dir`. */
export async function screenshot(page: Page, viewport: Viewport, name: string, dir = SCREENSHOT_DIR): Promise<string> {
  const path = join(dir, `${viewport.name}-${name}.png`);
  // Let layout and fonts settle after the last action.
  await page.waitForTimeout(150);
  await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
  return path;
}
