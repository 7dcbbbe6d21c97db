-- The campaign service asks which VINs came back to any dealer since a
-- campaign started (returns, recall completions): repair orders by VIN and
-- opening time, across dealers.
CREATE INDEX repair_orders_vin_idx ON repair_orders (vin, open_time);
