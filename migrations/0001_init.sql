-- Management-plane schema: the source of truth for tiers, deployments, access tokens, API keys
-- and the audit log. Times are epoch milliseconds (INTEGER), NULL means "never" / "not yet".
-- docs/storage.md describes every table and column.

-- Tiers cap what a deployment's tokens may do. Ids and limits are modelled on VictoriaMetrics
-- Cloud (numeric ids, `s.*` single-node and `c.*` cluster names) so its API client and Terraform
-- provider read them unchanged.
CREATE TABLE tiers (
  id                               INTEGER PRIMARY KEY,
  name                             TEXT    NOT NULL UNIQUE,
  type                             TEXT    NOT NULL CHECK (type IN ('single_node', 'cluster')),
  cloud_provider                   TEXT    NOT NULL DEFAULT 'aws',
  compute_cost_per_hour            REAL    NOT NULL,
  access_token_concurrent_requests INTEGER NOT NULL CHECK (access_token_concurrent_requests BETWEEN 1 AND 600),
  access_token_limit               INTEGER NOT NULL CHECK (access_token_limit >= 1),
  ingestion_rate                   INTEGER NOT NULL,
  active_time_series               INTEGER NOT NULL,
  new_series_over_24h              INTEGER NOT NULL,
  datapoints_read_rate             INTEGER NOT NULL,
  series_read_per_query            INTEGER NOT NULL
);

INSERT INTO tiers (id, name, type, compute_cost_per_hour, access_token_concurrent_requests, access_token_limit,
                   ingestion_rate, active_time_series, new_series_over_24h, datapoints_read_rate, series_read_per_query) VALUES
  (20, 's.starter.a', 'single_node', 0.05,  50,   5,    5000,    50000,   100000,    15000,   1000),
  (21, 's.small.a',   'single_node', 0.10,  100,  10,   10000,   100000,  200000,    30000,   1500),
  (22, 's.medium.a',  'single_node', 0.30,  200,  20,   50000,   1000000, 2000000,   150000,  10000),
  (23, 's.large.a',   'single_node', 0.90,  400,  50,   200000,  4000000, 8000000,   600000,  50000),
  (40, 'c.small.a',   'cluster',     0.75,  200,  20,   100000,  2000000, 4000000,   300000,  20000),
  (41, 'c.medium.a',  'cluster',     1.50,  400,  50,   500000,  5000000, 10000000,  900000,  50000),
  (42, 'c.large.a',   'cluster',     4.00,  600,  100,  2000000, 20000000, 40000000, 3000000, 200000);

-- A deployment is an upstream the Worker forwards to: one base URL for single-node, vminsert and
-- vmselect base URLs for a cluster. Deleting one only marks it, so audit entries keep a target.
CREATE TABLE deployments (
  id           TEXT    PRIMARY KEY,
  name         TEXT    NOT NULL,
  type         TEXT    NOT NULL CHECK (type IN ('single_node', 'cluster')),
  tier_id      INTEGER NOT NULL REFERENCES tiers (id),
  upstream_url TEXT,
  insert_url   TEXT,
  select_url   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  deleted_at   INTEGER,
  CHECK (
    (type = 'single_node' AND upstream_url IS NOT NULL AND insert_url IS NULL AND select_url IS NULL) OR
    (type = 'cluster' AND upstream_url IS NULL AND insert_url IS NOT NULL AND select_url IS NOT NULL)
  )
);
CREATE INDEX deployments_live_by_created ON deployments (created_at, id) WHERE deleted_at IS NULL;

-- An access token is looked up by the SHA-256 of its secret (UNIQUE gives the index the data
-- path's D1 fallback uses). The secret itself is kept only as AES-GCM ciphertext bound to the
-- row id, so the API can reveal it. Revoking sets revoked_at, rows are never deleted.
CREATE TABLE access_tokens (
  id            TEXT    PRIMARY KEY,
  deployment_id TEXT    NOT NULL REFERENCES deployments (id),
  secret_hash   TEXT    NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
  secret_sealed TEXT    NOT NULL,
  type          TEXT    NOT NULL CHECK (type IN ('r', 'w', 'rw')),
  description   TEXT    NOT NULL,
  tenant_id     TEXT,
  created_by    TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  revoked_at    INTEGER,
  last_used_at  INTEGER
);
CREATE INDEX access_tokens_by_deployment ON access_tokens (deployment_id, created_at, id);

-- Management API keys (the bootstrap key is the Worker secret ADMIN_API_KEY and has no row).
-- deployment_ids: JSON array of deployment ids, or NULL for all deployments, future ones included.
CREATE TABLE api_keys (
  id             TEXT    PRIMARY KEY,
  name           TEXT    NOT NULL,
  key_hash       TEXT    NOT NULL UNIQUE CHECK (length(key_hash) = 64),
  access         TEXT    NOT NULL CHECK (access IN ('r', 'rw')),
  deployment_ids TEXT    CHECK (deployment_ids IS NULL OR (json_valid(deployment_ids) AND json_type(deployment_ids) = 'array')),
  expires_at     INTEGER,
  revoked_at     INTEGER,
  created_at     INTEGER NOT NULL,
  created_by     TEXT    NOT NULL
);

-- Who did what, when. Never holds a secret, a hash or a ciphertext.
CREATE TABLE audit_log (
  id            INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  request_id    TEXT    NOT NULL,
  actor_id      TEXT    NOT NULL,
  actor_name    TEXT    NOT NULL,
  action        TEXT    NOT NULL,
  target_type   TEXT    NOT NULL,
  target_id     TEXT    NOT NULL,
  deployment_id TEXT,
  detail        TEXT    CHECK (detail IS NULL OR json_valid(detail))
);
CREATE INDEX audit_log_by_deployment ON audit_log (deployment_id, at);
CREATE INDEX audit_log_by_target ON audit_log (target_type, target_id, at);
