-- In-portal notifications (the table is from the initial schema): what changed in
-- a person's accounts that they may see and asked to hear about (their
-- notification preferences), made from the change feed by worker processes.
-- Each names the record it is about.
ALTER TABLE notifications ADD COLUMN record_type TEXT;
ALTER TABLE notifications ADD COLUMN record_id BLOB;

-- How far notifications have been made from the change feed (one row).
CREATE TABLE notification_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO notification_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM change_feed;
