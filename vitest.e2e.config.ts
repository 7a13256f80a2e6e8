// End-to-end suite: real VictoriaMetrics / vmagent / Prometheus / vmalert processes and the
// Worker in workerd, all on 127.0.0.1. Kept out of `npm test`'s default config because it needs
// the Debian packages (test/e2e/install-deps.sh). See docs/e2e.md.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.selftest.ts", "test/e2e/**/*.e2e.ts"],
    environment: "node",
    // The summary table comes last, after vitest's own footer.
    reporters: ["default", "./test/e2e/lib/summary-reporter.ts"],
    // Files start real processes and share two cores: one file at a time, in a child process
    // whose exit hook kills anything a file left running.
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
