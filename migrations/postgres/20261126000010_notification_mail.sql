-- Notifications a person asked to get by email as well: `pending` until a worker
-- has handed them to the mailer (`sent`). A worker claims a batch by stamping
-- `mail_claimed_until`; if it dies before sending, the claim runs out and another
-- worker sends them (at least once, never silently dropped).
ALTER TABLE notifications ADD COLUMN mail_status TEXT CHECK (mail_status IN ('pending', 'sent'));
ALTER TABLE notifications ADD COLUMN mail_claimed_until TIMESTAMPTZ;
CREATE INDEX notifications_mail_pending ON notifications(created_at) WHERE mail_status = 'pending';
