-- The change feed behind live updates (`GET /api/v1/events`): one row per change a
-- portal user might see, written by triggers in the same transaction as the change
-- itself, so every write path (sync pages, webhooks, the outbox, sweeps, account
-- mappings) feeds it and nothing committed is missed. `seq` orders the feed and is
-- the SSE event id clients resume from; rows are kept for a retention window.
--   kind 'record': a record of `account_id` was written or deleted.
--   kind 'access': what `user_id` (or everyone in `account_id`) may see changed:
--                  open streams re-check their caller's access at once.
CREATE TABLE change_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('record', 'access')),
    account_id BLOB,
    user_id BLOB,
    record_type TEXT,
    record_id BLOB,
    change TEXT CHECK (change IN ('created', 'updated', 'deleted')),
    status TEXT,
    -- The status before an update (NULL for a new record): notifications say what moved.
    previous_status TEXT,
    title TEXT,
    changed_at TEXT NOT NULL
);
CREATE INDEX change_feed_by_time ON change_feed(changed_at);

CREATE TRIGGER records_feed_insert AFTER INSERT ON records
WHEN NEW.account_id IS NOT NULL
BEGIN
    INSERT INTO change_feed (kind, account_id, record_type, record_id, change, status, title, changed_at)
    VALUES ('record', NEW.account_id, NEW.record_type, NEW.id,
        CASE WHEN NEW.deleted_at IS NULL THEN 'created' ELSE 'deleted' END, NEW.status, NEW.title, NEW.updated_at);
END;

-- Only changes a reader could notice: not the sweep's bookkeeping (last_seen_run_id).
CREATE TRIGGER records_feed_update AFTER UPDATE ON records
WHEN NEW.account_id IS NOT NULL AND (NEW.updated_at IS NOT OLD.updated_at OR NEW.account_id IS NOT OLD.account_id
    OR NEW.external_id IS NOT OLD.external_id)
BEGIN
    INSERT INTO change_feed (kind, account_id, record_type, record_id, change, status, previous_status, title, changed_at)
    VALUES ('record', NEW.account_id, NEW.record_type, NEW.id,
        CASE WHEN NEW.deleted_at IS NULL THEN 'updated' ELSE 'deleted' END, NEW.status, OLD.status, NEW.title,
        NEW.updated_at);
END;

CREATE TRIGGER memberships_feed_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO change_feed (kind, account_id, user_id, changed_at)
    VALUES ('access', NEW.account_id, NEW.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER memberships_feed_update AFTER UPDATE ON memberships
BEGIN
    INSERT INTO change_feed (kind, account_id, user_id, changed_at)
    VALUES ('access', NEW.account_id, NEW.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER memberships_feed_delete AFTER DELETE ON memberships
BEGIN
    INSERT INTO change_feed (kind, account_id, user_id, changed_at)
    VALUES ('access', OLD.account_id, OLD.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
-- A custom role's permissions changed: everyone in its account re-checks.
CREATE TRIGGER custom_roles_feed_update AFTER UPDATE ON custom_roles
BEGIN
    INSERT INTO change_feed (kind, account_id, changed_at)
    VALUES ('access', NEW.account_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER sessions_feed_revoke AFTER UPDATE OF revoked_at ON sessions
WHEN NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO change_feed (kind, user_id, changed_at)
    VALUES ('access', NEW.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER sessions_feed_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO change_feed (kind, user_id, changed_at)
    VALUES ('access', OLD.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER api_tokens_feed_revoke AFTER UPDATE OF revoked_at ON api_tokens
WHEN NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO change_feed (kind, user_id, changed_at)
    VALUES ('access', NEW.created_by, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER users_feed_status AFTER UPDATE OF status ON users
BEGIN
    INSERT INTO change_feed (kind, user_id, changed_at)
    VALUES ('access', NEW.id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
CREATE TRIGGER staff_roles_feed AFTER DELETE ON staff_roles
BEGIN
    INSERT INTO change_feed (kind, user_id, changed_at)
    VALUES ('access', OLD.user_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
END;
