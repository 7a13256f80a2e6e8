-- How long a request waits for one of its token's concurrency permits before its 429, per tier
-- (issue 11: waiting instead of an instant 429, configurable per tier). NULL: the Worker's
-- PERMIT_MAX_WAIT_MS (wrangler.toml, 1,000 ms). At most 5,000 ms (MAX_WAIT_CEILING_MS): a waiting
-- upload is never held longer. docs/storage.md and docs/limiter.md describe it.
ALTER TABLE tiers ADD COLUMN access_token_max_wait_ms INTEGER
  CHECK (access_token_max_wait_ms IS NULL OR access_token_max_wait_ms BETWEEN 0 AND 5000);
