-- Portico's first schema (PostgreSQL 15+).
-- Ids are UUIDv7 made by the service; times are UTC;
-- money is in minor units with its ISO 4217 currency. Every customer-owned row carries
-- account_id, so tenant filters are a plain column predicate on every table.

-- Tenancy and identity -------------------------------------------------------

CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    -- Members must have multi-factor sign-in on to reach this account.
    require_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    -- Lower-cased at write time so uniqueness ignores case.
    email TEXT NOT NULL UNIQUE,
    -- Set once the user proved they read mail at this address.
    email_verified_at TIMESTAMPTZ,
    display_name TEXT NOT NULL DEFAULT '',
    -- PHC string (argon2id); NULL until an invitation is accepted or for SSO-only users.
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'erased')),
    locale TEXT NOT NULL DEFAULT 'en',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    -- TOTP secret sealed under the master key; MFA is on once mfa_enabled_at is set
    -- (a secret without it is an enrollment awaiting its first code).
    mfa_secret_sealed BYTEA,
    mfa_enabled_at TIMESTAMPTZ,
    -- The last TOTP time step accepted: a code is never accepted twice.
    mfa_last_step BIGINT,
    last_login_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- One-time recovery codes for users with MFA, stored as SHA-256.
CREATE TABLE mfa_recovery_codes (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- Staff of the business running Portico; a user has at most one staff role.
CREATE TABLE staff_roles (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'support', 'auditor')),
    granted_at TIMESTAMPTZ NOT NULL
);

-- Account-defined roles: a named set of permissions inside one account.
CREATE TABLE custom_roles (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    permissions JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE memberships (
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- A built-in role name, or 'custom' with custom_role_id set.
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer', 'partner', 'custom')),
    custom_role_id UUID REFERENCES custom_roles(id),
    -- For partners: the record types they may see, e.g. ["documents","tickets"].
    record_types JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, user_id),
    CHECK ((role = 'custom') = (custom_role_id IS NOT NULL))
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    -- SHA-256 of the cookie token; the token itself is never stored.
    token_hash BYTEA NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Set for sessions begun through an account's identity provider: that provider
    -- vouches for its own account only, so the session reaches no other.
    scoped_account_id UUID REFERENCES accounts(id) ON DELETE CASCADE,
    user_agent TEXT,
    ip_address TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Single-use links mailed to a user (password reset, email verification and change),
-- stored as SHA-256.
CREATE TABLE user_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification', 'email_change')),
    -- For an email change: the address to switch to once the link is opened.
    new_email TEXT,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX user_tokens_by_user ON user_tokens(user_id, purpose);

-- Single sign-on through OpenID Connect: one provider per customer account, and one
-- for staff (scope 'staff'); new users arrive just in time with `default_role`.
CREATE TABLE sso_connections (
    id UUID PRIMARY KEY,
    -- An account id, or 'staff'.
    scope TEXT NOT NULL UNIQUE,
    account_id UUID REFERENCES accounts(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_sealed BYTEA NOT NULL,
    default_role TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Sign-ins under way: the state parameter (hashed), PKCE verifier (sealed), nonce.
CREATE TABLE sso_logins (
    state_hash BYTEA PRIMARY KEY,
    connection_id UUID NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    code_verifier_sealed BYTEA NOT NULL,
    nonce TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Which provider account is which user.
CREATE TABLE user_identities (
    connection_id UUID NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, subject)
);

-- Recent failed sign-ins, for throttling per email and per source address.
CREATE TABLE login_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures(email, failed_at);
CREATE INDEX login_failures_by_address ON login_failures(ip_address, failed_at);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Scoped to one account, or (account_id NULL) to the creator's staff rights.
    account_id UUID REFERENCES accounts(id) ON DELETE CASCADE,
    created_by UUID NOT NULL REFERENCES users(id),
    scopes JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE invitations (
    id UUID PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    email TEXT NOT NULL,
    -- NULL for a staff invitation.
    account_id UUID REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    invited_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX invitations_by_account ON invitations(account_id, created_at);

-- Connectors and sync -----------------------------------------------------------

CREATE TABLE connector_instances (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    settings JSONB NOT NULL,
    -- Credentials sealed under the master key; never returned by the API.
    credentials_sealed BYTEA,
    schedule_interval_secs INTEGER,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'degraded')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    state JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sync_runs (
    id UUID PRIMARY KEY,
    connector_instance_id UUID NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'held', 'cancelled')),
    records_seen BIGINT NOT NULL DEFAULT 0,
    records_changed BIGINT NOT NULL DEFAULT 0,
    records_deleted BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX sync_runs_by_instance ON sync_runs(connector_instance_id, stream, started_at);

CREATE TABLE sync_cursors (
    connector_instance_id UUID NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    cursor JSONB,
    last_success_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connector_instance_id, stream)
);

-- Cached records (the common model) --------------------------------------------
-- Each row: where it came from (source instance + external id, unique together),
-- whose it is (account_id; NULL while parked for lack of an account mapping), the
-- upstream payload, and a content hash so unchanged records are not rewritten.
CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company TEXT,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX contacts_keyset ON contacts(account_id, updated_at, id);
CREATE TABLE invoices (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL DEFAULT 0,
    total_minor BIGINT NOT NULL,
    amount_paid_minor BIGINT NOT NULL DEFAULT 0,
    amount_due_minor BIGINT NOT NULL,
    issued_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    paid_at TIMESTAMPTZ,
    pdf_url TEXT,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX invoices_keyset ON invoices(account_id, updated_at, id);
CREATE TABLE payments (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    invoice_id UUID REFERENCES invoices(id),
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    method TEXT,
    paid_at TIMESTAMPTZ,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX payments_keyset ON payments(account_id, updated_at, id);
CREATE TABLE documents (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    folder TEXT NOT NULL DEFAULT '',
    tags JSONB NOT NULL DEFAULT '[]',
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    checksum_sha256 TEXT,
    storage_key TEXT NOT NULL,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX documents_keyset ON documents(account_id, updated_at, id);
CREATE TABLE tickets (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT,
    opened_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX tickets_keyset ON tickets(account_id, updated_at, id);
CREATE TABLE ticket_messages (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    ticket_id UUID NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'system')),
    body TEXT NOT NULL,
    posted_at TIMESTAMPTZ NOT NULL,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX ticket_messages_keyset ON ticket_messages(account_id, updated_at, id);
CREATE TABLE orders (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'project')),
    reference TEXT,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    status_changed_at TIMESTAMPTZ,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX orders_keyset ON orders(account_id, updated_at, id);
CREATE TABLE tasks (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    source_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    external_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'cancelled')),
    assignee TEXT,
    due_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    synced_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (source_instance_id, external_id)
);
CREATE INDEX tasks_keyset ON tasks(account_id, updated_at, id);
CREATE INDEX payments_by_invoice ON payments(invoice_id);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages(ticket_id, posted_at);

-- Invoice lines belong to their invoice and are replaced with it.
CREATE TABLE invoice_line_items (
    invoice_id UUID NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account_id UUID REFERENCES accounts(id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    unit_amount_minor BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE order_status_history (
    id UUID PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    account_id UUID REFERENCES accounts(id),
    status TEXT NOT NULL,
    note TEXT,
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_status_history_by_order ON order_status_history(order_id, changed_at);

-- Previous versions of cached records, for "what changed on this invoice, and when".
CREATE TABLE record_versions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_id UUID NOT NULL,
    account_id UUID REFERENCES accounts(id),
    raw JSONB NOT NULL,
    content_hash TEXT NOT NULL,
    superseded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX record_versions_by_record ON record_versions(record_type, record_id, superseded_at);

-- Webhooks, outbox, notifications, audit -----------------------------------------

CREATE TABLE webhook_endpoints (
    id UUID PRIMARY KEY,
    connector_instance_id UUID NOT NULL REFERENCES connector_instances(id) ON DELETE CASCADE,
    scheme TEXT NOT NULL,
    -- Signing secrets sealed under the master key (a list, for rotation).
    secrets_sealed BYTEA NOT NULL,
    settings JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

-- Every delivery is committed here before it is acknowledged.
CREATE TABLE webhook_inbox (
    id UUID PRIMARY KEY,
    endpoint_id UUID NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- The sender's delivery id (webhook-id, Stripe event id, X-GitHub-Delivery, ...).
    delivery_id TEXT NOT NULL,
    headers JSONB NOT NULL,
    body BYTEA NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('verified', 'processed', 'rejected', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    UNIQUE (endpoint_id, delivery_id)
);
CREATE INDEX webhook_inbox_by_status ON webhook_inbox(status, received_at);

-- Writes to upstream systems, recorded in the same transaction as the local change.
CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    account_id UUID REFERENCES accounts(id),
    connector_instance_id UUID NOT NULL REFERENCES connector_instances(id),
    operation TEXT NOT NULL,
    payload JSONB NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    link TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX notifications_by_user ON notifications(user_id, created_at);

-- Append-only; each row's hash covers the previous row's, so edits are detectable.
CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_user_id UUID REFERENCES users(id),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'staff', 'api_token', 'system')),
    account_id UUID REFERENCES accounts(id),
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    ip_address TEXT,
    user_agent TEXT,
    details JSONB NOT NULL DEFAULT '{}',
    prev_hash BYTEA,
    hash BYTEA NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events(account_id, occurred_at);

-- Operations ---------------------------------------------------------------------

-- `portico admin probe-queue` enqueues a probe job; each execution of it is a run.
-- Shows that workers pick jobs up, and that a job never runs twice at once.
CREATE TABLE queue_probes (
    id UUID PRIMARY KEY,
    hold_ms BIGINT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE queue_probe_runs (
    id UUID PRIMARY KEY,
    probe_id UUID NOT NULL REFERENCES queue_probes(id) ON DELETE CASCADE,
    worker TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    -- NULL while running, or forever if the run was cut off by a crash.
    outcome TEXT CHECK (outcome IN ('succeeded', 'failed'))
);
CREATE INDEX queue_probe_runs_by_probe ON queue_probe_runs(probe_id);
