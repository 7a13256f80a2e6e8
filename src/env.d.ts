// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; they are added here.
declare namespace Cloudflare {
  interface GlobalProps {
    /** Types `exports.default` from "cloudflare:workers" (used by tests). */
    mainModule: typeof import("./index");
  }
  interface Env {
    /** Bootstrap management API key: an all-scope read-write key (`wrangler secret put ADMIN_API_KEY`). */
    ADMIN_API_KEY: string;
    /** 32 random bytes, base64, that encrypt the revealable copy of each token secret (AES-256-GCM). */
    TOKEN_ENCRYPTION_KEY: string;
  }
}
interface Env extends Cloudflare.Env {}
