// The few protobuf wire-format pieces a Prometheus remote-write request needs (proto3):
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }
// Written out (about 60 lines) rather than pulling in a protobuf library for one message.

export interface Label {
  name: string;
  value: string;
}
export interface Sample {
  value: number;
  timestampMs: number;
}
export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;

class Writer {
  private chunks: number[] = [];

  varint(n: number): this {
    // int64 timestamps fit a double exactly up to 2^53; BigInt keeps the shifts correct past 2^31.
    let v = BigInt(n);
    if (v < 0n) v = (1n << 64n) + v;
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED).varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64);
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.chunks.push(buf.getUint8(i));
    return this;
  }

  int64(field: number, value: number): this {
    return this.tag(field, WIRE_VARINT).varint(value);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export function encodeWriteRequest(series: TimeSeries[]): Uint8Array {
  const request = new Writer();
  for (const ts of series) {
    const body = new Writer();
    for (const label of ts.labels) body.bytes(1, new Writer().string(1, label.name).string(2, label.value).finish());
    for (const s of ts.samples) body.bytes(2, new Writer().double(1, s.value).int64(2, s.timestampMs).finish());
    request.bytes(1, body.finish());
  }
  return request.finish();
}
