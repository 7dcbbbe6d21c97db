-- The campaign service's birthday greetings ask, each day, for the
-- customers of every dealer born on that month and day.
CREATE INDEX customers_birthday_idx ON customers (dealer_id, ((extract(month FROM birthday) * 100 + extract(day FROM birthday))::int))
    WHERE birthday IS NOT NULL AND merged_into IS NULL;
