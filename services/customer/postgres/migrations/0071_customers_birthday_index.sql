-- The campaign service's birthday greetings ask, each day, for the
-- customers of every dealer born on that month and day. Numbered after the
-- released 0070; IF NOT EXISTS for a database that applied it as 0062.
CREATE INDEX IF NOT EXISTS customers_birthday_idx ON customers (dealer_id, ((extract(month FROM birthday) * 100 + extract(day FROM birthday))::int))
    WHERE birthday IS NOT NULL AND merged_into IS NULL;
