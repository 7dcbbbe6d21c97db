-- What opened a complaint automatically, e.g. callback/<task id> for a
-- callback that found the customer dissatisfied. One source opens at most
-- one complaint: a repeated create (a retried workflow activity) finds it.
ALTER TABLE complaints ADD COLUMN source text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX complaints_source_idx ON complaints (origin_dealer, source) WHERE source <> '';
