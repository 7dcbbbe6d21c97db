-- Idempotency records (pkg/idempotency): which resource a keyed REST
-- write made, committed with the write, so a retry whose first answer was
-- lost gets the same resource instead of a second one.
CREATE TABLE idempotency_records (
    dealer_id       text NOT NULL,
    caller          text NOT NULL,
    idempotency_key text NOT NULL,
    method          text NOT NULL,
    request_hash    bytea NOT NULL,
    result_id       text NOT NULL,
    create_time     timestamptz NOT NULL,
    expire_time     timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, caller, idempotency_key)
);
CREATE INDEX idempotency_records_expire_idx ON idempotency_records (dealer_id, expire_time);
ALTER TABLE "idempotency_records" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "idempotency_records" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "idempotency_records"
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
