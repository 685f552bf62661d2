-- The webhook gateway: endpoints (one or more per connector instance) and the
-- inbox every accepted delivery is committed to before it is answered.
-- The tables of the same name from the sync-engine migration were placeholders
-- that nothing wrote.
DROP TABLE webhook_inbox;
DROP TABLE webhook_endpoints;

CREATE TABLE webhook_endpoints (
    -- Random (v4), so an endpoint's address cannot be guessed.
    id BLOB PRIMARY KEY,
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- standard-webhooks, stripe, github, hubspot-v3, slack or hmac.
    scheme TEXT NOT NULL,
    -- The generic HMAC's settings (header, prefix, algorithm, encoding, template).
    scheme_settings TEXT CHECK (scheme_settings IS NULL OR json_valid(scheme_settings)),
    -- Signing secrets with their expiry, sealed under the master key.
    secrets_sealed BLOB NOT NULL,
    tolerance_secs INTEGER NOT NULL,
    body_limit_bytes INTEGER NOT NULL,
    -- CIDR blocks deliveries may come from; NULL: anywhere.
    allowed_sources TEXT CHECK (allowed_sources IS NULL OR json_valid(allowed_sources)),
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_by_instance ON webhook_endpoints(connector_instance_id);

CREATE TABLE webhook_inbox (
    id BLOB PRIMARY KEY,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- The sender's id for the delivery (a digest of it when the scheme names none);
    -- unique per endpoint, which is what removes duplicates.
    delivery_id TEXT NOT NULL,
    -- verified: stored, waiting for processing; processed; failed: will be retried;
    -- dead: retries exhausted; rejected: refused at the door, kept for debugging.
    status TEXT NOT NULL CHECK (status IN ('verified', 'processed', 'rejected', 'failed', 'dead')),
    reject_reason TEXT,
    headers TEXT NOT NULL CHECK (json_valid(headers)),
    body BLOB NOT NULL,
    source_address TEXT,
    -- Repeats of this delivery that were answered and not processed again.
    duplicates INTEGER NOT NULL DEFAULT 0,
    last_duplicate_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- A processor holds the delivery until then (a crashed one's claim lapses).
    claimed_until TEXT,
    last_error TEXT,
    -- What processing did: counts of records added, updated, deleted ...
    outcome TEXT CHECK (outcome IS NULL OR json_valid(outcome)),
    received_at TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (endpoint_id, delivery_id)
);
-- Only deliveries waiting for processing: the index stays small however large
-- the inbox grows, and needs no statistics to be chosen over a scan.
CREATE INDEX webhook_inbox_pending ON webhook_inbox(next_attempt_at, id) WHERE status IN ('verified', 'failed');
CREATE INDEX webhook_inbox_by_endpoint ON webhook_inbox(endpoint_id, received_at);

-- Freshness from events: when a webhook last changed this stream.
ALTER TABLE sync_checkpoints ADD COLUMN last_event_at TEXT;
