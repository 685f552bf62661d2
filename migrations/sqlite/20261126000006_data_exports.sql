-- Data exports (the right of access and portability): an account's records and
-- documents for its owner or staff, or a person's own data for them. Built by a
-- background job into an archive under data_dir/exports/, downloadable by whoever
-- asked until expires_at; housekeeping removes it after.
CREATE TABLE data_exports (
    id BLOB PRIMARY KEY,
    -- 'account': account_id's records and documents; 'user': user_id's own data.
    subject TEXT NOT NULL CHECK (subject IN ('account', 'user')),
    account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BLOB REFERENCES users(id) ON DELETE CASCADE,
    requested_by BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'building', 'ready', 'failed')),
    size_bytes INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    expires_at TEXT NOT NULL,
    CHECK ((subject = 'account') = (account_id IS NOT NULL)),
    CHECK ((subject = 'user') = (user_id IS NOT NULL))
);
CREATE INDEX data_exports_expiry ON data_exports(expires_at);
