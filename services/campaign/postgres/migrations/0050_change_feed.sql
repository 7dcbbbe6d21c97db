-- The change feed the evaluation service reads its campaign facts from
-- (CampaignChangeService): each recipient is a campaign target. A
-- recipient is stamped with the next change_seq and the writing
-- transaction's id when it is inserted or its VIN changes (not on every
-- send or receipt: the evaluation needs only who was targeted, by which
-- vehicle, in which return window); a campaign whose start, return
-- window, kind or code changes restamps its recipients. The feed hands
-- out rows in (change_xid, change_seq) order and only those of
-- transactions older than every one still running
-- (pg_snapshot_xmin(pg_current_snapshot())), so a transaction that took
-- its sequence number early but commits late is never skipped.
CREATE SEQUENCE recipient_change_seq;
ALTER TABLE recipients ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE recipients SET change_seq = nextval('recipient_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE recipients ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;

CREATE FUNCTION recipients_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('recipient_change_seq');
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER recipients_change_insert BEFORE INSERT ON recipients
    FOR EACH ROW EXECUTE FUNCTION recipients_change();
CREATE TRIGGER recipients_change_update BEFORE UPDATE ON recipients
    FOR EACH ROW WHEN (OLD.vin IS DISTINCT FROM NEW.vin OR OLD.change_seq IS DISTINCT FROM NEW.change_seq)
    EXECUTE FUNCTION recipients_change();

CREATE FUNCTION campaigns_window_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE recipients SET change_seq = nextval('recipient_change_seq'), change_xid = pg_current_xact_id()
    WHERE dealer_id = NEW.dealer_id AND campaign_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER campaigns_window_change AFTER UPDATE ON campaigns
    FOR EACH ROW WHEN ((OLD.start_time, OLD.return_window_s, OLD.kind, OLD.code) IS DISTINCT FROM (NEW.start_time, NEW.return_window_s, NEW.kind, NEW.code))
    EXECUTE FUNCTION campaigns_window_change();
CREATE INDEX recipients_change_idx ON recipients (change_xid, change_seq);
