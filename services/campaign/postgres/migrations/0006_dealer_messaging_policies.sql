-- A dealer's override of HQ's messaging policy: a NULL column follows
-- HQ's (messaging_policy). Cap-exempt kinds stay HQ's alone.
CREATE TABLE dealer_messaging_policies (
    dealer_id          text        PRIMARY KEY,
    quiet_start        text,
    quiet_end          text,
    frequency_cap      integer,
    frequency_window_s bigint,
    update_time        timestamptz NOT NULL
);
ALTER TABLE dealer_messaging_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE dealer_messaging_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dealer_messaging_policies
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
