// A vitest reporter that prints the real-client summary table after everything else, so the
// suite's output ends with it (client, scenario, requests, refusals by status, samples).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const SUMMARY_FILE = join(import.meta.dirname, "..", "..", "..", "test-results", "e2e-summary.md");

export default class SummaryReporter {
  private startedAt = Date.now();

  onTestRunStart(): void {
    this.startedAt = Date.now();
  }

  onTestRunEnd(): void {
    // Only a table written by this run: a stale one from an earlier run would be a false report.
    if (!existsSync(SUMMARY_FILE) || statSync(SUMMARY_FILE).mtimeMs < this.startedAt) return;
    process.stdout.write(`\nReal clients through the authorizer (${SUMMARY_FILE}):\n\n${readFileSync(SUMMARY_FILE, "utf8")}\n`);
  }
}
