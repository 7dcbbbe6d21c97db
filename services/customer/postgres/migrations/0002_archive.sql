-- The customer archive. Every table is dealer data: dealer_id leads the
-- primary key (so the schema can be sharded by dealer) and carries the
-- tenant policy.
CREATE TABLE customers (
    dealer_id         text NOT NULL,
    id                uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('individual', 'enterprise')),
    name              text NOT NULL DEFAULT '',
    gender            text NOT NULL DEFAULT '' CHECK (gender IN ('', 'male', 'female')),
    birthday          date,
    mobile            text NOT NULL DEFAULT '',          -- E.164
    email             text NOT NULL DEFAULT '',
    address           text NOT NULL DEFAULT '',
    id_number_enc     bytea,                             -- AES-GCM, key id prefixed
    id_number_index   bytea,                             -- HMAC blind index for equality
    source            text NOT NULL DEFAULT '',
    tier              text NOT NULL CHECK (tier IN ('key', 'regular', 'potential', 'temporary')),
    tags              text[] NOT NULL DEFAULT '{}',
    preferred_channel text NOT NULL DEFAULT '',
    preferred_hours   text NOT NULL DEFAULT '',
    loyalty_points    bigint NOT NULL DEFAULT 0 CHECK (loyalty_points >= 0),
    contact_name      text NOT NULL DEFAULT '',
    dms_id            text NOT NULL DEFAULT '',
    trigger_time      timestamptz,
    create_time       timestamptz NOT NULL DEFAULT now(),
    update_time       timestamptz NOT NULL DEFAULT now(),
    problems          jsonb NOT NULL DEFAULT '[]',
    problem_count     integer GENERATED ALWAYS AS (jsonb_array_length(problems)) STORED,
    merged_into       uuid,
    PRIMARY KEY (dealer_id, id)
);
-- Search: exact mobile, name prefix, newest-first listing, DMS upserts.
CREATE INDEX customers_mobile_idx ON customers (dealer_id, mobile) WHERE mobile <> '';
CREATE INDEX customers_name_idx ON customers (dealer_id, name text_pattern_ops);
CREATE INDEX customers_recent_idx ON customers (dealer_id, create_time DESC, id DESC);
CREATE UNIQUE INDEX customers_dms_idx ON customers (dealer_id, dms_id) WHERE dms_id <> '';
CREATE INDEX customers_problems_idx ON customers (dealer_id, create_time DESC, id DESC) WHERE problem_count > 0 AND merged_into IS NULL;
CREATE INDEX customers_id_number_idx ON customers (dealer_id, id_number_index) WHERE id_number_index IS NOT NULL;

CREATE TABLE consents (
    dealer_id   text NOT NULL,
    customer_id uuid NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('sms', 'call', 'email', 'wechat')),
    granted     boolean NOT NULL,
    source      text NOT NULL DEFAULT '',
    update_time timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, customer_id, channel),
    FOREIGN KEY (dealer_id, customer_id) REFERENCES customers (dealer_id, id)
);

CREATE TABLE loyalty_transactions (
    dealer_id   text NOT NULL,
    id          uuid NOT NULL,
    customer_id uuid NOT NULL,
    points      bigint NOT NULL CHECK (points <> 0),
    reason      text NOT NULL,
    balance     bigint NOT NULL CHECK (balance >= 0),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, id),
    FOREIGN KEY (dealer_id, customer_id) REFERENCES customers (dealer_id, id)
);
CREATE INDEX loyalty_customer_idx ON loyalty_transactions (dealer_id, customer_id, create_time DESC, id DESC);

CREATE TABLE vehicles (
    dealer_id              text NOT NULL,
    id                     uuid NOT NULL,
    customer_id            uuid NOT NULL,
    vin                    text NOT NULL CHECK (length(vin) = 17),
    plate                  text NOT NULL DEFAULT '',
    brand                  text NOT NULL DEFAULT '',
    model                  text NOT NULL DEFAULT '',
    model_year             integer NOT NULL DEFAULT 0,
    purchase_date          date,
    selling_dealer         text NOT NULL DEFAULT '',
    mileage_km             integer NOT NULL DEFAULT 0,
    dms_id                 text NOT NULL DEFAULT '',
    create_time            timestamptz NOT NULL DEFAULT now(),
    last_visit_time        timestamptz,
    last_visit_dealer      text NOT NULL DEFAULT '',
    next_service_due_date  date,
    next_service_due_km    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dealer_id, id),
    FOREIGN KEY (dealer_id, customer_id) REFERENCES customers (dealer_id, id)
);
-- One archive per VIN per dealer; the vehicle's workflow updates every
-- dealer's archive of a VIN, hence the VIN-only index.
CREATE UNIQUE INDEX vehicles_vin_idx ON vehicles (dealer_id, vin);
CREATE INDEX vehicles_vin_all_idx ON vehicles (vin);
CREATE INDEX vehicles_plate_idx ON vehicles (dealer_id, plate) WHERE plate <> '';
CREATE INDEX vehicles_customer_idx ON vehicles (dealer_id, customer_id);
CREATE UNIQUE INDEX vehicles_dms_idx ON vehicles (dealer_id, dms_id) WHERE dms_id <> '';

CREATE TABLE repair_orders (
    dealer_id      text NOT NULL,
    id             uuid NOT NULL,
    number         text NOT NULL,
    vehicle_id     uuid NOT NULL,
    vin            text NOT NULL,
    customer_id    uuid NOT NULL,
    type           text NOT NULL CHECK (type IN ('maintenance', 'repair', 'warranty', 'accident', 'recall', 'campaign')),
    state          text NOT NULL CHECK (state IN ('open', 'closed')),
    open_time      timestamptz NOT NULL,
    close_time     timestamptz,
    mileage_km     integer NOT NULL DEFAULT 0,
    amount_fen     bigint NOT NULL DEFAULT 0,
    advisor        text NOT NULL DEFAULT '',
    by_appointment boolean NOT NULL DEFAULT false,
    campaign_code  text NOT NULL DEFAULT '',
    PRIMARY KEY (dealer_id, id),
    UNIQUE (dealer_id, number),
    FOREIGN KEY (dealer_id, vehicle_id) REFERENCES vehicles (dealer_id, id)
);
CREATE INDEX repair_orders_recent_idx ON repair_orders (dealer_id, open_time DESC, id DESC);
CREATE INDEX repair_orders_vehicle_idx ON repair_orders (dealer_id, vehicle_id, open_time DESC);

CREATE TABLE sales (
    dealer_id      text NOT NULL,
    id             uuid NOT NULL,
    vehicle_id     uuid NOT NULL,
    customer_id    uuid NOT NULL,
    salesperson    text NOT NULL DEFAULT '',
    delivered_time timestamptz NOT NULL,
    create_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, id),
    FOREIGN KEY (dealer_id, vehicle_id) REFERENCES vehicles (dealer_id, id)
);
CREATE INDEX sales_recent_idx ON sales (dealer_id, delivered_time DESC, id DESC);
-- One delivery per vehicle per dealer: a repeated request is a conflict.
CREATE UNIQUE INDEX sales_vehicle_idx ON sales (dealer_id, vehicle_id);

-- Merges are recorded, never undone silently.
CREATE TABLE customer_merges (
    dealer_id   text NOT NULL,
    survivor_id uuid NOT NULL,
    merged_id   uuid NOT NULL,
    actor       text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, merged_id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'consents', 'loyalty_transactions', 'vehicles', 'repair_orders', 'sales', 'customer_merges'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
            WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))$p$, t);
    END LOOP;
END $$;
