-- Complaints. dealer_id is the owner (it changes on transfer);
-- origin_dealer filed it and keeps read access to the complaint itself.
CREATE TABLE complaints (
    dealer_id           text NOT NULL,
    id                  uuid NOT NULL,
    origin_dealer       text NOT NULL,
    channel             text NOT NULL,
    category            text NOT NULL,
    severity            text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    customer_id         text NOT NULL DEFAULT '',
    vin                 text NOT NULL DEFAULT '',
    description         text NOT NULL,
    assignee            text NOT NULL DEFAULT '',
    root_cause          text NOT NULL DEFAULT '',
    corrective_actions  text NOT NULL DEFAULT '',
    resolution          text NOT NULL DEFAULT '',
    state               text NOT NULL CHECK (state IN ('new', 'acknowledged', 'in_progress', 'pending_customer', 'resolved', 'reopened', 'closed')),
    level               integer NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 4),
    acknowledge_time    timestamptz,
    resolve_time        timestamptz,
    reopen_count        integer NOT NULL DEFAULT 0,
    version             bigint NOT NULL DEFAULT 1,
    response_due_time   timestamptz,
    resolution_due_time timestamptz,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, id)
);
CREATE UNIQUE INDEX complaints_id_idx ON complaints (id);
CREATE INDEX complaints_recent_idx ON complaints (dealer_id, create_time DESC, id DESC);
CREATE INDEX complaints_origin_idx ON complaints (origin_dealer, create_time DESC) WHERE origin_dealer <> dealer_id;

ALTER TABLE complaints ENABLE ROW LEVEL SECURITY;
ALTER TABLE complaints FORCE ROW LEVEL SECURITY;
-- The originating dealer reads a transferred complaint; only the owner
-- writes it (WITH CHECK).
CREATE POLICY tenant_isolation ON complaints
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ','))
           OR origin_dealer = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));

-- The timeline: append-only. dealer_id is the owner when the entry was
-- written, so after a transfer each dealer reads the entries of its time.
CREATE TABLE complaint_events (
    dealer_id    text NOT NULL,
    complaint_id uuid NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    kind         text NOT NULL,
    actor        text NOT NULL,
    time         timestamptz NOT NULL,
    level        integer NOT NULL,
    detail       text NOT NULL DEFAULT '',
    key          text,
    PRIMARY KEY (dealer_id, complaint_id, seq)
);
-- A clock event (warned, breached, escalated) is recorded once per key.
CREATE UNIQUE INDEX complaint_events_key_idx ON complaint_events (complaint_id, key) WHERE key IS NOT NULL;
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, seq);

CREATE FUNCTION complaint_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaint_events is append-only';
END $$;
CREATE TRIGGER complaint_events_append_only BEFORE UPDATE OR DELETE ON complaint_events
    FOR EACH ROW EXECUTE FUNCTION complaint_events_append_only();

CREATE TABLE notifications (
    dealer_id      text NOT NULL,
    id             uuid NOT NULL,
    complaint_id   uuid NOT NULL,
    recipient_role text NOT NULL,
    level          integer NOT NULL,
    message        text NOT NULL,
    create_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, id)
);
CREATE INDEX notifications_role_idx ON notifications (dealer_id, recipient_role, create_time DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['notifications'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
            WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))$p$, t);
    END LOOP;
END $$;

-- The timeline: each dealer reads the entries it wrote, and the current
-- owner reads the whole history (it carries over on transfer).
ALTER TABLE complaint_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE complaint_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON complaint_events
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ','))
           OR EXISTS (SELECT 1 FROM complaints c WHERE c.id = complaint_id
                      AND c.dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));

-- SLA policies are policy data, not dealer records: scope is 'default'
-- (HQ) or a dealer code (its override).
CREATE TABLE sla_policies (
    scope         text PRIMARY KEY,
    targets       jsonb NOT NULL,
    warning_ratio double precision NOT NULL,
    update_time   timestamptz NOT NULL DEFAULT now()
);

-- Knowledge: resolution templates and scripts per category (HQ data).
CREATE TABLE resolution_templates (
    id          uuid PRIMARY KEY,
    category    text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resolution_templates_category_idx ON resolution_templates (category);
