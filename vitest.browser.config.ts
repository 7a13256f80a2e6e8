// The console in a real browser: Debian's chromium, headless, driven by playwright-core against
// the Worker in workerd (test/browser). Needs /usr/bin/chromium (scripts/test.sh installs it).
// Screenshots land in test-results/console/. See docs/console.md.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // A browser, workerd and a recording upstream share two cores: one file at a time, in a
    // child process whose exit takes anything left running with it.
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    // Bundling the Worker with wrangler and starting workerd and chromium.
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
