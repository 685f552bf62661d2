-- The sync engine. The first schema sketched one table per record type; nothing
-- wrote them yet. Records now live in one table keyed by (instance, type, external
-- id) with the common fields in columns and the mapped record as JSON: one upsert
-- path, one history table, one permission-filtered query shape for every type.
-- Connector tables are rebuilt with the columns the engine needs (all were empty).

DROP TABLE invoice_line_items;
DROP TABLE order_status_history;
DROP TABLE record_versions;
DROP TABLE ticket_messages;
DROP TABLE payments;
DROP TABLE invoices;
DROP TABLE contacts;
DROP TABLE documents;
DROP TABLE tickets;
DROP TABLE orders;
DROP TABLE tasks;
DROP TABLE webhook_inbox;
DROP TABLE webhook_endpoints;
DROP TABLE outbox;
DROP TABLE sync_cursors;
DROP TABLE sync_runs;
DROP TABLE connector_instances;

CREATE TABLE connector_instances (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL CHECK (json_valid(settings)),
    -- Credentials sealed under the master key; never returned by the API.
    credentials_sealed BLOB,
    -- Outbound calls may reach loopback/private addresses (on-premises upstreams, tests).
    allow_private_network INTEGER NOT NULL DEFAULT 0,
    -- Requests per second for the rate budget this instance shares (NULL: unlimited).
    rate_limit_per_sec REAL,
    -- Instances naming the same key share one budget (one upstream app's quota).
    rate_budget_key TEXT,
    schedule_interval_secs INTEGER,
    -- A full sync deleting more than this share of a stream is held for an admin.
    delete_guard_share REAL NOT NULL DEFAULT 0.2,
    enabled INTEGER NOT NULL DEFAULT 1,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    degraded_since TEXT,
    last_error TEXT,
    next_sync_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX connector_instances_due ON connector_instances(enabled, next_sync_at);

CREATE TABLE sync_runs (
    id BLOB PRIMARY KEY,
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'held', 'discarded', 'cancelled')),
    -- Position inside the run, committed with each page's records.
    position TEXT CHECK (position IS NULL OR json_valid(position)),
    pages BIGINT NOT NULL DEFAULT 0,
    added BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    -- Deletions a full run found but did not apply (over the guard share).
    held_deletions BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Taken by each execution; a page commits only under the current lease, so an
    -- execution presumed dead cannot write after another took the run over.
    lease_id BLOB,
    error TEXT,
    retry_at TEXT,
    queued_at TEXT NOT NULL,
    started_at TEXT,
    heartbeat_at TEXT,
    finished_at TEXT
);
CREATE INDEX sync_runs_by_instance ON sync_runs(connector_instance_id, queued_at);
-- At most one run per instance and stream at a time, enforced by the database.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs(connector_instance_id, stream)
    WHERE status IN ('queued', 'running', 'waiting');

-- Where the next incremental run of a stream starts, and when it last succeeded.
CREATE TABLE sync_checkpoints (
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    checkpoint TEXT CHECK (checkpoint IS NULL OR json_valid(checkpoint)),
    last_success_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connector_instance_id, stream)
);

-- Which customer account an upstream key (customer id, company id, prefix) belongs to.
CREATE TABLE account_mappings (
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    account_ref TEXT NOT NULL,
    account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (connector_instance_id, account_ref)
);

CREATE TABLE records (
    id BLOB PRIMARY KEY,
    record_type TEXT NOT NULL,
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    external_id TEXT NOT NULL,
    -- The upstream's key for whose record this is; mapped through account_mappings.
    account_ref TEXT,
    -- NULL while parked: no mapping, so no customer sees it.
    account_id BLOB REFERENCES accounts(id),
    parent_external_id TEXT,
    title TEXT NOT NULL,
    status TEXT,
    amount_minor BIGINT,
    currency TEXT,
    occurred_at TEXT,
    data TEXT NOT NULL CHECK (json_valid(data)),
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash BLOB NOT NULL,
    source_updated_at TEXT,
    -- The last full run that saw it (deletion detection).
    last_seen_run_id BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    -- External id first: it is what lookups vary by, so even a planner without
    -- statistics (a new table during its first big sync) seeks on all three columns.
    UNIQUE (external_id, source_instance_id, record_type)
);
CREATE INDEX records_portal ON records(account_id, record_type, updated_at, id);
CREATE INDEX records_by_stream ON records(source_instance_id, stream, last_seen_run_id);
CREATE INDEX records_parked ON records(source_instance_id, account_ref) WHERE account_id IS NULL;

-- Earlier versions of a record: each change keeps what it replaced.
CREATE TABLE record_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id BLOB NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    data TEXT NOT NULL CHECK (json_valid(data)),
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash BLOB NOT NULL,
    valid_from TEXT NOT NULL,
    superseded_at TEXT NOT NULL,
    -- What replaced it: an update, a deletion, or a restore after deletion.
    change TEXT NOT NULL CHECK (change IN ('updated', 'deleted', 'restored'))
);
CREATE INDEX record_versions_by_record ON record_versions(record_id, superseded_at);

-- Writes to upstream systems, recorded in the same transaction as the local change.
CREATE TABLE outbox (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    -- The local record the change belongs to, shown as pending until delivered.
    record_id BLOB REFERENCES records(id) ON DELETE SET NULL,
    operation TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    external_id TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY,
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    scheme TEXT NOT NULL,
    secrets_sealed BLOB NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE webhook_inbox (
    id BLOB PRIMARY KEY,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    headers TEXT NOT NULL CHECK (json_valid(headers)),
    body BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('verified', 'processed', 'rejected', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (endpoint_id, delivery_id)
);
CREATE INDEX webhook_inbox_by_status ON webhook_inbox(status, received_at);
