-- The tenant policy reads its settings once per statement instead of once
-- per row (postgres.TenantPredicate): the dealer list in app.dealer_ids was
-- parsed and searched for every row, which made a 250-dealer region's scan
-- of 300,000 rows take 3 s instead of 85 ms. Same rows, same checks.
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_policies
             WHERE schemaname = current_schema() AND policyname = 'tenant_isolation' AND tablename NOT IN ('complaints', 'complaint_events')
    LOOP
        EXECUTE format('DROP POLICY tenant_isolation ON %I', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
            WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))$p$, t);
    END LOOP;
END $$;

-- The complaint's originating dealer keeps reading it; the timeline is read
-- by each dealer that wrote an entry and by the complaint's current owner.
DROP POLICY tenant_isolation ON complaints;
CREATE POLICY tenant_isolation ON complaints
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ',')))
           OR origin_dealer IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
DROP POLICY tenant_isolation ON complaint_events;
CREATE POLICY tenant_isolation ON complaint_events
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ',')))
           OR EXISTS (SELECT 1 FROM complaints c WHERE c.id = complaint_id AND c.dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ',')))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
