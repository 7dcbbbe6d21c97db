-- Webhook subscriptions (HQ's and dealers'), their delivery log, and the
-- service's own outbox (manual redeliveries reach the delivery workflows
-- through it). dealer_id is the owner: a dealer's code, or '' for HQ,
-- which only an all-dealers scope reaches (the tenant policy never
-- matches '' in a dealer list). Secrets are sealed with the PII cipher
-- (AES-256-GCM, rotating keys) and never returned after creation.
CREATE TABLE webhook_subscriptions (
    dealer_id                    text        NOT NULL,
    id                           uuid        NOT NULL,
    url                          text        NOT NULL,
    event_types                  text[]      NOT NULL,
    description                  text        NOT NULL DEFAULT '',
    state                        text        NOT NULL CHECK (state IN ('active', 'disabled')),
    secret                       bytea       NOT NULL,
    previous_secret              bytea,
    previous_secret_expire_time  timestamptz,
    failing_since                timestamptz,
    disabled_reason              text        NOT NULL DEFAULT '',
    disable_time                 timestamptz,
    create_time                  timestamptz NOT NULL,
    update_time                  timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, id)
);
-- Fan-out: the active subscriptions of an event's dealer and of HQ.
CREATE INDEX webhook_subscriptions_active_idx ON webhook_subscriptions (dealer_id) WHERE state = 'active';

-- One row per (subscription, event): the unit delivered at least once. The
-- body is kept so a redelivery sends exactly what the first attempt sent.
CREATE TABLE webhook_deliveries (
    dealer_id          text        NOT NULL,
    id                 uuid        NOT NULL,
    subscription_id    uuid        NOT NULL,
    event_id           uuid        NOT NULL,
    event_type         text        NOT NULL,
    resource           text        NOT NULL,
    body               jsonb       NOT NULL,
    state              text        NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts           integer     NOT NULL DEFAULT 0,
    last_status_code   integer     NOT NULL DEFAULT 0,
    last_error         text        NOT NULL DEFAULT '',
    last_attempt_time  timestamptz,
    deliver_time       timestamptz,
    create_time        timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, id),
    UNIQUE (dealer_id, subscription_id, event_id),
    FOREIGN KEY (dealer_id, subscription_id) REFERENCES webhook_subscriptions (dealer_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (dealer_id, subscription_id, create_time DESC, id DESC);
-- The fan-out finds an event's pending deliveries across owners.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

ALTER TABLE "webhook_subscriptions" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "webhook_subscriptions" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "webhook_subscriptions"
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE "webhook_deliveries" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "webhook_deliveries" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "webhook_deliveries"
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
CREATE TABLE outbox_events (
    dealer_id       text        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL,
    workflow_id     text        NOT NULL,
    workflow_type   text        NOT NULL,
    task_queue      text        NOT NULL,
    signal_name     text        NOT NULL,
    payload         jsonb       NOT NULL,
    start_input     jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    backfill        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (dealer_id, id)
);
-- Undelivered events, oldest first (the age of the oldest pending one).
CREATE INDEX outbox_events_pending_idx ON outbox_events (next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
-- The relay's queue: each dealer's undelivered events, live before
-- backfill, due ones first, so the relay takes turns between dealers.
CREATE INDEX outbox_events_dealer_pending_idx ON outbox_events (dealer_id, backfill, next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
-- Purging delivered events after the retention period.
CREATE INDEX outbox_events_delivered_idx ON outbox_events (delivered_at)
    WHERE delivered_at IS NOT NULL;
ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
