-- Bulk imports of DMS exports (importer package). An import keeps its file
-- until it finishes, so a runner that dies mid-import is resumed by another
-- from last_row; each batch of rows commits with the progress it made.
CREATE TABLE imports (
    dealer_id      text NOT NULL,
    id             uuid NOT NULL,
    file_name      text NOT NULL DEFAULT '',
    -- Declared ('' = detect) until a runner has read the file, then the
    -- encoding used: 'utf-8' or 'gbk'.
    encoding       text NOT NULL DEFAULT '' CHECK (encoding IN ('', 'utf-8', 'gbk')),
    state          text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    total_rows     integer,                          -- NULL until the file was read once
    processed_rows integer NOT NULL DEFAULT 0,
    inserted_rows  integer NOT NULL DEFAULT 0,
    updated_rows   integer NOT NULL DEFAULT 0,
    unchanged_rows integer NOT NULL DEFAULT 0,
    failed_rows    integer NOT NULL DEFAULT 0,
    failure        text NOT NULL DEFAULT '',
    content        bytea,                            -- the file; NULL once finished
    last_row       integer NOT NULL DEFAULT 1,       -- last committed row (the header is row 1)
    lease_owner    text NOT NULL DEFAULT '',         -- the runner working on it
    lease_until    timestamptz,                      -- claimable again after this
    attempts       integer NOT NULL DEFAULT 0,       -- failed batches in a row, for backoff
    last_error     text NOT NULL DEFAULT '',         -- internal; for operators, never returned
    creator        text NOT NULL DEFAULT '',
    create_time    timestamptz NOT NULL DEFAULT now(),
    finish_time    timestamptz,
    PRIMARY KEY (dealer_id, id)
);
-- The file is read whole and rarely: no compression, no detoasting cost on
-- the progress updates (unchanged TOAST values are not rewritten).
ALTER TABLE imports ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX imports_recent_idx ON imports (dealer_id, create_time DESC, id DESC);
-- The runners' queue.
CREATE INDEX imports_running_idx ON imports (create_time, id) WHERE state = 'running';

CREATE TABLE import_errors (
    dealer_id text NOT NULL,
    import_id uuid NOT NULL,
    row       integer NOT NULL,                      -- the header is row 1
    field     text NOT NULL,                         -- canonical column name, e.g. vin
    reason    text NOT NULL,
    PRIMARY KEY (dealer_id, import_id, row, field),
    FOREIGN KEY (dealer_id, import_id) REFERENCES imports (dealer_id, id) ON DELETE CASCADE
);

ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imports
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));

ALTER TABLE import_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_errors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_errors
    USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
    WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')));
