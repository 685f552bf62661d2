-- Signing in with a one-time code mailed to the address (for customers who never
-- set a password). A code is stored as SHA-256 of the user and the code, lives 10
-- minutes, works once, and dies after 5 wrong tries; a newer code retires older ones.
CREATE TABLE sign_in_codes (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_codes_by_user ON sign_in_codes(user_id, created_at);

-- Per account: mailed codes are allowed (the default), required (its members sign
-- in with a code, never a password), or off (its members never get one).
ALTER TABLE accounts ADD COLUMN email_codes TEXT NOT NULL DEFAULT 'allowed'
    CHECK (email_codes IN ('allowed', 'required', 'off'));

-- A session may begin with a mailed code: it proves the mailbox, not the password.
ALTER TABLE sessions DROP CONSTRAINT sessions_auth_method_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_auth_method_check
    CHECK (auth_method IN ('password', 'sso', 'invitation', 'email_code'));

-- When the person dismissed the portal's first-visit greeting (NULL: not yet).
ALTER TABLE users ADD COLUMN welcomed_at TIMESTAMPTZ;
