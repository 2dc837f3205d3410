-- +goose Up
-- One row per usage flush that an enforcer committed. A flush whose commit outcome was unknown
-- is retried with the same id, and the primary key keeps it from being applied twice.
CREATE TABLE quota_flush_log (
  flush_id UUID PRIMARY KEY,
  enforcer_id TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX quota_flush_log_applied_at ON quota_flush_log (applied_at);

-- +goose Down
DROP TABLE quota_flush_log;
