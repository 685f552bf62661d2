-- Text search over record titles (invoice numbers, document names, ticket
-- subjects): a trigram GIN index (pg_trgm) that leads with the account and record
-- type (btree_gin), so `title ILIKE '%term%'` inside one account's records of one
-- type is answered from the index: GIN intersects the account's entries with the
-- term's trigrams instead of scanning either. Both extensions ship with
-- PostgreSQL (contrib) and are trusted (PostgreSQL 13+: a database owner may
-- create them). Where they are unavailable, the index is skipped with a warning
-- and searches scan the account's records of that type instead (correct, slower
-- for very large accounts).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE INDEX records_title_search ON records
        USING gin (account_id, record_type, title gin_trgm_ops)
        WHERE deleted_at IS NULL;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'portal title search index not created (%): searches scan per account instead', SQLERRM;
END
$$;
