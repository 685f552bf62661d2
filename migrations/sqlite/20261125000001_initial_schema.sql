-- Portico's first schema (SQLite).
-- Ids are UUIDv7 made by the service, stored as 16-byte blobs; times are UTC RFC 3339 text;
-- money is in minor units with its ISO 4217 currency. Every customer-owned row carries
-- account_id, so tenant filters are a plain column predicate on every table.

-- Tenancy and identity -------------------------------------------------------

CREATE TABLE accounts (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    -- Members must have multi-factor sign-in on to reach this account.
    require_mfa INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    -- Lower-cased at write time so uniqueness ignores case.
    email TEXT NOT NULL UNIQUE,
    -- Set once the user proved they read mail at this address.
    email_verified_at TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    -- PHC string (argon2id); NULL until an invitation is accepted or for SSO-only users.
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'erased')),
    locale TEXT NOT NULL DEFAULT 'en',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    -- TOTP secret sealed under the master key; MFA is on once mfa_enabled_at is set
    -- (a secret without it is an enrollment awaiting its first code).
    mfa_secret_sealed BLOB,
    mfa_enabled_at TEXT,
    -- The last TOTP time step accepted: a code is never accepted twice.
    mfa_last_step BIGINT,
    last_login_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One-time recovery codes for users with MFA, stored as SHA-256.
CREATE TABLE mfa_recovery_codes (
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- Staff of the business running Portico; a user has at most one staff role.
CREATE TABLE staff_roles (
    user_id BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'support', 'auditor')),
    granted_at TEXT NOT NULL
);

-- Account-defined roles: a named set of permissions inside one account.
CREATE TABLE custom_roles (
    id BLOB PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL CHECK (json_valid(permissions)),
    created_at TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE memberships (
    account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- A built-in role name, or 'custom' with custom_role_id set.
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer', 'partner', 'custom')),
    custom_role_id BLOB REFERENCES custom_roles(id),
    -- For partners: the record types they may see, e.g. ["documents","tickets"].
    record_types TEXT CHECK (json_valid(record_types)),
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id),
    CHECK ((role = 'custom') = (custom_role_id IS NOT NULL))
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    -- SHA-256 of the cookie token; the token itself is never stored.
    token_hash BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Set for sessions begun through an account's identity provider: that provider
    -- vouches for its own account only, so the session reaches no other.
    scoped_account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    user_agent TEXT,
    ip_address TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Single-use links mailed to a user (password reset, email verification and change),
-- stored as SHA-256.
CREATE TABLE user_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification', 'email_change')),
    -- For an email change: the address to switch to once the link is opened.
    new_email TEXT,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX user_tokens_by_user ON user_tokens(user_id, purpose);

-- Single sign-on through OpenID Connect: one provider per customer account, and one
-- for staff (scope 'staff'); new users arrive just in time with `default_role`.
CREATE TABLE sso_connections (
    id BLOB PRIMARY KEY,
    -- An account id, or 'staff'.
    scope TEXT NOT NULL UNIQUE,
    account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_sealed BLOB NOT NULL,
    default_role TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Sign-ins under way: the state parameter (hashed), PKCE verifier (sealed), nonce.
CREATE TABLE sso_logins (
    state_hash BLOB PRIMARY KEY,
    connection_id BLOB NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    code_verifier_sealed BLOB NOT NULL,
    nonce TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Which provider account is which user.
CREATE TABLE user_identities (
    connection_id BLOB NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (connection_id, subject)
);

-- Recent failed sign-ins, for throttling per email and per source address.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures(email, failed_at);
CREATE INDEX login_failures_by_address ON login_failures(ip_address, failed_at);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Scoped to one account, or (account_id NULL) to the creator's staff rights.
    account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    created_by BLOB NOT NULL REFERENCES users(id),
    scopes TEXT NOT NULL CHECK (json_valid(scopes)),
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE invitations (
    id BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    email TEXT NOT NULL,
    -- NULL for a staff invitation.
    account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    invited_by BLOB NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at TEXT
);
CREATE INDEX invitations_by_account ON invitations(account_id, created_at);

-- Connectors and sync -----------------------------------------------------------

CREATE TABLE connector_instances (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL CHECK (json_valid(settings)),
    -- Credentials sealed under the master key; never returned by the API.
    credentials_sealed BLOB,
    schedule_interval_secs INTEGER,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'degraded')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE sync_runs (
    id BLOB PRIMARY KEY,
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'held', 'cancelled')),
    records_seen BIGINT NOT NULL DEFAULT 0,
    records_changed BIGINT NOT NULL DEFAULT 0,
    records_deleted BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX sync_runs_by_instance ON sync_runs(connector_instance_id, stream, started_at);

CREATE TABLE sync_cursors (
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    cursor TEXT CHECK (json_valid(cursor)),
    last_success_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connector_instance_id, stream)
);

-- Cached records (the common model) --------------------------------------------
-- Each row: where it came from (source instance + external id, unique together),
-- whose it is (account_id; NULL while parked for lack of an account mapping), the
-- upstream payload, and a content hash so unchanged records are not rewritten.
CREATE TABLE contacts (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX contacts_keyset ON contacts(account_id, updated_at, id);
CREATE TABLE invoices (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL DEFAULT 0,
    total_minor BIGINT NOT NULL,
    amount_paid_minor BIGINT NOT NULL DEFAULT 0,
    amount_due_minor BIGINT NOT NULL,
    issued_at TEXT,
    due_at TEXT,
    paid_at TEXT,
    pdf_url TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX invoices_keyset ON invoices(account_id, updated_at, id);
CREATE TABLE payments (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    invoice_id BLOB REFERENCES invoices(id),
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    method TEXT,
    paid_at TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX payments_keyset ON payments(account_id, updated_at, id);
CREATE TABLE documents (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    folder TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    checksum_sha256 TEXT,
    storage_key TEXT NOT NULL,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX documents_keyset ON documents(account_id, updated_at, id);
CREATE TABLE tickets (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT,
    opened_at TEXT,
    closed_at TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX tickets_keyset ON tickets(account_id, updated_at, id);
CREATE TABLE ticket_messages (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    ticket_id BLOB NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'system')),
    body TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX ticket_messages_keyset ON ticket_messages(account_id, updated_at, id);
CREATE TABLE orders (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'project')),
    reference TEXT,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    status_changed_at TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX orders_keyset ON orders(account_id, updated_at, id);
CREATE TABLE tasks (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    source_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'cancelled')),
    assignee TEXT,
    due_at TEXT,
    completed_at TEXT,
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    source_updated_at TEXT,
    synced_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX tasks_keyset ON tasks(account_id, updated_at, id);
CREATE INDEX payments_by_invoice ON payments(invoice_id);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages(ticket_id, posted_at);

-- Invoice lines belong to their invoice and are replaced with it.
CREATE TABLE invoice_line_items (
    invoice_id BLOB NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account_id BLOB REFERENCES accounts(id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    unit_amount_minor BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE order_status_history (
    id BLOB PRIMARY KEY,
    order_id BLOB NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    account_id BLOB REFERENCES accounts(id),
    status TEXT NOT NULL,
    note TEXT,
    changed_at TEXT NOT NULL
);
CREATE INDEX order_status_history_by_order ON order_status_history(order_id, changed_at);

-- Previous versions of cached records, for "what changed on this invoice, and when".
CREATE TABLE record_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_type TEXT NOT NULL,
    record_id BLOB NOT NULL,
    account_id BLOB REFERENCES accounts(id),
    raw TEXT NOT NULL CHECK (json_valid(raw)),
    content_hash TEXT NOT NULL,
    superseded_at TEXT NOT NULL
);
CREATE INDEX record_versions_by_record ON record_versions(record_type, record_id, superseded_at);

-- Webhooks, outbox, notifications, audit -----------------------------------------

CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY,
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    scheme TEXT NOT NULL,
    -- Signing secrets sealed under the master key (a list, for rotation).
    secrets_sealed BLOB NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

-- Every delivery is committed here before it is acknowledged.
CREATE TABLE webhook_inbox (
    id BLOB PRIMARY KEY,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- The sender's delivery id (webhook-id, Stripe event id, X-GitHub-Delivery, ...).
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

-- Writes to upstream systems, recorded in the same transaction as the local change.
CREATE TABLE outbox (
    id BLOB PRIMARY KEY,
    account_id BLOB REFERENCES accounts(id),
    connector_instance_id BLOB NOT NULL REFERENCES connector_instances(id),
    operation TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE notifications (
    id BLOB PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    link TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_by_user ON notifications(user_id, created_at);

-- Append-only; each row's hash covers the previous row's, so edits are detectable.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT NOT NULL,
    actor_user_id BLOB REFERENCES users(id),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'staff', 'api_token', 'system')),
    account_id BLOB REFERENCES accounts(id),
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    ip_address TEXT,
    user_agent TEXT,
    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    prev_hash BLOB,
    hash BLOB NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events(account_id, occurred_at);

-- Operations ---------------------------------------------------------------------

-- `portico admin probe-queue` enqueues a probe job; each execution of it is a run.
-- Shows that workers pick jobs up, and that a job never runs twice at once.
CREATE TABLE queue_probes (
    id BLOB PRIMARY KEY,
    hold_ms BIGINT NOT NULL,
    requested_at TEXT NOT NULL
);

CREATE TABLE queue_probe_runs (
    id BLOB PRIMARY KEY,
    probe_id BLOB NOT NULL REFERENCES queue_probes(id) ON DELETE CASCADE,
    worker TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    -- NULL while running, or forever if the run was cut off by a crash.
    outcome TEXT CHECK (outcome IN ('succeeded', 'failed'))
);
CREATE INDEX queue_probe_runs_by_probe ON queue_probe_runs(probe_id);
