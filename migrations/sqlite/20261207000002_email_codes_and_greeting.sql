-- Signing in with a one-time code mailed to the address (for customers who never
-- set a password). A code is stored as SHA-256 of the user and the code, lives 10
-- minutes, works once, and dies after 5 wrong tries; a newer code retires older ones.
CREATE TABLE sign_in_codes (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_codes_by_user ON sign_in_codes(user_id, created_at);

-- Per account: mailed codes are allowed (the default), required (its members sign
-- in with a code, never a password), or off (its members never get one).
ALTER TABLE accounts ADD COLUMN email_codes TEXT NOT NULL DEFAULT 'allowed'
    CHECK (email_codes IN ('allowed', 'required', 'off'));

-- A session may begin with a mailed code: it proves the mailbox, not the password.
-- SQLite cannot change a column's CHECK, so the table is rebuilt (nothing refers
-- to it; its index and change-feed triggers are made again).
CREATE TABLE sessions_rebuilt (
    id BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scoped_account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    user_agent TEXT,
    ip_address TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    auth_method TEXT NOT NULL DEFAULT 'password'
        CHECK (auth_method IN ('password', 'sso', 'invitation', 'email_code')),
    proved_at TEXT,
    second_factor_at TEXT
);
INSERT INTO sessions_rebuilt (id, token_hash, user_id, scoped_account_id, user_agent, ip_address, created_at,
                              last_seen_at, expires_at, revoked_at, auth_method, proved_at, second_factor_at)
SELECT id, token_hash, user_id, scoped_account_id, user_agent, ip_address, created_at,
       last_seen_at, expires_at, revoked_at, auth_method, proved_at, second_factor_at
  FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;
CREATE INDEX sessions_by_user ON sessions(user_id);
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

-- When the person dismissed the portal's first-visit greeting (NULL: not yet).
ALTER TABLE users ADD COLUMN welcomed_at TEXT;
