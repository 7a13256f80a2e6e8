import { describe, expect, it } from "vitest";
import { MAX_BATCHES_PER_SHIPMENT, MAX_USER_AGENT_LENGTH, UsageShipment } from "../../src/usage/batch";
import { RESEND_WINDOW_MS, type RequestSample, SHIP_INTERVAL_MS, UsageAccumulator } from "../../src/usage/accumulator";
import { SEEN_RETENTION_MS } from "../../src/usage/store";
import { CELL_NAMES, decodeCells } from "../../src/usage/cells";
import { Answer, UsageClass } from "../../src/usage/vocabulary";

const T = "token-1";
const sample = (over: Partial<RequestSample> = {}): RequestSample => ({ at: 1_000, class: "write", answer: "2xx", ...over });
/** The named cells of every batch of a shipment, added up. */
function totals(shipment: UsageShipment | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of shipment?.batches ?? []) for (const [k, v] of Object.entries(b.cells)) out[k] = (out[k] ?? 0) + v;
  return out;
}

describe("UsageAccumulator: counting", () => {
  it.each(UsageClass.options.flatMap((cls) => Answer.options.map((answer) => [cls, answer] as const)))("counts a %s request answered %s exactly once", (cls, answer) => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ class: cls, answer }));
    const shipment = acc.drain(T, 2_000);
    expect(totals(shipment)).toEqual({ [`req.${cls}.${answer}`]: 1 });
    expect(UsageShipment.safeParse(shipment).success).toBe(true);
  });

  it("counts bytes, latency, permit waits and the highest concurrency", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ requestBytes: 100, responseBytes: 7, upstreamMs: 3, inFlight: 2 }));
    acc.record(T, sample({ class: "read", requestBytes: 0, responseBytes: 2_000, upstreamMs: 100.4, permitWaitMs: 12.6, inFlight: 5 }));
    acc.record(T, sample({ class: "read", answer: "too_many_requests", inFlight: 1, upstreamMs: undefined }));
    expect(totals(acc.drain(T, 2_000))).toEqual({
      "req.write.2xx": 1,
      "req.read.2xx": 1,
      "req.read.too_many_requests": 1,
      "bytes.in": 100,
      "bytes.out": 2_007,
      "lat.write.le4": 1,
      "lat.write.sum": 3,
      "lat.read.le128": 1,
      "lat.read.sum": 100,
      "wait.ms": 13,
      "wait.count": 1,
      "conc.max": 5,
    });
  });

  it("adds nothing for NaN, negative or absent amounts", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ requestBytes: Number.NaN, responseBytes: -4, permitWaitMs: -1, inFlight: Number.NaN }));
    expect(totals(acc.drain(T, 2_000))).toEqual({ "req.write.2xx": 1 });
  });

  it("keeps the latest use, with the user agent cut and places kept", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ at: 5_000, address: "2001:db8::1", country: "DE", colo: "FRA", userAgent: "vmagent/1.0" }));
    acc.record(T, sample({ at: 4_000, address: "192.0.2.9", userAgent: "older" }));
    acc.record(T, sample({ at: 6_000, answer: "insufficient_access", class: "delete", address: "192.0.2.1", userAgent: "x".repeat(10_000) }));
    const [batch] = acc.drain(T, 7_000)!.batches;
    expect(batch!.from).toBe(4_000);
    expect(batch!.to).toBe(6_000);
    expect(batch!.last).toEqual({ at: 6_000, class: "delete", answer: "insufficient_access", address: "192.0.2.1", userAgent: "x".repeat(MAX_USER_AGENT_LENGTH) });
  });

  it("never splits a surrogate pair when cutting a user agent", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ userAgent: "a".repeat(MAX_USER_AGENT_LENGTH - 1) + "😀😀" }));
    const ua = acc.drain(T, 2_000)!.batches[0]!.last!.userAgent!;
    expect(ua).toBe("a".repeat(MAX_USER_AGENT_LENGTH - 1));
    expect(ua.isWellFormed()).toBe(true);
  });

  it("adds bytes that streamed on after their request, once, to the open batch; a token with only those ships them too", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ class: "read", requestBytes: 10 }));
    const first = acc.drain(T, 2_000)!; // the request shipped; its streamed answer ends later
    acc.addBytes(T, 2_500, 0, 4_096);
    acc.addBytes(T, 2_600, 300, 0);
    acc.addBytes(T, 2_700, -5, Number.NaN); // adds nothing
    expect(acc.due(T, 2_600 + SHIP_INTERVAL_MS)).toBe(false); // its shipment is out
    acc.acknowledge(first);
    expect(totals(first)).toEqual({ "req.read.2xx": 1, "bytes.in": 10 });
    expect(acc.due(T, 2_500 + SHIP_INTERVAL_MS)).toBe(true);
    const second = acc.drain(T, 3_000);
    expect(totals(second)).toEqual({ "bytes.in": 300, "bytes.out": 4_096 });
    expect(UsageShipment.safeParse(second).success).toBe(true);
    acc.acknowledge(second!);
    expect(acc.drain(T, 4_000)).toBeUndefined();
  });

  it("keeps tokens apart", () => {
    const acc = new UsageAccumulator("iso");
    acc.record("a", sample());
    acc.record("b", sample({ answer: "5xx" }));
    acc.record("b", sample({ answer: "5xx" }));
    expect(totals(acc.drain("a", 2_000))).toEqual({ "req.write.2xx": 1 });
    expect(totals(acc.drain("b", 2_000))).toEqual({ "req.write.5xx": 2 });
  });
});

describe("UsageAccumulator: shipping", () => {
  it("numbers batches per isolate, names the isolate and the token", () => {
    const acc = new UsageAccumulator("iso-7");
    acc.record("a", sample());
    acc.record("b", sample());
    const a = acc.drain("a", 2_000)!;
    const b = acc.drain("b", 2_000)!;
    expect(a).toMatchObject({ isolate: "iso-7", tokenId: "a", batches: [{ seq: 1 }] });
    expect(b).toMatchObject({ isolate: "iso-7", tokenId: "b", batches: [{ seq: 2 }] });
  });

  it("forgets acknowledged batches and frees an idle token", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample());
    const s = acc.drain(T, 2_000)!;
    acc.acknowledge(s);
    expect(acc.drain(T, 3_000)).toBeUndefined();
    expect(acc.size).toBe(0);
  });

  it("ships a put-back batch again unchanged, ahead of newer counts", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample());
    const first = acc.drain(T, 2_000)!;
    acc.putBack(first);
    acc.record(T, sample({ answer: "4xx" }));
    const second = acc.drain(T, 3_000)!;
    expect(second.batches).toHaveLength(2);
    expect(second.batches[0]).toEqual(first.batches[0]);
    expect(second.batches[1]!.seq).toBeGreaterThan(first.batches[0]!.seq);
    expect(totals(second)).toEqual({ "req.write.2xx": 1, "req.write.4xx": 1 });
    acc.acknowledge(second);
    expect(acc.drain(T, 4_000)).toBeUndefined();
  });

  it("gives out nothing for a token while its shipment is out, so no batch overtakes another", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample());
    const s = acc.drain(T, 2_000)!;
    acc.record(T, sample());
    expect(acc.drain(T, 2_500)).toBeUndefined();
    expect(acc.due(T, 1_000_000)).toBe(false);
    acc.acknowledge(s);
    expect(totals(acc.drain(T, 3_000))).toEqual({ "req.write.2xx": 1 });
  });

  it("ignores a second settle of the same shipment", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample());
    const s = acc.drain(T, 2_000)!;
    acc.acknowledge(s);
    acc.record(T, sample({ answer: "5xx" }));
    const next = acc.drain(T, 3_000)!;
    acc.putBack(s); // stale: must not free `next`
    expect(acc.drain(T, 3_500)).toBeUndefined();
    acc.putBack(next);
    expect(totals(acc.drain(T, 4_000))).toEqual({ "req.write.5xx": 1 });
  });

  it(`carries at most ${MAX_BATCHES_PER_SHIPMENT} batches; newer counts wait in the counters, whole`, () => {
    const acc = new UsageAccumulator("iso");
    for (let i = 0; i < 10; i++) {
      acc.record(T, sample({ at: i }));
      const s = acc.drain(T, i + 1)!;
      expect(s.batches.length).toBeLessThanOrEqual(MAX_BATCHES_PER_SHIPMENT);
      acc.putBack(s);
    }
    const s = acc.drain(T, 100)!;
    expect(s.batches).toHaveLength(MAX_BATCHES_PER_SHIPMENT);
    acc.acknowledge(s);
    const rest = acc.drain(T, 101)!;
    expect(totals(s)["req.write.2xx"]! + totals(rest)["req.write.2xx"]!).toBe(10);
  });

  it("is due once counts are a shipping interval old, or when batches were put back", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ at: 10_000 }));
    expect(acc.due(T, 10_000 + SHIP_INTERVAL_MS - 1)).toBe(false);
    expect(acc.dueTokens(10_000 + SHIP_INTERVAL_MS)).toEqual([T]);
    const s = acc.drain(T, 10_000 + SHIP_INTERVAL_MS)!;
    acc.putBack(s);
    expect(acc.due(T, 0)).toBe(true);
  });

  it("decodes every shipped cell name", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ upstreamMs: 40_000, requestBytes: 1 }));
    const cells = decodeCells(acc.drain(T, 2_000)!.batches[0]!.cells);
    expect(CELL_NAMES.filter((_, i) => cells[i] !== 0)).toEqual(["req.write.2xx", "bytes.in", "lat.write.inf", "lat.write.sum"]);
  });
});

describe("UsageAccumulator: odd clocks", () => {
  it("ships a valid batch even when the clock gave negative or fractional times", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample({ at: -50.5 }));
    acc.record(T, sample({ at: 10.7 }));
    const s = acc.drain(T, 20)!;
    expect(UsageShipment.safeParse(s).success).toBe(true);
    expect(s.batches[0]).toMatchObject({ from: 0, to: 10 });
  });
});

describe("UsageAccumulator: giving up", () => {
  it("abandons a put-back batch once it was first sent a resend window ago, and says how many requests it held", () => {
    const acc = new UsageAccumulator("iso");
    acc.record(T, sample());
    acc.record(T, sample({ answer: "5xx" }));
    const first = acc.drain(T, 0)!;
    acc.putBack(first);
    const again = acc.drain(T, RESEND_WINDOW_MS - 1)!;
    expect(again.batches).toEqual(first.batches); // still resent just inside the window
    acc.putBack(again);
    acc.record(T, sample({ at: RESEND_WINDOW_MS }));
    const later = acc.drain(T, RESEND_WINDOW_MS)!;
    expect(later.batches.map((b) => b.seq)).toEqual([first.batches[0]!.seq + 1]);
    expect(acc.abandoned).toEqual({ batches: 1, requests: 2 });
  });

  it("resends for less time than the Durable Object remembers an isolate, with hours to spare", () => {
    expect(SEEN_RETENTION_MS - RESEND_WINDOW_MS).toBeGreaterThanOrEqual(6 * 60 * 60_000);
  });
});
