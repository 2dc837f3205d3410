-- +goose Up
-- The size in bytes of every non-container resource that an enforcer saw written, keyed by pod
-- and decoded request path. A pod's storage_bytes in identity_pod_usage is the sum of its rows,
-- so an overwrite or a delete can be charged by the difference to the recorded size.
CREATE TABLE quota_resource_sizes (
  pod_id TEXT NOT NULL,
  path TEXT NOT NULL,
  account_id TEXT NOT NULL,
  size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (pod_id, path)
);

-- +goose Down
DROP TABLE quota_resource_sizes;
