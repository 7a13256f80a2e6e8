import { DurableObject } from "cloudflare:workers";

// Placeholder until the limiter lands; replaced by the real Durable Object.
export class TokenLimiter extends DurableObject<Env> {}
