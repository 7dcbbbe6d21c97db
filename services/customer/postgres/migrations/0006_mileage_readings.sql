-- A vehicle's odometer readings as seen from one dealer's archive: its
-- repair orders and delivery there, and its visits to other dealers of the
-- network (written by the vehicle's workflow through RecordServiceState).
-- One row per visit: (source, read_dealer, ref) names the repair order or
-- sale at the dealer where the reading was taken, so a repeated or replayed
-- write changes nothing, and closing a repair order replaces the reading
-- taken when it was opened.
CREATE TABLE mileage_readings (
    dealer_id   text NOT NULL,
    id          uuid NOT NULL,
    vehicle_id  uuid NOT NULL,
    read_time   timestamptz NOT NULL,
    mileage_km  integer NOT NULL CHECK (mileage_km >= 0),
    source      text NOT NULL CHECK (source IN ('repair_order', 'delivery')),
    read_dealer text NOT NULL,
    ref         uuid NOT NULL,
    PRIMARY KEY (dealer_id, id),
    UNIQUE (dealer_id, vehicle_id, source, read_dealer, ref),
    FOREIGN KEY (dealer_id, vehicle_id) REFERENCES vehicles (dealer_id, id)
);

ALTER TABLE mileage_readings ENABLE ROW LEVEL SECURITY;
ALTER TABLE mileage_readings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mileage_readings
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));

-- The readings the archive already holds: its repair orders. A zero
-- reading on a repair order means none was taken.
INSERT INTO mileage_readings (dealer_id, id, vehicle_id, read_time, mileage_km, source, read_dealer, ref)
SELECT dealer_id, gen_random_uuid(), vehicle_id, coalesce(close_time, open_time), mileage_km, 'repair_order', dealer_id, id
FROM repair_orders WHERE mileage_km > 0;
