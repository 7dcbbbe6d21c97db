-- The change feed the evaluation service reads its complaint facts from
-- (ComplaintChangeService). Every insert or update of a complaint, and
-- every breach the clock records on its timeline (which changes whether
-- it met its targets), stamps the complaint with the next change_seq and
-- the writing transaction's id; the feed hands out rows in (change_xid,
-- change_seq) order and only those of transactions older than every one
-- still running (pg_snapshot_xmin(pg_current_snapshot())), so a
-- transaction that took its sequence number early but commits late is
-- never skipped.
CREATE SEQUENCE complaint_change_seq;
ALTER TABLE complaints ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE complaints SET change_seq = nextval('complaint_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE complaints ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;

CREATE FUNCTION complaints_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('complaint_change_seq');
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER complaints_change BEFORE INSERT OR UPDATE ON complaints
    FOR EACH ROW EXECUTE FUNCTION complaints_change();
CREATE INDEX complaints_change_idx ON complaints (change_xid, change_seq);

-- A breach is written without an update of the complaint: touch it, so
-- it enters the feed again (the BEFORE trigger above stamps it).
CREATE FUNCTION complaint_events_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE complaints SET change_seq = 0 WHERE id = NEW.complaint_id;
    RETURN NULL;
END $$;
CREATE TRIGGER complaint_events_change AFTER INSERT ON complaint_events
    FOR EACH ROW WHEN (NEW.kind = 'breached') EXECUTE FUNCTION complaint_events_change();
