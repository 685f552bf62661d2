-- The change feed behind live updates (`GET /api/v1/events`): one row per change a
-- portal user might see, written by triggers in the same transaction as the change
-- itself, so every write path (sync pages, webhooks, the outbox, sweeps, account
-- mappings) feeds it and nothing committed is missed. `seq` orders the feed and is
-- the SSE event id clients resume from; rows are kept for a retention window.
-- Each writing transaction also NOTIFYs `portico_change_feed` (delivered at commit)
-- so every server process reads the new rows at once.
--   kind 'record': a record of `account_id` was written or deleted.
--   kind 'access': what `user_id` (or everyone in `account_id`) may see changed:
--                  open streams re-check their caller's access at once.
-- Sequence values are taken at insert, not at commit: readers wait briefly at a
-- gap for a slower transaction to commit before passing it (see events/feed.rs).
CREATE TABLE change_feed (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('record', 'access')),
    account_id UUID,
    user_id UUID,
    record_type TEXT,
    record_id UUID,
    change TEXT CHECK (change IN ('created', 'updated', 'deleted')),
    status TEXT,
    -- The status before an update (NULL for a new record): notifications say what moved.
    previous_status TEXT,
    title TEXT,
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX change_feed_by_time ON change_feed(changed_at);

CREATE FUNCTION change_feed_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_feed (kind, account_id, record_type, record_id, change, status, previous_status, title, changed_at)
    VALUES ('record', NEW.account_id, NEW.record_type, NEW.id,
        CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted' WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'updated' END, NEW.status,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.title, NEW.updated_at);
    PERFORM pg_notify('portico_change_feed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER records_feed_insert AFTER INSERT ON records
FOR EACH ROW WHEN (NEW.account_id IS NOT NULL) EXECUTE FUNCTION change_feed_record();
-- Only changes a reader could notice: not the sweep's bookkeeping (last_seen_run_id).
CREATE TRIGGER records_feed_update AFTER UPDATE ON records
FOR EACH ROW WHEN (NEW.account_id IS NOT NULL AND (NEW.updated_at IS DISTINCT FROM OLD.updated_at
    OR NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.external_id IS DISTINCT FROM OLD.external_id))
EXECUTE FUNCTION change_feed_record();

-- Access changes: TG_ARGV[0] names what identifies the user ('user_id', 'created_by',
-- 'id'), TG_ARGV[1] whether the row names an account.
CREATE FUNCTION change_feed_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed RECORD;
    who UUID;
    account UUID;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF TG_ARGV[0] <> '' THEN
        EXECUTE format('SELECT ($1).%I', TG_ARGV[0]) INTO who USING changed;
    END IF;
    IF TG_ARGV[1] = 'account' THEN
        EXECUTE 'SELECT ($1).account_id' INTO account USING changed;
    END IF;
    INSERT INTO change_feed (kind, account_id, user_id, changed_at) VALUES ('access', account, who, now());
    PERFORM pg_notify('portico_change_feed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_feed AFTER INSERT OR UPDATE OR DELETE ON memberships
FOR EACH ROW EXECUTE FUNCTION change_feed_access('user_id', 'account');
-- A custom role's permissions changed: everyone in its account re-checks.
CREATE TRIGGER custom_roles_feed AFTER UPDATE ON custom_roles
FOR EACH ROW EXECUTE FUNCTION change_feed_access('', 'account');
CREATE TRIGGER sessions_feed_revoke AFTER UPDATE OF revoked_at ON sessions
FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION change_feed_access('user_id', '');
CREATE TRIGGER sessions_feed_delete AFTER DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION change_feed_access('user_id', '');
CREATE TRIGGER api_tokens_feed_revoke AFTER UPDATE OF revoked_at ON api_tokens
FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION change_feed_access('created_by', '');
CREATE TRIGGER users_feed_status AFTER UPDATE OF status ON users
FOR EACH ROW EXECUTE FUNCTION change_feed_access('id', '');
CREATE TRIGGER staff_roles_feed AFTER DELETE ON staff_roles
FOR EACH ROW EXECUTE FUNCTION change_feed_access('user_id', '');
