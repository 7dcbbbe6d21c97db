-- The rollups' generation: every rollup transaction that recomputes a
-- dealer's days bumps it in the same transaction, so a reader that saw
-- generation N has seen exactly the rollups committed up to N. The
-- service keeps the period figures a ranking reads in memory by it (a
-- network ranking reads every dealer's figures of two periods).
CREATE TABLE rollup_generation (
    id         integer PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO rollup_generation VALUES (1, 0);
