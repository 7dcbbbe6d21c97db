-- A recall's VIN list (召回车辆清单) and where each VIN stands. dealer_id
-- is the campaign's owner ('' for HQ), as on recipients: the owning dealer
-- of an HQ recall's VIN does not read HQ's list. owner_dealer is the dealer
-- whose archive holds the vehicle (resolved through the customer service
-- at import; the archive id owner_customer, no personal data);
-- completed_dealer the one whose recall repair order completed it.
CREATE TABLE recall_vins (
    dealer_id         text        NOT NULL,
    campaign_id       uuid        NOT NULL,
    vin               text        NOT NULL,
    owner_dealer      text        NOT NULL DEFAULT '',
    owner_customer    uuid,
    region            text        NOT NULL DEFAULT '',
    state             text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'completed')),
    completed_dealer  text        NOT NULL DEFAULT '',
    repair_order      text        NOT NULL DEFAULT '',
    complete_time     timestamptz,
    chase_task        text        NOT NULL DEFAULT '',
    import_time       timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, campaign_id, vin),
    FOREIGN KEY (dealer_id, campaign_id) REFERENCES campaigns (dealer_id, id)
);
-- A repair order finds the recalls of its VIN.
CREATE INDEX recall_vins_vin_idx ON recall_vins (vin);
-- The chase finds open VINs without a task.
CREATE INDEX recall_vins_unchased_idx ON recall_vins (dealer_id, campaign_id, vin)
    WHERE state = 'open' AND chase_task = '' AND owner_dealer <> '';

ALTER TABLE recall_vins ENABLE ROW LEVEL SECURITY;
ALTER TABLE recall_vins FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recall_vins
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
