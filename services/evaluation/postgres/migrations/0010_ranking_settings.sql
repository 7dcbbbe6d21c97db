-- Dealer names, from the dealer network, for rankings (a dealer's name is
-- the company's, not personal data).
ALTER TABLE dealers ADD COLUMN name text NOT NULL DEFAULT '';

-- HQ's one setting of who sees what of a ranking: whether dealer staff
-- see the whole ranking with the other dealers' names (default: only
-- their own place, the count and the median). Not dealer data: no RLS.
CREATE TABLE ranking_settings (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    dealers_see_names boolean NOT NULL DEFAULT false,
    update_by         text NOT NULL DEFAULT '',
    update_time       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ranking_settings DEFAULT VALUES;
