-- Text search over record titles (invoice numbers, document names, ticket
-- subjects): an FTS5 index with the trigram tokenizer, so a search matches any part
-- of a title, without case, like LIKE '%term%' but through an index. It keeps its
-- own copy of each title with the record's id; `records_search_keys` finds a
-- record's entry again when its title changes or it is deleted. (Records' implicit
-- rowids are not used as keys: VACUUM may renumber them.)
CREATE VIRTUAL TABLE records_search USING fts5(title, record_id UNINDEXED, tokenize = 'trigram');
CREATE TABLE records_search_keys (
    record_id BLOB PRIMARY KEY,
    search_rowid INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO records_search (rowid, title, record_id) SELECT rowid, title, id FROM records;
INSERT INTO records_search_keys (record_id, search_rowid) SELECT id, rowid FROM records;

-- Kept by triggers, so every write path (sync, webhooks, outbox, uploads) is covered.
CREATE TRIGGER records_search_insert AFTER INSERT ON records
BEGIN
    INSERT INTO records_search (title, record_id) VALUES (new.title, new.id);
    INSERT INTO records_search_keys (record_id, search_rowid) VALUES (new.id, last_insert_rowid());
END;

CREATE TRIGGER records_search_update AFTER UPDATE OF title ON records
WHEN old.title IS NOT new.title
BEGIN
    UPDATE records_search SET title = new.title
    WHERE rowid = (SELECT search_rowid FROM records_search_keys WHERE record_id = new.id);
END;

CREATE TRIGGER records_search_delete AFTER DELETE ON records
BEGIN
    DELETE FROM records_search
    WHERE rowid = (SELECT search_rowid FROM records_search_keys WHERE record_id = old.id);
    DELETE FROM records_search_keys WHERE record_id = old.id;
END;
