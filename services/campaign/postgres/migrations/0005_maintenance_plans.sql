-- HQ's maintenance plans (保养计划), per model, with the 'default' row the
-- SPEC gives (6 months or 5,000 km, 40 km/day). HQ data: no dealer, no
-- personal data; every vehicle workflow reads its model's plan.
CREATE TABLE maintenance_plans (
    model              text             PRIMARY KEY CHECK (model <> ''),
    months             integer          NOT NULL CHECK (months BETWEEN 1 AND 60),
    interval_km        integer          NOT NULL CHECK (interval_km BETWEEN 500 AND 100000),
    default_km_per_day double precision NOT NULL CHECK (default_km_per_day BETWEEN 1 AND 1000),
    update_time        timestamptz      NOT NULL DEFAULT now()
);
INSERT INTO maintenance_plans (model, months, interval_km, default_km_per_day) VALUES ('default', 6, 5000, 40);
