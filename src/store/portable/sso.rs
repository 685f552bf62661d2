use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::store::{
    NewSsoConnection, PendingSsoLogin, Result, SsoConnectionRecord, SsoOffer, SsoProvision, StoreError,
    is_unique_violation, new_id,
};

portable_queries! {
    /// Sets the scope's provider and the email domains that lead to it. The
    /// connection keeps its id, and so the people linked to it, while the issuer
    /// stays the same: a new client secret must not orphan every user. A new
    /// issuer's subjects name other people, so it starts afresh. A domain another
    /// connection holds is a conflict (the table's key decides a race).
    pub async fn put_sso_connection(&self, connection: &NewSsoConnection) -> Result<Uuid> {
        let mut transaction = self.pool.begin().await?;
        let kept: Option<Uuid> = sqlx::query_scalar(
            "UPDATE sso_connections SET client_id = $3, client_secret_sealed = $4, default_role = $5
             WHERE scope = $1 AND issuer = $2 RETURNING id",
        )
        .bind(&connection.scope)
        .bind(&connection.issuer)
        .bind(&connection.client_id)
        .bind(&connection.client_secret_sealed)
        .bind(&connection.default_role)
        .fetch_optional(&mut *transaction)
        .await?;
        let connection_id = match kept {
            Some(connection_id) => connection_id,
            None => {
                let connection_id = new_id();
                sqlx::query("DELETE FROM sso_connections WHERE scope = $1").bind(&connection.scope).execute(&mut *transaction).await?;
                sqlx::query(
                    "INSERT INTO sso_connections (id, scope, account_id, issuer, client_id, client_secret_sealed, default_role, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(connection_id)
                .bind(&connection.scope)
                .bind(connection.account_id)
                .bind(&connection.issuer)
                .bind(&connection.client_id)
                .bind(&connection.client_secret_sealed)
                .bind(&connection.default_role)
                .bind(connection.created_at)
                .execute(&mut *transaction)
                .await?;
                connection_id
            }
        };
        sqlx::query("DELETE FROM sso_email_domains WHERE connection_id = $1").bind(connection_id).execute(&mut *transaction).await?;
        for domain in &connection.email_domains {
            sqlx::query("INSERT INTO sso_email_domains (domain, connection_id) VALUES ($1, $2)")
                .bind(domain)
                .bind(connection_id)
                .execute(&mut *transaction)
                .await
                .map_err(|error| {
                    if is_unique_violation(&error) {
                        StoreError::Conflict("an email domain belongs to another sign-in connection")
                    } else {
                        error.into()
                    }
                })?;
        }
        transaction.commit().await?;
        Ok(connection_id)
    }

    /// The scope's provider, if it has one, with its email domains.
    pub async fn sso_connection_of_scope(&self, scope: &str) -> Result<Option<(SsoConnectionRecord, Vec<String>)>> {
        let connection: Option<SsoConnectionRecord> = sqlx::query_as(
            "SELECT id, account_id, issuer, client_id, client_secret_sealed, default_role FROM sso_connections WHERE scope = $1",
        )
        .bind(scope)
        .fetch_optional(&self.pool)
        .await?;
        let Some(connection) = connection else { return Ok(None) };
        let domains = sqlx::query_scalar("SELECT domain FROM sso_email_domains WHERE connection_id = $1 ORDER BY domain")
            .bind(connection.id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some((connection, domains)))
    }

    /// Removes the scope's provider: its people keep their accounts but sign in
    /// otherwise from now on. Whether there was one.
    pub async fn delete_sso_connection(&self, scope: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM sso_connections WHERE scope = $1").bind(scope).execute(&self.pool).await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Which of `domains` a connection of another scope holds.
    pub async fn sso_domains_held_elsewhere(&self, scope: &str, domains: &[String]) -> Result<Vec<String>> {
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "SELECT d.domain FROM sso_email_domains d JOIN sso_connections c ON c.id = d.connection_id WHERE c.scope <> ",
        );
        query.push_bind(scope).push(" AND d.domain IN (");
        let mut list = query.separated(", ");
        for domain in domains {
            list.push_bind(domain);
        }
        query.push(") ORDER BY d.domain");
        Ok(query.build_query_scalar().fetch_all(&self.pool).await?)
    }

    /// The provider an address at `domain` is offered on the sign-in page: a
    /// connection holding the domain, of an active account or of the staff.
    pub async fn sso_offer_for_domain(&self, domain: &str) -> Result<Option<SsoOffer>> {
        let offer = sqlx::query_as(
            "SELECT c.id AS connection_id, a.name AS account_name
               FROM sso_email_domains d
               JOIN sso_connections c ON c.id = d.connection_id
               LEFT JOIN accounts a ON a.id = c.account_id
              WHERE d.domain = $1 AND (c.account_id IS NULL OR a.status = 'active')",
        )
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?;
        Ok(offer)
    }

    pub async fn sso_connection(&self, connection_id: Uuid) -> Result<Option<SsoConnectionRecord>> {
        let connection = sqlx::query_as(
            "SELECT id, account_id, issuer, client_id, client_secret_sealed, default_role FROM sso_connections WHERE id = $1",
        )
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(connection)
    }

    pub async fn create_sso_login(&self, state_hash: &[u8], connection_id: Uuid, code_verifier_sealed: &[u8], nonce: &str, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sso_logins (state_hash, connection_id, code_verifier_sealed, nonce, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(connection_id)
        .bind(code_verifier_sealed)
        .bind(nonce)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The sign-in a callback's state belongs to, used up (a state works once).
    /// One statement: on SQLite a read-then-write transaction can fail at once with
    /// "database is locked" when another writer commits in between.
    pub async fn take_sso_login(&self, state_hash: &[u8], now: DateTime<Utc>) -> Result<Option<PendingSsoLogin>> {
        let pending = sqlx::query_as(
            "DELETE FROM sso_logins WHERE state_hash = $1 AND expires_at > $2
             RETURNING connection_id, code_verifier_sealed, nonce",
        )
        .bind(state_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(pending)
    }

    pub async fn user_for_identity(&self, connection_id: Uuid, subject: &str) -> Result<Option<Uuid>> {
        let user: Option<(Uuid,)> = sqlx::query_as("SELECT user_id FROM user_identities WHERE connection_id = $1 AND subject = $2")
            .bind(connection_id)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        Ok(user.map(|(user_id,)| user_id))
    }

    /// Creates a user just in time for a first SSO sign-in, with the
    /// connection's role, all or nothing. An address already in use is a conflict:
    /// accounts are never merged on an identity provider's word alone.
    pub async fn provision_sso_user(&self, provision: &SsoProvision) -> Result<Uuid> {
        let user_id = new_id();
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, display_name, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $4)",
        )
        .bind(user_id)
        .bind(&provision.email)
        .bind(&provision.display_name)
        .bind(provision.now)
        .execute(&mut *transaction)
        .await
        .map_err(|error| if is_unique_violation(&error) { StoreError::Conflict("a user with this email already exists") } else { error.into() })?;
        sqlx::query("INSERT INTO user_identities (connection_id, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(provision.connection_id)
            .bind(&provision.subject)
            .bind(user_id)
            .bind(provision.now)
            .execute(&mut *transaction)
            .await?;
        match provision.account_id {
            Some(account_id) => {
                sqlx::query("INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(account_id)
                    .bind(user_id)
                    .bind(&provision.role)
                    .bind(provision.now)
                    .execute(&mut *transaction)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO staff_roles (user_id, role, granted_at) VALUES ($1, $2, $3)")
                    .bind(user_id)
                    .bind(&provision.role)
                    .bind(provision.now)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        transaction.commit().await?;
        Ok(user_id)
    }
}
