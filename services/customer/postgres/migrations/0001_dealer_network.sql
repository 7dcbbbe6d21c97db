-- Dealer network master data, owned by HQ. Regions are not dealer data (any
-- user may list them); dealers and calendars carry dealer_id and the tenant
-- policy, so a dealer user's transaction sees only its own dealer.
CREATE TABLE regions (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dealers (
    dealer_id   text PRIMARY KEY,
    name        text NOT NULL,
    region      text NOT NULL REFERENCES regions (code),
    time_zone   text NOT NULL,
    city        text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dealers_region_idx ON dealers (region, dealer_id);

ALTER TABLE dealers ENABLE ROW LEVEL SECURITY;
ALTER TABLE dealers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dealers
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));

-- The calendar as JSON (weekly intervals, holidays, adjusted working days):
-- it is read and replaced whole, never queried by part.
CREATE TABLE business_calendars (
    dealer_id   text PRIMARY KEY REFERENCES dealers (dealer_id),
    spec        jsonb NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE business_calendars ENABLE ROW LEVEL SECURITY;
ALTER TABLE business_calendars FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_calendars
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));
