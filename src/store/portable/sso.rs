use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{
    NewSsoConnection, PendingSsoLogin, Result, SsoConnectionRecord, SsoProvision, StoreError, is_unique_violation,
    new_id,
};

portable_queries! {
    /// Sets the scope's provider, replacing any earlier one.
    pub async fn put_sso_connection(&self, connection: &NewSsoConnection) -> Result<Uuid> {
        let connection_id = new_id();
        let mut transaction = self.pool.begin().await?;
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
        transaction.commit().await?;
        Ok(connection_id)
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
