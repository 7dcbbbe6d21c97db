-- Dealer inspection scorecards (检核): HQ's versioned checklists and the
-- inspections HQ inspectors record against them. An inspection is
-- recorded once and never changes; its score (hundredths of a point)
-- enters the dealer's KPIs as inspection_score through the rollup, on
-- the local day of its visit.

-- HQ's checklists: versions are never changed. Not dealer data: no RLS.
CREATE TABLE inspection_checklists (
    version      integer PRIMARY KEY,
    title        text NOT NULL,
    items        jsonb NOT NULL,
    total_points integer NOT NULL CHECK (total_points > 0),
    create_by    text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inspections (
    dealer_id         text NOT NULL,
    inspection_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    checklist_version integer NOT NULL REFERENCES inspection_checklists (version),
    visit_time        timestamptz NOT NULL,
    inspector         text NOT NULL,
    summary           text NOT NULL DEFAULT '',
    items             jsonb NOT NULL,
    total_points      integer NOT NULL CHECK (total_points > 0),
    deducted_points   integer NOT NULL CHECK (deducted_points BETWEEN 0 AND total_points),
    score             bigint NOT NULL CHECK (score BETWEEN 0 AND 10000), -- hundredths of a point
    create_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, inspection_id)
);
CREATE INDEX inspections_visit_idx ON inspections (dealer_id, visit_time DESC, inspection_id DESC);

ALTER TABLE inspections ENABLE ROW LEVEL SECURITY;
ALTER TABLE inspections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inspections
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
