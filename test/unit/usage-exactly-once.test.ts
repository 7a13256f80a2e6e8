import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageAccumulator } from "../../src/usage/accumulator";
import { UsageShipment } from "../../src/usage/batch";
import { ANSWER_INDEX, CLASS_INDEX, type Cells, REQUEST_BYTES, newCells, requestCell, requestCount } from "../../src/usage/cells";
import { HOUR_MS, type UsageState, applyShipment, emptyState, loadState } from "../../src/usage/store";
import { Answer, UsageClass } from "../../src/usage/vocabulary";
import { FakeStorage, bucketSum, sumsOnly } from "./usage-fixtures";

/**
 * Several isolates count requests for two tokens and ship them over a faulty network to the
 * tokens' Durable Objects, which restart now and then. Whatever happens to the calls — answered,
 * lost on the way, applied but the answer lost, delivered late, delivered twice — once every
 * isolate has shipped successfully, each token's totals are exactly the requests counted; only
 * when calls failed for longer than the resend window may some be missing, and then no more
 * than the isolates report abandoned. A call arrives within an hour of being sent or never (the
 * runtime gives up on a call after seconds; an hour is generous).
 */

const TOKENS = ["a", "b"] as const;
const START = Date.UTC(2026, 10, 1);
/** Longest a call may travel before it is delivered (late or twice) in this model. */
const MAX_CALL_DELAY_MS = HOUR_MS;

type Fate = "ok" | "lost" | "applied-answer-lost" | "delayed";
type Cmd =
  | { k: "record"; iso: number; token: number; cls: UsageClass; answer: Answer; bytes: number }
  | { k: "call"; iso: number; token: number; fate: Fate }
  | { k: "deliver-late"; pick: number }
  | { k: "duplicate"; pick: number }
  | { k: "restart"; token: number }
  | { k: "tick"; ms: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("record" as const), iso: fc.nat(2), token: fc.nat(1), cls: fc.constantFrom(...UsageClass.options), answer: fc.constantFrom(...Answer.options), bytes: fc.nat(10_000) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("call" as const), iso: fc.nat(2), token: fc.nat(1), fate: fc.constantFrom<Fate>("ok", "lost", "applied-answer-lost", "delayed") }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deliver-late" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("duplicate" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const), token: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("tick" as const), ms: fc.constantFrom(1, 1_000, 60_000, HOUR_MS, 20 * HOUR_MS) }) },
);

class TokenObject {
  state: UsageState = emptyState();
  readonly storage = new FakeStorage();
  apply(s: UsageShipment, now: number): void {
    // Over RPC the object gets a copy, and validates it like a lease request.
    const parsed = UsageShipment.parse(structuredClone(s));
    this.storage.write(applyShipment(this.state, parsed, now).writes);
  }
  restart(): void {
    const { state, invalid } = loadState(this.storage.rows);
    expect(invalid).toEqual([]);
    this.state = state;
  }
}

describe("usage shipping is exactly once", () => {
  it("gives each token exactly the requests counted, through lost, late, duplicated calls and restarts", () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 150 }), (cmds) => {
        let now = START;
        const isolates = [0, 1, 2].map((i) => new UsageAccumulator(`isolate-${i}`));
        const objects = TOKENS.map(() => new TokenObject());
        const expected = TOKENS.map(() => newCells());
        type Call = { token: number; s: UsageShipment; sentAt: number };
        const sent: Call[] = [];
        let late: Call[] = [];
        const deliverable = (c: Call) => now - c.sentAt < MAX_CALL_DELAY_MS;

        for (const c of cmds) {
          if (c.k === "record") {
            isolates[c.iso]!.record(TOKENS[c.token]!, { at: now, class: c.cls, answer: c.answer, requestBytes: c.bytes });
            const e = expected[c.token]!;
            e[requestCell(CLASS_INDEX[c.cls], ANSWER_INDEX[c.answer])]! += 1;
            e[REQUEST_BYTES]! += c.bytes;
          } else if (c.k === "call") {
            const acc = isolates[c.iso]!;
            const s = acc.drain(TOKENS[c.token]!, now);
            if (s === undefined) continue;
            sent.push({ token: c.token, s: structuredClone(s), sentAt: now });
            if (c.fate === "ok" || c.fate === "applied-answer-lost") objects[c.token]!.apply(s, now);
            if (c.fate === "delayed") late.push({ token: c.token, s: structuredClone(s), sentAt: now });
            if (c.fate === "ok") acc.acknowledge(s);
            else acc.putBack(s);
          } else if (c.k === "deliver-late") {
            late = late.filter(deliverable);
            if (late.length === 0) continue;
            const [l] = late.splice(c.pick % late.length, 1);
            objects[l!.token]!.apply(l!.s, now);
          } else if (c.k === "duplicate") {
            const recent = sent.filter(deliverable);
            if (recent.length === 0) continue;
            const d = recent[c.pick % recent.length]!;
            objects[d.token]!.apply(d.s, now);
          } else if (c.k === "restart") {
            objects[c.token]!.restart();
          } else {
            now += c.ms;
          }
        }

        // Every isolate ships what it still holds, over calls that succeed.
        for (const acc of isolates) {
          TOKENS.forEach((token, t) => {
            for (let s = acc.drain(token, now); s !== undefined; s = acc.drain(token, now)) {
              objects[t]!.apply(s, now);
              acc.acknowledge(s);
            }
          });
          expect(acc.size).toBe(0);
        }
        // Stragglers arriving after everything is settled change nothing.
        for (const l of late.filter(deliverable)) objects[l.token]!.apply(l.s, now);

        const abandoned = isolates.reduce((n, acc) => n + acc.abandoned.requests, 0);
        let applied = 0;
        let counted = 0;
        TOKENS.forEach((_, t) => {
          const o = objects[t]!;
          o.restart();
          applied += requestCount(o.state.total);
          counted += requestCount(expected[t]!);
          // Never more than counted, cell by cell: nothing counts twice.
          o.state.total.forEach((v, i) => expect(v).toBeLessThanOrEqual(expected[t]![i]!));
          if (abandoned === 0) {
            expect(sumsOnly(o.state.total)).toEqual(sumsOnly(expected[t]!));
            // Within 30 days nothing has aged out: the buckets hold the same sums as the totals.
            if (now - START < 29 * 24 * HOUR_MS) expect(sumsOnly(bucketSum(o.state))).toEqual(sumsOnly(expected[t]!));
          }
        });
        // Nothing lost beyond what the isolates reported abandoned.
        expect(applied).toBeGreaterThanOrEqual(counted - abandoned);
      }),
      { numRuns: 300 },
    );
  });

  it("loses nothing when every call fails for a while, then succeeds", () => {
    const acc = new UsageAccumulator("iso");
    const obj = new TokenObject();
    const expected: Cells = newCells();
    for (let i = 0; i < 50; i++) {
      acc.record("a", { at: START + i, class: "write", answer: "2xx", requestBytes: 10 });
      expected[requestCell(CLASS_INDEX.write, ANSWER_INDEX["2xx"])]! += 1;
      expected[REQUEST_BYTES]! += 10;
      const s = acc.drain("a", START + i)!;
      if (i % 3 === 0) obj.apply(s, START + i); // applied, but the isolate never hears back
      acc.putBack(s);
    }
    for (let s = acc.drain("a", START + 100); s !== undefined; s = acc.drain("a", START + 100)) {
      obj.apply(s, START + 100);
      acc.acknowledge(s);
    }
    expect(sumsOnly(obj.state.total)).toEqual(sumsOnly(expected));
  });
});
