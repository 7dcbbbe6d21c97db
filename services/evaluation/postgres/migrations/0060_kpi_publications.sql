-- kpi_period.published webhook events (SPEC: events for DMS/BI). A
-- dealer's week or month is published once, by the first rollup after it
-- has ended in the dealer's time zone; a later rollup that changes an
-- already published period's figures publishes it again with the next
-- revision. kpi_publications is what was last published (aggregates
-- only), so a rerun of the rollup publishes nothing twice; the event goes
-- through the service's outbox in the same transaction.
CREATE TABLE kpi_publications (
    dealer_id    text        NOT NULL,
    granularity  text        NOT NULL CHECK (granularity IN ('week', 'month')),
    period_start date        NOT NULL,
    revision     integer     NOT NULL CHECK (revision > 0),
    figures      jsonb       NOT NULL, -- {kpi: [numerator, denominator]}
    publish_time timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, granularity, period_start)
);
ALTER TABLE kpi_publications ENABLE ROW LEVEL SECURITY;
ALTER TABLE kpi_publications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kpi_publications
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));

-- The service's outbox (outbox.TableSQL("")): the relay hands the events
-- to the webhook service's delivery workflows.
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
