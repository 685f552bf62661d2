-- How each session was begun, and what it has proven since: step-up needs a
-- password (with the second factor, when enrolled) proven in this very session,
-- never just a young session; an account demanding multi-factor sign-in needs a
-- second factor proven in this session (or vouched for by the identity provider).
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password'
    CHECK (auth_method IN ('password', 'sso', 'invitation'));
-- The last password proof in this session (sign-in or re-authentication).
ALTER TABLE sessions ADD COLUMN proved_at TEXT;
-- When a second factor was proven in this session (TOTP or recovery code, a
-- confirmed enrolment, or an identity provider's `amr` saying so).
ALTER TABLE sessions ADD COLUMN second_factor_at TEXT;
-- Sessions that existed before: those begun through an account's provider are SSO
-- sessions and prove nothing; the others keep their sign-in as their proof, and
-- their second factor only if they began after it was turned on.
UPDATE sessions SET auth_method = 'sso' WHERE scoped_account_id IS NOT NULL;
UPDATE sessions SET proved_at = created_at WHERE scoped_account_id IS NULL;
UPDATE sessions SET second_factor_at = created_at
 WHERE scoped_account_id IS NULL
   AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id
               AND u.mfa_enabled_at IS NOT NULL AND u.mfa_enabled_at <= sessions.created_at);
