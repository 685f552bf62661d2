-- The portal's reads: a record's children (an invoice's payments, a ticket's
-- messages) within its account, found by the parent's upstream id.
CREATE INDEX records_children ON records(account_id, record_type, parent_external_id) WHERE parent_external_id IS NOT NULL;
