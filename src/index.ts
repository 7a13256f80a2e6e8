import { Hono } from "hono";
import { DurableObject } from "cloudflare:workers";

export class TokenLimiter extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", async (c) => {
  const stub = c.env.TOKEN_LIMITER.getByName("x");
  return c.text(await stub.ping());
});
export default app;
