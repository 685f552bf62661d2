-- Records are keyed by what they are upstream. HubSpot companies were cached as
-- contacts (record_type 'contact', kind 'company') under HubSpot's id, and HubSpot
-- numbers each object type on its own: a company and a contact sharing an id
-- overwrote each other. Companies become organisations, in place, so each keeps
-- its row id, its account and its history (record_versions follow the row id).
-- The next sync finds them under the same key and counts them updated once (their
-- common-model form changed), never added.
--
-- A row the two objects had already shared keeps the type of the stream that
-- wrote it last; the other object is added by the next sync of its stream.
UPDATE records
SET record_type = 'organisation',
    data = json_object(
        'type', 'organisation',
        'name', json_extract(data, '$.name'),
        'domain', json_extract(data, '$.company'),
        'phone', json_extract(data, '$.phone'))
WHERE record_type = 'contact'
  AND stream = 'companies'
  AND source_instance_id IN (SELECT id FROM connector_instances WHERE kind = 'hubspot');

-- Records whose upstream answer did not say whose they are keep their account;
-- each run counts them.
ALTER TABLE sync_runs ADD COLUMN accounts_kept BIGINT NOT NULL DEFAULT 0;

-- How long one upstream request of an instance may take (NULL: sync.request_timeout_secs).
ALTER TABLE connector_instances ADD COLUMN request_timeout_secs BIGINT;
