-- Token policies set at creation (issue 13): an address allowlist and a label scope.
-- expires_at already exists (0001); rotation sets it on the token it replaces.
-- allowed_networks: JSON array of canonical CIDRs (src/policy/networks.ts), NULL = every address.
-- labels: JSON object of label name -> value (src/policy/label-scope.ts), NULL = no label scope.
-- docs/storage.md describes them.
ALTER TABLE access_tokens ADD COLUMN allowed_networks TEXT
  CHECK (allowed_networks IS NULL OR (json_valid(allowed_networks) AND json_type(allowed_networks) = 'array'));
ALTER TABLE access_tokens ADD COLUMN labels TEXT
  CHECK (labels IS NULL OR (json_valid(labels) AND json_type(labels) = 'object'));
