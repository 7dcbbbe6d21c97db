-- Idempotency keys of the gateway's mutating REST calls (SPEC "REST API").
--
-- A row belongs to a caller (the token's subject), not to a dealer: HQ and
-- region users have no dealer, and the gateway answers before it knows which
-- dealer a route names. So there is no dealer_id and no tenant policy; the
-- caller leads the primary key and every statement of the Store filters by
-- it. Rows hold response bodies, which may carry personal data, and live for
-- the key's TTL only (Store.Sweep deletes them).
CREATE TABLE idempotency_keys (
    caller                text        NOT NULL CHECK (caller <> ''),
    idempotency_key       text        NOT NULL CHECK (idempotency_key ~ '^[ -~]{1,255}$'),
    -- SHA-256 of method, path, canonical query and body.
    fingerprint           bytea       NOT NULL CHECK (length(fingerprint) = 32),
    state                 text        NOT NULL CHECK (state IN ('in_flight', 'done')),
    -- Random token of the claim that runs the request. Complete and Abandon
    -- name it, so a claim taken over after its lease ran out cannot touch
    -- its successor's row.
    lease                 bytea       NOT NULL,
    -- Until when an in_flight row blocks retries; after it (a gateway died
    -- mid-request) a retry with the same fingerprint takes the key over.
    lease_expires_at      timestamptz,
    response_status       integer     CHECK (response_status BETWEEN 100 AND 599),
    -- Only the headers worth replaying (Content-Type, Content-Language,
    -- Location), as {"Name": ["value", ...]}.
    response_headers      jsonb,
    response_body         bytea,
    -- The response was larger than the cap: it went to the client but was
    -- not kept, so a retry is refused instead of run twice.
    response_body_omitted boolean     NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL,
    completed_at          timestamptz,
    expires_at            timestamptz NOT NULL,
    PRIMARY KEY (caller, idempotency_key),
    CHECK (expires_at > created_at),
    CHECK (CASE state
        WHEN 'in_flight' THEN lease_expires_at IS NOT NULL AND response_status IS NULL AND completed_at IS NULL
        ELSE lease_expires_at IS NULL AND response_status IS NOT NULL AND completed_at IS NOT NULL
                 AND (response_body IS NOT NULL) <> response_body_omitted
    END)
);

-- Sweep deletes by expiry.
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
