// Decode what Prometheus remote-write clients send (vmagent, Prometheus, vmalert): a snappy
// block-compressed protobuf WriteRequest. Enough to count and identify samples, so the suite
// can say how many samples a request carried and which ones a recording upstream received.
// No dependencies: the snappy block format and the three protobuf messages are small.

export interface WrittenSample {
  labels: Record<string, string>;
  value: number;
  timestampMs: number;
}

/** Snappy *block* format (not the framed format): varint length, then literals and copies. */
export function snappyDecode(input: Uint8Array): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error("snappy: bad length preamble");
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = 0;
        for (let i = 0; i < bytes; i++) len += input[pos++]! * 2 ** (8 * i);
      }
      len += 1;
      if (pos + len > input.length || o + len > out.length) throw new Error("snappy: literal out of range");
      out.set(input.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos++]!;
    } else if (kind === 2) {
      len = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      len = (tag >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) + input[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > out.length) throw new Error("snappy: copy out of range");
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!; // overlapping copies are allowed
  }
  if (o !== length) throw new Error(`snappy: decoded ${o} of ${length} bytes`);
  return out;
}

/** A minimal protobuf reader: varints, fixed64 doubles, length-delimited fields. */
class Reader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  /** Unsigned varint as a Number (exact up to 2^53: enough for millisecond timestamps). */
  varint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end || shift > 63) throw new Error("protobuf: bad varint");
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }
  /** int64 varint: negative numbers arrive as 10-byte two's complement. */
  int64(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }
  double(): number {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }
  sub(): Reader {
    const len = this.varint();
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
  string(): string {
    const r = this.sub();
    return new TextDecoder().decode(this.buf.subarray(r.pos, r.end));
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.sub();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`protobuf: wire type ${wireType}`);
  }
}

/**
 * prometheus.WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 * TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
 * Label { string name = 1; string value = 2; }   Sample { double value = 1; int64 timestamp = 2; }
 */
export function parseWriteRequest(proto: Uint8Array): WrittenSample[] {
  const out: WrittenSample[] = [];
  const req = new Reader(proto);
  while (!req.done()) {
    const key = req.varint();
    if (key >>> 3 !== 1 || (key & 7) !== 2) {
      req.skip(key & 7);
      continue;
    }
    const ts = req.sub();
    const labels: Record<string, string> = {};
    const samples: { value: number; timestampMs: number }[] = [];
    while (!ts.done()) {
      const k = ts.varint();
      const field = k >>> 3;
      if (field === 1 && (k & 7) === 2) {
        const l = ts.sub();
        let name = "";
        let value = "";
        while (!l.done()) {
          const lk = l.varint();
          if (lk >>> 3 === 1 && (lk & 7) === 2) name = l.string();
          else if (lk >>> 3 === 2 && (lk & 7) === 2) value = l.string();
          else l.skip(lk & 7);
        }
        labels[name] = value;
      } else if (field === 2 && (k & 7) === 2) {
        const s = ts.sub();
        let value = 0;
        let timestampMs = 0;
        while (!s.done()) {
          const sk = s.varint();
          if (sk >>> 3 === 1 && (sk & 7) === 1) value = s.double();
          else if (sk >>> 3 === 2 && (sk & 7) === 0) timestampMs = s.int64();
          else s.skip(sk & 7);
        }
        samples.push({ value, timestampMs });
      } else {
        ts.skip(k & 7);
      }
    }
    for (const s of samples) out.push({ labels, ...s });
  }
  return out;
}

/** The samples of one remote-write body as sent on the wire (`Content-Encoding: snappy`). */
export function decodeRemoteWrite(body: Uint8Array): WrittenSample[] {
  return parseWriteRequest(snappyDecode(body));
}

/** `series=<s> t=<ms> v=<value>`: the key SampleTarget.compare() uses, for cross-checks. */
export function sampleKey(s: WrittenSample): string {
  return `series=${s.labels.series ?? "?"} t=${s.timestampMs} v=${s.value}`;
}

/** A series' identity: its labels, sorted, as text. */
export function seriesId(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",");
}

/** Decoded samples in the shape of an /api/v1/export answer, e.g. for SampleTarget.compare(). */
export function toExported(samples: readonly WrittenSample[]): { metric: Record<string, string>; values: number[]; timestamps: number[] }[] {
  return samples.map((s) => ({ metric: s.labels, values: [s.value], timestamps: [s.timestampMs] }));
}

export interface WrittenComparison {
  /** Distinct (series, timestamp, value) triples among `written`. */
  distinct: number;
  /** Of those, present in `found`. */
  found: number;
  /** Present in `written` but not in `found`. */
  missing: string[];
  /** Extra copies in `found` of a written triple. */
  duplicates: number;
}

/** Which written samples arrived, with `found` as export-shaped series (from VictoriaMetrics or decoded bodies). */
export function compareWritten(
  written: readonly WrittenSample[],
  found: readonly { metric: Record<string, string>; values: number[]; timestamps: number[] }[],
): WrittenComparison {
  const key = (labels: Record<string, string>, t: number, v: number) => `${seriesId(labels)} t=${t} v=${v}`;
  const want = new Set(written.map((s) => key(s.labels, s.timestampMs, s.value)));
  const seen = new Map<string, number>();
  for (const series of found) {
    series.values.forEach((v, i) => {
      const k = key(series.metric, series.timestamps[i]!, v);
      seen.set(k, (seen.get(k) ?? 0) + 1);
    });
  }
  const missing = [...want].filter((k) => !seen.has(k));
  let duplicates = 0;
  for (const k of want) duplicates += Math.max(0, (seen.get(k) ?? 0) - 1);
  return { distinct: want.size, found: want.size - missing.length, missing, duplicates };
}
