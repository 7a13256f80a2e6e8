// This project's unit tests are typed against the Workers runtime, without Node's types; vitest
// runs them in Node, where this module exists. Typed by hand below.
// @ts-expect-error no Node types in this tsconfig
import { spawnSync as spawn } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CELL_COUNT, decodeCells } from "../../src/usage/cells";
import { CONTENT_TYPE, MAX_DESCRIPTION_LABEL, METRIC_PREFIX, type TokenMetrics, descriptionLabel, escapeLabelValue, renderMetrics } from "../../src/usage/prometheus";
import { applyShipment, emptyState, loadState } from "../../src/usage/store";
import { FakeStorage, shipment } from "./usage-fixtures";

const spawnSync = spawn as (cmd: string, args: string[], opts: { input: string; encoding: "utf8" }) => { status: number | null; stdout: string; stderr: string; error?: Error };
const PROMTOOL = "/usr/bin/promtool";
const hasPromtool = spawnSync(PROMTOOL, ["--version"], { input: "", encoding: "utf8" }).status === 0;

/** `promtool check metrics` on the text: parse errors and lint problems, as promtool prints them. */
function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Undoes the text format's label-value escaping (a reader's view of escapeLabelValue). */
function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** Every sample line as [series (name + labels), value]. */
function samples(text: string): [string, number][] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const space = l.lastIndexOf(" ");
      return [l.slice(0, space), Number(l.slice(space + 1))];
    });
}

const rich = (over: Partial<TokenMetrics> = {}): TokenMetrics => ({
  deploymentId: "0b8f6c2e-1d2a-4c7e-9a51-3f5e2d7c9b10",
  tokenId: "5f0c7d1e-8b2a-4e3f-a6c9-1d2e3f4a5b6c",
  description: "vmagent prod",
  total: decodeCells({
    "req.write.2xx": 90,
    "req.write.5xx": 1,
    "req.read.4xx": 2,
    "req.write.too_many_requests": 5,
    "req.other.unknown_path": 3,
    "req.read.revoked_token": 1,
    "bytes.in": 123_456,
    "bytes.out": 789,
    "lat.write.le16": 90,
    "lat.write.inf": 1,
    "lat.write.sum": 40_000,
    "lat.read.le4": 2,
    "lat.read.sum": 3,
    "wait.ms": 40,
    "wait.count": 4,
  }),
  lastUsedAt: Date.UTC(2026, 10, 29, 7, 30),
  recentMaxConcurrency: 3,
  ...over,
});

describe("label values", () => {
  it.each([
    ["plain", "plain"],
    ['say "hi"', 'say \\"hi\\"'],
    ["back\\slash", "back\\\\slash"],
    ["two\nlines", "two\\nlines"],
    ["tab\there", "tab\uFFFDhere"],
    ["cr\r", "cr\uFFFD"],
    ["nul\u0000", "nul\uFFFD"],
    ["lone \uD800 surrogate", "lone \uFFFD surrogate"],
    ["emoji 😀 ünïcode", "emoji 😀 ünïcode"],
  ])("escapes %j", (value, escaped) => {
    expect(escapeLabelValue(value)).toBe(escaped);
  });

  it("reads back as written, for any well-formed text without other control characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }).map((s) => s.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, "")), (s) => {
        const escaped = escapeLabelValue(s);
        expect(escaped).not.toMatch(/(^|[^\\])(\\\\)*"/); // no unescaped quote
        expect(escaped).not.toContain("\n");
        expect(unescape(escaped)).toBe(s);
      }),
    );
  });

  it(`cuts descriptions to ${MAX_DESCRIPTION_LABEL} code points, never inside a character`, () => {
    expect(descriptionLabel("short")).toBe("short");
    expect(descriptionLabel("x".repeat(MAX_DESCRIPTION_LABEL))).toBe("x".repeat(MAX_DESCRIPTION_LABEL));
    const cut = descriptionLabel("😀".repeat(300));
    expect(Array.from(cut)).toHaveLength(MAX_DESCRIPTION_LABEL);
    expect(cut.endsWith("😀…")).toBe(true);
    expect(cut.isWellFormed()).toBe(true);
  });
});

describe("renderMetrics", () => {
  it("announces text format 0.0.4 and renders nothing for no tokens", () => {
    expect(CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(renderMetrics([])).toBe("");
  });

  it("renders each family once, HELP and TYPE before its samples, with the token's labels", () => {
    const text = renderMetrics([rich(), rich({ tokenId: "other", description: "grafana" })]);
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(types).toEqual([
      [`${METRIC_PREFIX}requests_total`, "counter"],
      [`${METRIC_PREFIX}request_bytes_total`, "counter"],
      [`${METRIC_PREFIX}response_bytes_total`, "counter"],
      [`${METRIC_PREFIX}upstream_latency_seconds`, "histogram"],
      [`${METRIC_PREFIX}permit_waits_total`, "counter"],
      [`${METRIC_PREFIX}permit_wait_seconds_total`, "counter"],
      [`${METRIC_PREFIX}max_concurrency`, "gauge"],
      [`${METRIC_PREFIX}last_used_timestamp_seconds`, "gauge"],
    ]);
    const series = samples(text);
    expect(new Set(series.map(([s]) => s)).size).toBe(series.length);
    const base = 'deployment_id="0b8f6c2e-1d2a-4c7e-9a51-3f5e2d7c9b10",token_id="5f0c7d1e-8b2a-4e3f-a6c9-1d2e3f4a5b6c",token_description="vmagent prod"';
    expect(text).toContain(`${METRIC_PREFIX}requests_total{${base},class="write",code="2xx",reason="upstream"} 90\n`);
    expect(text).toContain(`${METRIC_PREFIX}requests_total{${base},class="write",code="429",reason="too_many_requests"} 5\n`);
    expect(text).toContain(`${METRIC_PREFIX}requests_total{${base},class="other",code="404",reason="unknown_path"} 3\n`);
    expect(text).toContain(`${METRIC_PREFIX}requests_total{${base},class="read",code="401",reason="revoked_token"} 1\n`);
    expect(text).toContain(`${METRIC_PREFIX}upstream_latency_seconds_bucket{${base},class="write",le="0.016"} 90\n`);
    expect(text).toContain(`${METRIC_PREFIX}upstream_latency_seconds_bucket{${base},class="write",le="+Inf"} 91\n`);
    expect(text).toContain(`${METRIC_PREFIX}upstream_latency_seconds_sum{${base},class="write"} 40\n`);
    expect(text).toContain(`${METRIC_PREFIX}upstream_latency_seconds_count{${base},class="write"} 91\n`);
    expect(text).toContain(`${METRIC_PREFIX}last_used_timestamp_seconds{${base}} ${Date.UTC(2026, 10, 29, 7, 30) / 1000}\n`);
    expect(text).not.toMatch(/class="delete"/); // zero series are left out
    expect(text.endsWith("\n")).toBe(true);
  });

  it.skipIf(!hasPromtool)("passes `promtool check metrics` (parse and lint) — skipped only when /usr/bin/promtool is missing", () => {
    const text = renderMetrics([rich(), rich({ tokenId: "t2", description: 'a "quoted"\\ desc\nwith a newline, \ttab and 😀 and \uD800' }), rich({ tokenId: "t3", description: "x".repeat(256), lastUsedAt: undefined, recentMaxConcurrency: undefined })]);
    expect(promtool(text)).toEqual({ status: 0, output: "" });
  });

  it.skipIf(!hasPromtool)("passes promtool for any counters and any descriptions (15 random expositions)", () => {
    const arbToken = fc.record({
      description: fc.string({ unit: "binary", maxLength: 300 }),
      cells: fc.array(fc.nat({ max: 2 ** 40 }), { minLength: CELL_COUNT, maxLength: CELL_COUNT }),
      lastUsedAt: fc.option(fc.nat({ max: 4_000_000_000_000 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(arbToken, { minLength: 1, maxLength: 4 }), (tokens) => {
        const text = renderMetrics(tokens.map((t, i) => ({ deploymentId: "d", tokenId: `t${i}`, description: t.description, total: Float64Array.from(t.cells), lastUsedAt: t.lastUsedAt })));
        expect(promtool(text)).toEqual({ status: 0, output: "" });
      }),
      { numRuns: 15 },
    );
  });

  it.skipIf(!hasPromtool)("can fail: promtool refuses a broken exposition", () => {
    expect(promtool('x_total{a="b"c"} 1\n').status).not.toBe(0);
  });

  it("keeps every counter monotonic across more batches and a restart of the object", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.record({ name: fc.constantFrom("req.write.2xx", "req.read.too_many_requests", "bytes.in", "lat.write.le64", "lat.write.sum", "wait.ms", "wait.count"), n: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        (batches) => {
          const now = Date.UTC(2026, 10, 29);
          let state = emptyState();
          const storage = new FakeStorage();
          let previous = new Map<string, number>();
          batches.forEach((cells, i) => {
            storage.write(applyShipment(state, shipment("i", [{ seq: i + 1, from: now, cells: Object.fromEntries(cells.map((c) => [c.name, c.n])) }]), now + i).writes);
            if (i % 2 === 1) state = loadState(storage.rows).state; // the object restarted
            const current = new Map(samples(renderMetrics([{ deploymentId: "d", tokenId: "t", description: "x", total: state.total }])).filter(([s]) => !s.includes("max_concurrency") && !s.includes("last_used")));
            for (const [series, value] of previous) expect(current.get(series) ?? -1).toBeGreaterThanOrEqual(value);
            previous = current;
          });
        },
      ),
    );
  });
});
