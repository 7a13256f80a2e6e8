// A scrape target whose every sample is known: each scrape answers `series` samples of one
// metric, all with the same explicit timestamp (the time of the scrape, strictly increasing)
// and value = the scrape's sequence number. The target records what it served, so a test can
// say exactly which (series, timestamp, value) triples must arrive — and find the missing and
// the duplicated ones in an /api/v1/export answer.
//
// Scrapers must honour timestamps (the harness sets `honor_timestamps: true`).

import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExportedSeries } from "./vm-api.ts";
import { LOOPBACK } from "./processes.ts";

export interface SampleTargetOptions {
  /** Metric name; default `e2e_sample_total`. */
  metric?: string;
  /** Number of series, labelled series="0".."n-1"; default 3. */
  series?: number;
  /** Extra constant labels on every series (e.g. { run: "abc" } to keep runs apart). */
  labels?: Record<string, string>;
  port?: number;
}

export interface ServedScrape {
  seq: number;
  timestampMs: number;
}

export interface Comparison {
  /** Served but absent from the export: data loss. */
  missing: string[];
  /** Present more than once (a retried block that had landed): harmless for VictoriaMetrics queries, but counted. */
  duplicated: string[];
  /** In the export but never served: corruption or another writer. */
  unexpected: string[];
}

export interface SampleTarget {
  /** host:port, for scrape configs. */
  readonly address: string;
  /** http://host:port/metrics */
  readonly url: string;
  readonly metric: string;
  /** Series per scrape (labelled series="0".."n-1"). */
  readonly seriesCount: number;
  /** The series selector for exports, e.g. `e2e_sample_total{run="abc"}`. */
  readonly selector: string;
  /** Scrapes answered with samples so far. */
  served(): readonly ServedScrape[];
  /** Number of samples that must arrive: served scrapes x series. */
  expectedSamples(): number;
  /** Answer 503 (no samples) from now on, so the expected set stops growing. */
  pause(): void;
  resume(): void;
  /** Resolves once `n` scrapes have been served (bounded). */
  waitForScrapes(n: number, timeoutMs?: number): Promise<void>;
  compare(exported: ExportedSeries[]): Comparison;
  stop(): Promise<void>;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export async function startSampleTarget(opts: SampleTargetOptions = {}): Promise<SampleTarget> {
  const metric = opts.metric ?? "e2e_sample_total";
  const seriesCount = opts.series ?? 3;
  const constLabels = opts.labels ?? {};
  const served: ServedScrape[] = [];
  const waiters = new Set<() => void>();
  let paused = false;
  let lastTs = 0;

  const labelText = (i: number) =>
    Object.entries({ ...constLabels, series: String(i) })
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");

  const answer = (res: ServerResponse) => {
    if (paused) {
      res.writeHead(503, { "content-type": "text/plain" }).end("paused\n");
      return;
    }
    const ts = Math.max(Date.now(), lastTs + 1); // strictly increasing, one per scrape
    lastTs = ts;
    const seq = served.length + 1;
    served.push({ seq, timestampMs: ts });
    let body = `# HELP ${metric} Scrape sequence number, one sample per series per scrape.\n# TYPE ${metric} counter\n`;
    for (let i = 0; i < seriesCount; i++) body += `${metric}{${labelText(i)}} ${seq} ${ts}\n`;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
    for (const w of waiters) w();
  };

  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url?.split("?")[0] === "/metrics") answer(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, LOOPBACK, () => ok());
  });
  const port = (server.address() as AddressInfo).port;

  const key = (series: string, ts: number, value: number) => `series=${series} t=${ts} v=${value}`;
  const selectorLabels = Object.entries(constLabels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);

  return {
    address: `${LOOPBACK}:${port}`,
    url: `http://${LOOPBACK}:${port}/metrics`,
    metric,
    seriesCount,
    selector: selectorLabels.length ? `${metric}{${selectorLabels.join(",")}}` : metric,
    served: () => served,
    expectedSamples: () => served.length * seriesCount,
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    waitForScrapes(n, timeoutMs = 15_000) {
      if (served.length >= n) return Promise.resolve();
      return new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`sample target: ${served.length} of ${n} scrapes after ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (served.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          ok();
        };
        waiters.add(check);
      });
    },
    compare(exported) {
      const want = new Set<string>();
      for (const s of served) for (let i = 0; i < seriesCount; i++) want.add(key(String(i), s.timestampMs, s.seq));
      const seen = new Map<string, number>();
      for (const series of exported) {
        if (series.metric.__name__ !== metric) continue;
        if (!Object.entries(constLabels).every(([k, v]) => series.metric[k] === v)) continue;
        series.values.forEach((v, j) => {
          const k = key(series.metric.series ?? "?", series.timestamps[j]!, v);
          seen.set(k, (seen.get(k) ?? 0) + 1);
        });
      }
      return {
        missing: [...want].filter((k) => !seen.has(k)),
        duplicated: [...seen].filter(([k, n]) => want.has(k) && n > 1).map(([k]) => k),
        unexpected: [...seen.keys()].filter((k) => !want.has(k)),
      };
    },
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
