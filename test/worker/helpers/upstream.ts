/**
 * A stand-in for upstream deployments inside the Workers runtime. The Worker under test runs in
 * the same isolate as the tests, so replacing `globalThis.fetch` intercepts its subrequests.
 * Requests to an origin without a handler are recorded as unmocked and fail the test in
 * `assertNoUnmocked` — nothing leaks to the network.
 */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Headers;
}

export type UpstreamHandler = (request: Request) => Response | Promise<Response>;

export interface UpstreamMock {
  calls: RecordedRequest[];
  unmocked: string[];
  restore(): void;
}

export function mockUpstreams(handlers: Record<string, UpstreamHandler>): UpstreamMock {
  const original = globalThis.fetch;
  const calls: RecordedRequest[] = [];
  const unmocked: string[] = [];
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const origin = new URL(request.url).origin;
    const handler = handlers[origin];
    if (!handler) {
      unmocked.push(`${request.method} ${request.url}`);
      throw new TypeError(`unmocked outbound request to ${origin}`);
    }
    calls.push({ method: request.method, url: request.url, headers: new Headers(request.headers) });
    return handler(request);
  };
  return {
    calls,
    unmocked,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}

/**
 * A response whose body stays open until `finish()` (or `fail()`), for permit-lifetime tests.
 * Streams belong to the request context that created them, so the test only flips a plain flag
 * and the stream, polling inside its own context, acts on it.
 */
export function gatedResponse(status = 200) {
  let state: "open" | "finish" | "fail" = "open";
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode("partial "));
    },
    async pull(c) {
      while (state === "open") await new Promise((r) => setTimeout(r, 5));
      if (state === "fail") {
        c.error(new Error("upstream reset"));
        return;
      }
      c.enqueue(encoder.encode("done"));
      c.close();
    },
  });
  return {
    response: new Response(body, { status }),
    finish() {
      state = "finish";
    },
    fail() {
      state = "fail";
    },
  };
}
