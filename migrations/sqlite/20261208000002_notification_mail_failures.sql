-- Notification mail a server refused for now (4xx, or could not be reached) is
-- tried again later: `mail_attempts` counts the tries, `mail_claimed_until` holds
-- the next one back. Refused for good (5xx), or still refused after the last
-- try, it is `failed` with the server's answer in `mail_error`, for admins to see.
ALTER TABLE notifications ADD COLUMN mail_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN mail_error TEXT;
CREATE INDEX notifications_mail_failed ON notifications(created_at) WHERE mail_status = 'failed';
