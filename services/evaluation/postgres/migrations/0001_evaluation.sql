-- The evaluation service's own copy of the facts the KPIs are computed
-- from, learned from each source service's change feed (never from their
-- tables), its rollups, and HQ's targets. No personal data: facts carry
-- ids and VINs only, and no KPI answer reads them out.

-- The dealers, their regions and time zones, from the dealer network.
CREATE TABLE dealers (
    dealer_id   text PRIMARY KEY,
    region      text NOT NULL DEFAULT '',
    time_zone   text NOT NULL DEFAULT 'Asia/Shanghai',
    update_time timestamptz NOT NULL DEFAULT now()
);

-- Facts. source_seq is the source's change sequence of the copy stored:
-- an older copy never overwrites a newer one.
CREATE TABLE callback_facts (
    dealer_id     text NOT NULL,
    task_id       text NOT NULL,
    kind          text NOT NULL,
    source_id     text NOT NULL,
    status        text NOT NULL,
    due_time      timestamptz NOT NULL,
    deadline      timestamptz NOT NULL,
    complete_time timestamptz,
    score         bigint NOT NULL DEFAULT 0, -- hundredths of a point
    source_seq    bigint NOT NULL,
    PRIMARY KEY (dealer_id, task_id)
);
CREATE INDEX callback_facts_due_idx ON callback_facts (dealer_id, due_time);
CREATE INDEX callback_facts_complete_idx ON callback_facts (dealer_id, complete_time) WHERE complete_time IS NOT NULL;
CREATE INDEX callback_facts_source_idx ON callback_facts (dealer_id, source_id) WHERE kind = '7DC';

CREATE TABLE delivery_facts (
    dealer_id      text NOT NULL,
    sale_id        text NOT NULL,
    vin            text NOT NULL DEFAULT '',
    delivered_time timestamptz NOT NULL,
    source_seq     bigint NOT NULL,
    PRIMARY KEY (dealer_id, sale_id)
);
CREATE INDEX delivery_facts_time_idx ON delivery_facts (dealer_id, delivered_time);

CREATE TABLE complaint_facts (
    dealer_id      text NOT NULL,
    complaint_id   text NOT NULL,
    severity       text NOT NULL DEFAULT '',
    create_time    timestamptz NOT NULL,
    response_met   boolean NOT NULL,
    resolution_met boolean NOT NULL,
    close_time     timestamptz,
    reopen_count   integer NOT NULL DEFAULT 0,
    source_seq     bigint NOT NULL,
    PRIMARY KEY (dealer_id, complaint_id)
);
CREATE INDEX complaint_facts_create_idx ON complaint_facts (dealer_id, create_time);
CREATE INDEX complaint_facts_close_idx ON complaint_facts (dealer_id, close_time) WHERE close_time IS NOT NULL;
-- A complaint transferred to another dealer moves: its id is unique.
CREATE UNIQUE INDEX complaint_facts_id_idx ON complaint_facts (complaint_id);

CREATE TABLE repair_order_facts (
    dealer_id       text NOT NULL,
    repair_order_id text NOT NULL,
    vin             text NOT NULL,
    type            text NOT NULL,
    open_time       timestamptz NOT NULL,
    close_time      timestamptz,
    by_appointment  boolean NOT NULL DEFAULT false,
    campaign_code   text NOT NULL DEFAULT '',
    source_seq      bigint NOT NULL,
    PRIMARY KEY (dealer_id, repair_order_id)
);
CREATE INDEX repair_order_facts_open_idx ON repair_order_facts (dealer_id, open_time);
CREATE INDEX repair_order_facts_close_idx ON repair_order_facts (dealer_id, close_time) WHERE close_time IS NOT NULL;
-- A vehicle's visits across the network (returns, churn, first-time fix).
CREATE INDEX repair_order_facts_vin_idx ON repair_order_facts (vin, open_time);

CREATE TABLE service_due_facts (
    dealer_id  text NOT NULL,
    vin        text NOT NULL,
    due_time   timestamptz NOT NULL,
    source_seq bigint NOT NULL,
    PRIMARY KEY (dealer_id, vin, due_time)
);
CREATE INDEX service_due_facts_due_idx ON service_due_facts (dealer_id, due_time);
CREATE INDEX service_due_facts_vin_idx ON service_due_facts (vin, due_time);

CREATE TABLE archive_facts (
    dealer_id    text NOT NULL,
    archive_id   text NOT NULL,
    trigger_time timestamptz NOT NULL,
    entered_time timestamptz NOT NULL,
    valid        boolean NOT NULL,
    source_seq   bigint NOT NULL,
    PRIMARY KEY (dealer_id, archive_id)
);
CREATE INDEX archive_facts_entered_idx ON archive_facts (dealer_id, entered_time);

CREATE TABLE campaign_target_facts (
    dealer_id    text NOT NULL,
    campaign_id  text NOT NULL,
    customer_id  text NOT NULL,
    vin          text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    source_seq   bigint NOT NULL,
    PRIMARY KEY (dealer_id, campaign_id, customer_id)
);
CREATE INDEX campaign_target_facts_vin_idx ON campaign_target_facts (vin, window_start);
CREATE INDEX campaign_target_facts_window_idx ON campaign_target_facts (dealer_id, window_start);

-- Instants whose local days a fact touched since the dealer's last
-- rollup: [from_time, to_time] (inclusive). Appended, merged by the rollup.
CREATE TABLE dirty_ranges (
    dealer_id text NOT NULL,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    from_time timestamptz NOT NULL,
    to_time   timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, id)
);

-- Day figures per dealer and KPI, in the dealer's time zone. For
-- churn_rate the denominator is the vehicles active at the day's start.
CREATE TABLE kpi_days (
    dealer_id   text NOT NULL,
    day         date NOT NULL,
    kpi         text NOT NULL,
    numerator   bigint NOT NULL,
    denominator bigint NOT NULL,
    PRIMARY KEY (dealer_id, day, kpi)
);

-- Week and month figures, summed from kpi_days (churn's denominator is
-- its first day's).
CREATE TABLE kpi_periods (
    dealer_id    text NOT NULL,
    granularity  text NOT NULL CHECK (granularity IN ('week', 'month')),
    period_start date NOT NULL,
    kpi          text NOT NULL,
    numerator    bigint NOT NULL,
    denominator  bigint NOT NULL,
    PRIMARY KEY (dealer_id, granularity, period_start, kpi)
);
-- A network's ranking of a period.
CREATE INDEX kpi_periods_rank_idx ON kpi_periods (granularity, period_start);

-- Where each source's change feed has been read up to.
CREATE TABLE feed_cursors (
    source      text PRIMARY KEY,
    cursor      text NOT NULL DEFAULT '',
    update_time timestamptz NOT NULL DEFAULT now()
);

-- HQ's targets: versions are never changed.
CREATE TABLE kpi_target_sets (
    version         integer PRIMARY KEY,
    effective_month date NOT NULL CHECK (extract(day FROM effective_month) = 1),
    targets         jsonb NOT NULL,
    create_by       text NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE callback_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE callback_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON callback_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE delivery_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE delivery_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON delivery_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE complaint_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE complaint_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON complaint_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE repair_order_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE repair_order_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON repair_order_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE service_due_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_due_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON service_due_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE archive_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON archive_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE campaign_target_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_target_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_target_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE dirty_ranges ENABLE ROW LEVEL SECURITY;
ALTER TABLE dirty_ranges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dirty_ranges
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE kpi_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE kpi_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kpi_days
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE kpi_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE kpi_periods FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kpi_periods
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE dealers ENABLE ROW LEVEL SECURITY;
ALTER TABLE dealers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dealers
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
