-- The notifications table is also the inbox other services post notices
-- to (NoticeService.PostNotice, e.g. the webhook service's "subscription
-- disabled"): such a notice is about a subject, not a complaint, and is
-- posted once per (dealer, role, key) however often a retried activity
-- asks. Dealer '' is HQ's inbox, which only an all-dealers scope reaches
-- (the tenant policy is unchanged).
ALTER TABLE notifications ALTER COLUMN complaint_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN subject text NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN notice_key text;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_something
    CHECK (complaint_id IS NOT NULL OR (subject <> '' AND notice_key IS NOT NULL));
CREATE UNIQUE INDEX notifications_notice_key_idx ON notifications (dealer_id, recipient_role, notice_key)
    WHERE notice_key IS NOT NULL;
