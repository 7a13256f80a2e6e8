import { Hono } from "hono";

export { TokenLimiter } from "./limiter/token-limiter";

const app = new Hono<{ Bindings: Env }>();
export default app;
