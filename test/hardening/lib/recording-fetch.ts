import type { Forwarded } from "./oracle";

/**
 * Upstreams inside workerd: the Worker under test shares the isolate with the test, so replacing
 * `globalThis.fetch` catches its subrequests. Unlike test/worker/helpers/upstream.ts this records
 * the URL exactly as the Worker passed it (a string), before any URL parser could normalise away
 * what the oracle has to judge, and reads the body.
 */
export interface RecordingFetch {
  sent: Forwarded[];
  /** Requests to origins that are no known upstream: always a failure. */
  unknown: string[];
  restore(): void;
}

export function recordUpstreams(origins: readonly string[], answer: () => Response = () => Response.json({ status: "success" })): RecordingFetch {
  const original = globalThis.fetch;
  const sent: Forwarded[] = [];
  const unknown: string[] = [];
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const raw = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const request = new Request(input, init);
    const headers: Record<string, string> = {};
    for (const [k, v] of request.headers) headers[k] = v;
    const body = request.body ? new TextDecoder().decode(await request.arrayBuffer()) : "";
    sent.push({ method: request.method, url: raw, headers, body });
    if (!origins.some((o) => raw.startsWith(o + "/"))) unknown.push(raw);
    return answer();
  };
  return {
    sent,
    unknown,
    restore() {
      globalThis.fetch = original;
    },
  };
}
