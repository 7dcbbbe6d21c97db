-- The outbox relay takes turns between dealers, and within a dealer serves
-- live events before backfills (pkg/outbox: UpgradeSQL), so one dealer's
-- backlog no longer holds up every other dealer's events.
ALTER TABLE outbox_events ADD COLUMN backfill boolean NOT NULL DEFAULT false;
-- The relay's queue: each dealer's undelivered events, live before
-- backfill, due ones first, so the relay takes turns between dealers.
CREATE INDEX outbox_events_dealer_pending_idx ON outbox_events (dealer_id, backfill, next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
