// Parser for the Prometheus text exposition format, enough to read the /metrics pages of
// vmagent, vmalert, Prometheus and VictoriaMetrics in assertions. Not a general parser:
// no exemplars, no escaping beyond \\, \" and \n in label values.

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

export function parsePromText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    let lm: RegExpExecArray | null;
    while (LABEL.lastIndex < body.length && (lm = LABEL.exec(body)) !== null) {
      labels[lm[1]!] = lm[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    }
    out.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return out;
}

function parseValue(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s); // NaN stays NaN
}

/** Samples of `name` whose labels include every pair in `match`. */
export function select(samples: MetricSample[], name: string, match: Record<string, string> = {}): MetricSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

/** Sum of the matching samples; 0 when none match (a counter that was never touched). */
export function sumOf(samples: MetricSample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((acc, s) => acc + s.value, 0);
}

/** Matching samples summed per value of one label, e.g. requests per `status_code`. */
export function sumBy(samples: MetricSample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of select(samples, name)) {
    const key = s.labels[label] ?? "";
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}
