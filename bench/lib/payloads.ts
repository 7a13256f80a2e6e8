// The fixed request bodies and the seed data of the benchmark. Everything is generated at run
// time from fixed rules (no binary is committed): `node bench/run.ts --payloads-only` writes
// them to bench/results/ for inspection.

import snappy from "snappyjs";
import { encodeWriteRequest, type TimeSeries } from "./protobuf.ts";

/**
 * A remote-write block as vmagent sends it for one scrape round of a node_exporter-like target
 * set: 1,000 series × 1 sample, 7–8 labels each, Snappy-compressed protobuf.
 */
export function remoteWriteBody(nowMs: number): { body: Uint8Array; samples: number; rawBytes: number } {
  const series: TimeSeries[] = [];
  const modes = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"];
  for (let i = 0; i < 1000; i++) {
    const instance = `node-${String(i % 25).padStart(2, "0")}.bench.internal:9100`;
    const labels =
      i % 2 === 0
        ? [
            { name: "__name__", value: "node_cpu_seconds_total" },
            { name: "cpu", value: String(Math.floor(i / 16) % 8) },
            { name: "mode", value: modes[i % modes.length]! },
          ]
        : [
            { name: "__name__", value: "node_network_receive_bytes_total" },
            { name: "device", value: `eth${Math.floor(i / 50) % 4}` },
          ];
    labels.push(
      { name: "instance", value: instance },
      { name: "job", value: "node" },
      { name: "env", value: "bench" },
      { name: "region", value: "eu-west-1" },
      { name: "series", value: String(i) },
    );
    // Prometheus and vmagent send labels sorted by name.
    labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    series.push({ labels, samples: [{ value: 1000 + i * 3.25, timestampMs: nowMs }] });
  }
  const raw = encodeWriteRequest(series);
  return { body: snappy.compress(raw), samples: series.length, rawBytes: raw.length };
}

/** `/api/v1/import` JSON lines: 100 series × 10 samples = 1,000 samples. */
export function importLinesBody(nowMs: number): { body: Uint8Array; samples: number } {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    const timestamps = Array.from({ length: 10 }, (_, k) => nowMs - (9 - k) * 15_000);
    const values = timestamps.map((_, k) => i * 10 + k);
    lines.push(
      JSON.stringify({
        metric: { __name__: "bench_import_total", job: "import", instance: `host-${i % 10}`, series: String(i) },
        values,
        timestamps,
      }),
    );
  }
  const text = lines.join("\n") + "\n";
  return { body: new TextEncoder().encode(text), samples: 1000 };
}

/** The series the query workloads read: 5 series, one point every 15 s over the last hour. */
export function querySeedLines(nowMs: number): string {
  const lines: string[] = [];
  for (let s = 0; s < 5; s++) {
    const timestamps = Array.from({ length: 240 }, (_, k) => nowMs - (239 - k) * 15_000);
    lines.push(
      JSON.stringify({
        metric: { __name__: "bench_series", job: "bench", series: String(s) },
        values: timestamps.map((_, k) => s * 1000 + k),
        timestamps,
      }),
    );
  }
  return lines.join("\n") + "\n";
}
