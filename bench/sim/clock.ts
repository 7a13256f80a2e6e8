// A virtual clock for discrete-event simulation: Date.now, setTimeout/setInterval and their
// clears are replaced by an event queue, so code written against real timers (the permit pools)
// runs unchanged in simulated time. After each event the real microtask queue is drained, so
// promise chains settle before the clock moves on.

type Callback = () => void;
interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: Callback;
  interval?: number;
  cancelled: boolean;
}

export class VirtualClock {
  now = 0;
  private seq = 0;
  private nextId = 1;
  private heap: Timer[] = [];
  private timers = new Map<number, Timer>();
  private saved: Record<string, unknown> = {};

  install(): void {
    const g = globalThis as unknown as Record<string, unknown>;
    for (const k of ["setTimeout", "setInterval", "clearTimeout", "clearInterval"]) this.saved[k] = g[k];
    this.saved.now = Date.now;
    Date.now = () => this.now;
    g.setTimeout = (fn: Callback, ms = 0) => this.add(fn, ms);
    g.setInterval = (fn: Callback, ms = 0) => this.add(fn, ms, Math.max(1, ms));
    g.clearTimeout = g.clearInterval = (t: unknown) => {
      const timer = this.timers.get(Number(t));
      if (timer) timer.cancelled = true;
      this.timers.delete(Number(t));
    };
  }

  uninstall(): void {
    const g = globalThis as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(this.saved)) if (k !== "now") g[k] = v;
    Date.now = this.saved.now as () => number;
  }

  /** Schedule `fn` at absolute virtual time `at`. */
  at(at: number, fn: Callback): void {
    this.push({ id: 0, at, seq: this.seq++, fn, cancelled: false });
  }

  private add(fn: Callback, ms: number, interval?: number): { [Symbol.toPrimitive](): number; unref(): void } {
    const id = this.nextId++;
    const timer: Timer = { id, at: this.now + Math.max(0, ms), seq: this.seq++, fn, interval, cancelled: false };
    this.timers.set(id, timer);
    this.push(timer);
    // Node-style handle that converts to the id (clearTimeout(handle) works either way).
    return { [Symbol.toPrimitive]: () => id, unref() {} };
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  /** Run events until virtual time `until`. */
  async run(until: number, drain: () => Promise<void>): Promise<void> {
    for (;;) {
      const t = this.heap[0];
      if (!t || t.at > until) break;
      this.pop();
      if (t.cancelled) continue;
      this.now = Math.max(this.now, t.at);
      if (t.interval !== undefined) {
        t.at = this.now + t.interval;
        t.seq = this.seq++;
        this.push(t);
      } else if (t.id) {
        this.timers.delete(t.id);
      }
      t.fn();
      await drain();
    }
    this.now = until;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
