// The floor the runtime sets: a pass-through Worker that does nothing but forward each request to
// UPSTREAM and stream the answer back. It runs in the same workerd, with the same compatibility
// date and flags as the authorizer (bench/lib/stack.ts copies them from wrangler.toml), so the
// difference between the two is the authorizer's own work.
//
// Typed with the DOM lib only: bench/ is checked by tsconfig.node.json, not with Worker types.

interface BareEnv {
  /** e.g. http://127.0.0.1:8428 */
  UPSTREAM: string;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
  },
};
