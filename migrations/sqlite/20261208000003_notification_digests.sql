-- When each person was last mailed about each account: notification mail waits
-- until `notifications.digest_minutes` have passed since, then what gathered
-- goes in one message.
CREATE TABLE notification_digests (
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    last_sent_at TEXT NOT NULL,
    PRIMARY KEY (user_id, account_id)
);
