/**
 * The one write the limiter makes to D1: a token's last-used time, sent by the token's Durable
 * Object (src/limiter/token-limiter.ts) at most once a minute. A missing table or row is an
 * error here like any other: the schema comes with the migrations, and a failure is the caller's
 * to log and retry.
 */
export async function writeLastUsed(db: D1Database, tokenId: string, lastUsedAt: number): Promise<void> {
  await db.prepare("UPDATE access_tokens SET last_used_at = ?1 WHERE id = ?2").bind(lastUsedAt, tokenId).run();
}
