-- Email domains whose people sign in through a connection's identity provider:
-- the sign-in page offers that provider to an address at the domain. A domain
-- belongs to one connection at most (first come), and goes with it.
CREATE TABLE sso_email_domains (
    domain TEXT PRIMARY KEY,
    connection_id BLOB NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE
);
CREATE INDEX sso_email_domains_by_connection ON sso_email_domains(connection_id);
