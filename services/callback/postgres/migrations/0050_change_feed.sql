-- The change feed the evaluation service reads its callback facts from
-- (CallbackChangeService). Every insert or update of a task stamps it with
-- the next change_seq and the writing transaction's id; the feed hands
-- out rows in (change_xid, change_seq) order and only those of
-- transactions older than every one still running
-- (pg_snapshot_xmin(pg_current_snapshot())), so a transaction that took
-- its sequence number early but commits late is never skipped.
CREATE SEQUENCE callback_change_seq;
ALTER TABLE callback_tasks ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE callback_tasks SET change_seq = nextval('callback_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE callback_tasks ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;

CREATE FUNCTION callback_tasks_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('callback_change_seq');
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER callback_tasks_change BEFORE INSERT OR UPDATE ON callback_tasks
    FOR EACH ROW EXECUTE FUNCTION callback_tasks_change();
CREATE INDEX callback_tasks_change_idx ON callback_tasks (change_xid, change_seq);
