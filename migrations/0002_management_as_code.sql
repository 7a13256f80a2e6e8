-- Management plane as code: API keys in use, the audit log queryable, every list pageable.
-- Only indexes: the tables of 0001 already hold every column. docs/storage.md describes them.

-- Keyset pagination of live API keys (ORDER BY created_at, id).
CREATE INDEX api_keys_live_by_created ON api_keys (created_at, id) WHERE revoked_at IS NULL;

-- GET /admin/api/v1/audit reads newest first (ORDER BY at DESC, id DESC), filtered by actor or by
-- time alone; the deployment filter uses audit_log_by_deployment (deployment_id, at) from 0001.
-- id is the rowid, so every index already ends in it.
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_by_at ON audit_log (at);
