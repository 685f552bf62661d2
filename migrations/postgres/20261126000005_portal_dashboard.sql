-- When a record is due (an invoice's payment, a task), from the common model: the
-- dashboard's overdue invoices and tasks due, and the invoice list's due-date filter.
ALTER TABLE records ADD COLUMN due_at TIMESTAMPTZ;
UPDATE records SET due_at = (data->>'due_at')::timestamptz
WHERE record_type IN ('invoice', 'task') AND data->>'due_at' IS NOT NULL;
CREATE INDEX records_due ON records(account_id, record_type, due_at) WHERE due_at IS NOT NULL AND deleted_at IS NULL;

-- Each user's visits to each account's dashboard. "New since your last visit" is
-- measured from `baseline_at`: the last visit before the current one (a visit
-- starts when the previous one is more than half an hour old), so refreshing the
-- page does not make what is new disappear.
CREATE TABLE account_visits (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    visited_at TIMESTAMPTZ NOT NULL,
    baseline_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, account_id)
);

-- What each user wants to be told about (the profile's notification preferences).
ALTER TABLE users ADD COLUMN notification_preferences JSONB NOT NULL DEFAULT '{}';
