-- +goose Up
-- One row per alert threshold that has fired and not yet re-armed. A row exists from the upward
-- crossing until usage falls below the threshold minus the hysteresis, so a restarted manager
-- does not fire the same crossing again.
CREATE TABLE quota_alert_state (
  account_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  threshold INTEGER NOT NULL,
  fired_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (account_id, resource, threshold)
);

-- Webhook deliveries, written in the same transaction as the state row that caused them and
-- sent by the manager until the receiver accepts them or the attempts run out.
CREATE TABLE quota_alert_delivery (
  delivery_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id TEXT NOT NULL,
  payload JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  delivered_at TIMESTAMPTZ,
  abandoned_at TIMESTAMPTZ,
  last_error TEXT
);
CREATE INDEX quota_alert_delivery_pending ON quota_alert_delivery (next_attempt_at)
  WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- +goose Down
DROP TABLE quota_alert_delivery;
DROP TABLE quota_alert_state;
