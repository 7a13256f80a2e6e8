// Counts the billable operations of the authorizer: wraps the bundle `wrangler deploy --dry-run`
// produced (the exact production script) so every KV read, D1 query, Durable Object request and
// outbound fetch (subrequest) it makes is counted, on the Worker side and inside the Durable
// Object. Used by the billing section only; the comparison runs the unwrapped bundle.
//
// bench/lib/counting.ts generates the entry that imports the bundle and calls these, and bundles
// it with esbuild. Typed structurally (DOM lib only): bench/ is checked without Worker types.

export interface Counters {
  requests: number;
  kvReads: number;
  kvWrites: number;
  d1Queries: number;
  /** Every billed Durable Object request: the sum of the three below. */
  doRequests: number;
  /** Worker → the token's TokenLimiter (lease calls, usage `ship` calls). */
  doTokenRequests: number;
  /** Worker → the token's LocationLimiter for its colo (lease calls). */
  doLocationRequests: number;
  /** LocationLimiter → the token's TokenLimiter (block leases): a DO calling a DO is billed too. */
  doLocationToToken: number;
  /** Of doTokenRequests: usage `ship` calls (the once-a-minute sweep). */
  doUsageShips: number;
  /** Of doTokenRequests: `lease` calls that carried a usage shipment (no extra request). */
  leasesWithUsage: number;
  subrequests: number;
  /** Seen inside the Durable Object (same isolate locally). */
  doAlarms: number;
  doD1Queries: number;
}

export const counters: Counters = {
  requests: 0,
  kvReads: 0,
  kvWrites: 0,
  d1Queries: 0,
  doRequests: 0,
  doTokenRequests: 0,
  doLocationRequests: 0,
  doLocationToToken: 0,
  doUsageShips: 0,
  leasesWithUsage: 0,
  subrequests: 0,
  doAlarms: 0,
  doD1Queries: 0,
};

type Fn = (...args: unknown[]) => unknown;
type Bag = Record<string, unknown>;

function countMethods(target: object, count: (method: string, args: unknown[]) => void): object {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        count(String(prop), args);
        return Reflect.apply(value as Fn, t, args);
      };
    },
  });
}

/** D1: every statement run (first/all/run/raw) and every batch is one query round trip. */
function countD1(db: object, onQuery: () => void): object {
  const statement = (s: object): object =>
    new Proxy(s, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => statement(Reflect.apply(value as Fn, t, args) as object);
        return (...args: unknown[]) => {
          if (["first", "all", "run", "raw"].includes(String(prop))) onQuery();
          return Reflect.apply(value as Fn, t, args);
        };
      },
    });
  return new Proxy(db, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (...args: unknown[]) => statement(Reflect.apply(value as Fn, t, args) as object);
      return (...args: unknown[]) => {
        if (prop === "batch" || prop === "exec") onQuery();
        return Reflect.apply(value as Fn, t, args);
      };
    },
  });
}

/** A Durable Object namespace whose stubs count every method call (each is one billed DO request). */
function countingNamespace(ns: Bag, onRequest: (method: string, args: unknown[]) => void): Bag {
  return new Proxy(ns, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) => countMethods(Reflect.apply(value as Fn, t, args) as object, onRequest);
      }
      return typeof value === "function" ? (value as Fn).bind(t) : value;
    },
  });
}

const countDo = (which: "doTokenRequests" | "doLocationRequests" | "doLocationToToken") => (method: string, args: unknown[]) => {
  counters[which]++;
  if (which === "doTokenRequests" && method === "ship") counters.doUsageShips++;
  if (which === "doTokenRequests" && method === "lease" && (args[0] as { usage?: unknown } | undefined)?.usage !== undefined) counters.leasesWithUsage++;
  counters.doRequests++;
};

// One counting view per env object, as the runtime hands the same bindings to every request: the
// data plane caches objects keyed by its namespace binding (src/data/usage.ts), which a fresh
// proxy per request would defeat.
const wrappedEnvs = new WeakMap<Bag, Bag>();

function countingEnv(env: Bag): Bag {
  const known = wrappedEnvs.get(env);
  if (known) return known;
  const wrapped: Bag = {
    ...env,
    TOKENS_KV: countMethods(env.TOKENS_KV as object, (m) => (m === "get" || m === "getWithMetadata" ? counters.kvReads++ : m === "put" || m === "delete" ? counters.kvWrites++ : undefined)),
    DB: countD1(env.DB as object, () => counters.d1Queries++),
    TOKEN_LIMITER: countingNamespace(env.TOKEN_LIMITER as Bag, countDo("doTokenRequests")),
    ...(env.LOCATION_LIMITER ? { LOCATION_LIMITER: countingNamespace(env.LOCATION_LIMITER as Bag, countDo("doLocationRequests")) } : {}),
  };
  wrappedEnvs.set(env, wrapped);
  return wrapped;
}

interface WorkerLike {
  fetch(request: Request, env: Bag, ctx: unknown): Response | Promise<Response>;
}

/** The Worker's default export, counting; `GET /__bench/counters` answers the counters. */
export function countingWorker(inner: WorkerLike): WorkerLike {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    counters.subrequests++;
    return originalFetch(input, init);
  }) as typeof fetch;
  return {
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      if (url.pathname === "/__bench/counters") {
        const tokenId = url.searchParams.get("token");
        let limiter: unknown = null;
        if (tokenId) {
          const stub = (env.TOKEN_LIMITER as { getByName(n: string): { state(): Promise<unknown>; benchCounters(): Promise<unknown> } }).getByName(tokenId);
          limiter = { state: await stub.state(), counters: await stub.benchCounters() };
        }
        return Response.json({ worker: counters, limiter });
      }
      counters.requests++;
      return inner.fetch(request, countingEnv(env), ctx);
    },
  };
}

type LimiterClass = new (ctx: unknown, env: Bag) => { alarm(): Promise<void> };

/** The Durable Object class with its D1 calls and alarms counted. */
export function countingLimiter<C extends LimiterClass>(Base: C): C {
  // @ts-expect-error a mixin over an unknown constructor
  return class CountingTokenLimiter extends Base {
    constructor(ctx: unknown, env: Bag) {
      super(ctx, { ...env, DB: countD1(env.DB as object, () => counters.doD1Queries++) });
    }
    override async alarm(): Promise<void> {
      counters.doAlarms++;
      return super.alarm();
    }
    async benchCounters(): Promise<Pick<Counters, "doAlarms" | "doD1Queries">> {
      return { doAlarms: counters.doAlarms, doD1Queries: counters.doD1Queries };
    }
  };
}

/** The per-location Durable Object class with its calls to the token's object counted. */
export function countingLocationLimiter<C extends new (ctx: unknown, env: Bag) => object>(Base: C): C {
  // @ts-expect-error a mixin over an unknown constructor
  return class CountingLocationLimiter extends Base {
    constructor(ctx: unknown, env: Bag) {
      super(ctx, { ...env, TOKEN_LIMITER: countingNamespace(env.TOKEN_LIMITER as Bag, countDo("doLocationToToken")) });
    }
  };
}
