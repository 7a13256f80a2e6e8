// Bench-only endpoints around the production bundle, used by the tokens section:
//   POST /__bench/kv-put   body: JSON [[key, value], ...] — KV puts from inside workerd, many at a
//                          time (much faster than one proxied put per key from Node)
// Every other request goes to the authorizer unchanged (same env, same context).
// Typed structurally (DOM lib only): bench/ is checked without Worker types.

interface KvLike {
  put(key: string, value: string): Promise<void>;
}
interface WorkerLike {
  fetch(request: Request, env: Record<string, unknown>, ctx: unknown): Response | Promise<Response>;
}

const PUT_CONCURRENCY = 100;

export function withBenchTools(inner: WorkerLike): WorkerLike {
  return {
    async fetch(request, env, ctx) {
      if (request.url.indexOf("/__bench/") === -1) return inner.fetch(request, env, ctx);
      const url = new URL(request.url);
      if (url.pathname === "/__bench/kv-put" && request.method === "POST") {
        const pairs = (await request.json()) as [string, string][];
        const kv = env.TOKENS_KV as KvLike;
        let next = 0;
        const worker = async () => {
          for (let i = next++; i < pairs.length; i = next++) await kv.put(pairs[i]![0], pairs[i]![1]);
        };
        await Promise.all(Array.from({ length: PUT_CONCURRENCY }, worker));
        return Response.json({ put: pairs.length });
      }
      return new Response("unknown bench endpoint", { status: 404 });
    },
  };
}
