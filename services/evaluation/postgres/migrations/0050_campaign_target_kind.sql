-- A campaign target's campaign kind and code, from the campaign
-- service's feed: a recall's return is a recall-type repair order quoting
-- the campaign's code (the campaign service's own rule), any other
-- campaign's return is any repair order of the vehicle in the window.
ALTER TABLE campaign_target_facts ADD COLUMN kind text NOT NULL DEFAULT '', ADD COLUMN code text NOT NULL DEFAULT '';
