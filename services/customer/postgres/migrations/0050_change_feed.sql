-- The change feed the evaluation service reads its repair-order,
-- delivery, archive and maintenance-due facts from
-- (ArchiveChangeService). Every insert or update of a row of these four
-- tables stamps it with the next change_seq (one sequence for all four)
-- and the writing transaction's id; the feed hands out rows in
-- (change_xid, change_seq) order and only those of transactions older
-- than every one still running (pg_snapshot_xmin(pg_current_snapshot())),
-- so a transaction that took its sequence number early but commits late
-- is never skipped.
CREATE SEQUENCE archive_change_seq;

CREATE FUNCTION archive_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('archive_change_seq');
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END $$;

ALTER TABLE repair_orders ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE repair_orders SET change_seq = nextval('archive_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE repair_orders ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;
CREATE TRIGGER repair_orders_change BEFORE INSERT OR UPDATE ON repair_orders FOR EACH ROW EXECUTE FUNCTION archive_change();
CREATE INDEX repair_orders_change_idx ON repair_orders (change_xid, change_seq);

ALTER TABLE sales ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE sales SET change_seq = nextval('archive_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE sales ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;
CREATE TRIGGER sales_change BEFORE INSERT OR UPDATE ON sales FOR EACH ROW EXECUTE FUNCTION archive_change();
CREATE INDEX sales_change_idx ON sales (change_xid, change_seq);

ALTER TABLE customers ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE customers SET change_seq = nextval('archive_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE customers ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;
CREATE TRIGGER customers_change BEFORE INSERT OR UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION archive_change();
CREATE INDEX customers_change_idx ON customers (change_xid, change_seq);

-- Vehicles: only a change of the maintenance due enters the feed (the
-- vehicle workflow writes it on every dealer's archive of the VIN).
ALTER TABLE vehicles ADD COLUMN change_seq bigint, ADD COLUMN change_xid xid8;
UPDATE vehicles SET change_seq = nextval('archive_change_seq'), change_xid = pg_current_xact_id();
ALTER TABLE vehicles ALTER COLUMN change_seq SET NOT NULL, ALTER COLUMN change_xid SET NOT NULL;
CREATE TRIGGER vehicles_change BEFORE INSERT OR UPDATE OF next_service_due_date, last_visit_dealer ON vehicles
    FOR EACH ROW EXECUTE FUNCTION archive_change();
CREATE INDEX vehicles_change_idx ON vehicles (change_xid, change_seq);
