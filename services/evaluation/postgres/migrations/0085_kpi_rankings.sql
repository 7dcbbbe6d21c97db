-- Finished rankings (every ranked dealer's place, score, movement and
-- figures) of a period, network-wide (region '') or within a region, as
-- computed from the inputs of one generation (rollup_generation, which
-- the rollups, new target sets and dealer changes move on). A ranking
-- read at the current generation is this one row; after any change it is
-- computed again on its next read and replaces the row.
CREATE TABLE kpi_rankings (
    granularity    text    NOT NULL CHECK (granularity IN ('day', 'week', 'month')),
    period_start   date    NOT NULL,
    region         text    NOT NULL,
    generation     bigint  NOT NULL,
    target_version integer NOT NULL, -- 0 without targets
    ranking        json    NOT NULL,
    update_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (granularity, period_start, region)
);
-- Every row holds many dealers' figures: only a transaction that sees
-- every dealer (the service's ranking) reads or writes them.
ALTER TABLE kpi_rankings ENABLE ROW LEVEL SECURITY;
ALTER TABLE kpi_rankings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kpi_rankings
    USING ((SELECT current_setting('app.all_dealers', true) = 'on'))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on'));
