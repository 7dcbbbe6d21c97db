-- Campaigns (活动). dealer_id is the owner: a dealer's code, or '' for an
-- HQ (network-wide) campaign, which only an all-dealers scope reaches (the
-- tenant policy never matches '' in a dealer list). No personal data is
-- kept here: recipients are archive ids; names, mobiles and consents are
-- read from the customer service when a message is sent.
CREATE TABLE campaigns (
    dealer_id        text        NOT NULL,
    id               uuid        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('maintenance_promotion', 'recall', 'holiday_greeting', 'birthday_greeting',
                                                          'care_event', 'win_back', 'survey', 'service_reminder')),
    name             text        NOT NULL,
    state            text        NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'completed', 'cancelled')),
    channels         text[]      NOT NULL DEFAULT '{}',
    template         jsonb       NOT NULL,
    audience         jsonb       NOT NULL,
    start_time       timestamptz,
    return_window_s  bigint      NOT NULL,
    code             text        NOT NULL DEFAULT '',
    contact_phone    text        NOT NULL DEFAULT '',
    cancel_reason    text        NOT NULL DEFAULT '',
    version          bigint      NOT NULL DEFAULT 0,
    -- Where resolving the audience into recipients stands.
    audience_cursor  text        NOT NULL DEFAULT '',
    audience_done    boolean     NOT NULL DEFAULT false,
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, id)
);
CREATE INDEX campaigns_recent_idx ON campaigns (dealer_id, create_time DESC, id DESC);

-- One row per (campaign, customer): the unit that is sent at most once.
-- dealer_id is the campaign's owner (so a dealer never reads an HQ
-- campaign's recipients); customer_dealer is the customer's archive.
-- message_id is written before the message leaves (MessageID, the
-- provider's idempotency key); a row stays "sending" until its lease
-- (next_attempt_at) runs out, when another sender may claim it again.
CREATE TABLE recipients (
    dealer_id        text        NOT NULL,
    campaign_id      uuid        NOT NULL,
    customer_dealer  text        NOT NULL,
    customer_id      uuid        NOT NULL,
    vin              text        NOT NULL DEFAULT '',
    state            text        NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'suppressed', 'failed')),
    suppress_reason  text        NOT NULL DEFAULT '',
    channel          text        NOT NULL DEFAULT '',
    message_id       uuid,
    provider_id      text        NOT NULL DEFAULT '',
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    sent_at          timestamptz,
    delivery         text        NOT NULL DEFAULT '',
    receipt_at       timestamptz,
    return_at        timestamptz,
    return_dealer    text        NOT NULL DEFAULT '',
    PRIMARY KEY (dealer_id, campaign_id, customer_dealer, customer_id),
    FOREIGN KEY (dealer_id, campaign_id) REFERENCES campaigns (dealer_id, id)
);
-- The senders' queue: waiting recipients, due first.
CREATE INDEX recipients_due_idx ON recipients (dealer_id, campaign_id, next_attempt_at)
    WHERE state IN ('pending', 'sending');
-- Delivery receipts find their message.
CREATE UNIQUE INDEX recipients_message_idx ON recipients (message_id) WHERE message_id IS NOT NULL;

-- Messages that count against the frequency cap, per customer.
CREATE TABLE contact_log (
    dealer_id    text        NOT NULL,
    customer_id  uuid        NOT NULL,
    campaign_id  uuid        NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, customer_id, campaign_id)
);
CREATE INDEX contact_log_recent_idx ON contact_log (dealer_id, customer_id, sent_at);

-- Opt-outs, honoured at the next send. channel '' is every channel.
CREATE TABLE opt_outs (
    dealer_id    text        NOT NULL,
    customer_id  uuid        NOT NULL,
    channel      text        NOT NULL CHECK (channel IN ('', 'sms', 'email', 'wechat', 'callback')),
    source       text        NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, customer_id, channel)
);

-- HQ's messaging policy (HQ data, no dealer): one row.
CREATE TABLE messaging_policy (
    id                 text PRIMARY KEY CHECK (id = 'default'),
    quiet_start        text        NOT NULL,
    quiet_end          text        NOT NULL,
    frequency_cap      integer     NOT NULL,
    frequency_window_s bigint      NOT NULL,
    cap_exempt_kinds   text[]      NOT NULL,
    update_time        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO messaging_policy (id, quiet_start, quiet_end, frequency_cap, frequency_window_s, cap_exempt_kinds)
VALUES ('default', '21:00', '09:00', 3, 604800, '{recall,service_reminder}');

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'recipients', 'contact_log', 'opt_outs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
            WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))$p$, t);
    END LOOP;
END $$;
