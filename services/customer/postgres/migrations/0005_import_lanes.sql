-- Imports are written in lanes (importer.Runner): lanes[i + 1] is the last
-- row lane i committed; NULL until the import first starts, when the
-- runner fixes how many lanes it has. An import already part-way through
-- keeps going in one lane from where it stopped.
ALTER TABLE imports ADD COLUMN lanes integer[];
UPDATE imports SET lanes = ARRAY[last_row] WHERE state = 'running' AND last_row > 1;
-- last_row is no longer written. It stays so that a release rolled back
-- across this migration still finds it (and redoes its imports from the
-- start: the rows are upserted, so only its counts would be off).
COMMENT ON COLUMN imports.last_row IS 'unused since 0005_import_lanes; see lanes';
