use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{
    AcceptedInvitation, InvitationSummary, NewInvitation, Result, StoreError, is_unique_violation, new_id,
};

portable_queries! {
    pub async fn create_invitation(&self, invitation: &NewInvitation) -> Result<Uuid> {
        let invitation_id = new_id();
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, email, account_id, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invitation_id)
        .bind(&invitation.token_hash)
        .bind(invitation.email.to_lowercase())
        .bind(invitation.account_id)
        .bind(&invitation.role)
        .bind(invitation.invited_by)
        .bind(invitation.created_at)
        .bind(invitation.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(invitation_id)
    }

    /// Redeems an invitation once: creates the user and the membership, and marks
    /// the invitation used, all or nothing. An unknown, used, revoked or expired
    /// token is `NotFound`, indistinguishably.
    pub async fn accept_invitation(&self, token_hash: &[u8], now: DateTime<Utc>, password_hash: &str, display_name: &str) -> Result<AcceptedInvitation> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $1
             WHERE token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let (invitation_id, email, account_id, role): (Uuid, String, Option<Uuid>, String) =
            sqlx::query_as("SELECT id, email, account_id, role FROM invitations WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(&mut *transaction)
                .await?;
        let user_id = new_id();
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, email_verified_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5, $5)",
        )
        .bind(user_id)
        .bind(&email)
        .bind(display_name)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(|error| if is_unique_violation(&error) { StoreError::Conflict("a user with this email already exists") } else { error.into() })?;
        match account_id {
            Some(account_id) => {
                sqlx::query("INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(account_id)
                    .bind(user_id)
                    .bind(&role)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO staff_roles (user_id, role, granted_at) VALUES ($1, $2, $3)")
                    .bind(user_id)
                    .bind(&role)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        transaction.commit().await?;
        Ok(AcceptedInvitation { invitation_id, user_id, email, account_id, role })
    }

    /// The account's invitations not yet accepted or revoked, newest first.
    pub(in crate::store) async fn pending_invitations(&self, account_id: Uuid, now: DateTime<Utc>) -> Result<Vec<InvitationSummary>> {
        let invitations = sqlx::query_as(
            "SELECT id AS invitation_id, email, role, invited_by, created_at, expires_at FROM invitations
             WHERE account_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC",
        )
        .bind(account_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(invitations)
    }

    /// One of the account's invitations not yet accepted or revoked.
    pub(in crate::store) async fn pending_invitation(&self, account_id: Uuid, invitation_id: Uuid) -> Result<Option<InvitationSummary>> {
        Ok(sqlx::query_as(
            "SELECT id AS invitation_id, email, role, invited_by, created_at, expires_at FROM invitations
             WHERE id = $1 AND account_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(invitation_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(in crate::store) async fn revoke_invitation(&self, account_id: Uuid, invitation_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(invitation_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives a pending invitation a new token and expiry; the old link stops working.
    pub(in crate::store) async fn reissue_invitation(&self, account_id: Uuid, invitation_id: Uuid, token_hash: &[u8], expires_at: DateTime<Utc>) -> Result<Option<InvitationSummary>> {
        let result = sqlx::query(
            "UPDATE invitations SET token_hash = $1, expires_at = $2
             WHERE id = $3 AND account_id = $4 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(expires_at)
        .bind(invitation_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() != 1 {
            return Ok(None);
        }
        let invitation = sqlx::query_as(
            "SELECT id AS invitation_id, email, role, invited_by, created_at, expires_at FROM invitations WHERE id = $1",
        )
        .bind(invitation_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(invitation))
    }

    /// Redeems an invitation for a user who already exists (signed in as the
    /// invited address): adds the membership or staff role only.
    pub async fn accept_invitation_as(&self, token_hash: &[u8], user_id: Uuid, user_email: &str, now: DateTime<Utc>) -> Result<AcceptedInvitation> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $1
             WHERE token_hash = $2 AND email = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .bind(user_email)
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let (invitation_id, email, account_id, role): (Uuid, String, Option<Uuid>, String) =
            sqlx::query_as("SELECT id, email, account_id, role FROM invitations WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(&mut *transaction)
                .await?;
        let inserted = match account_id {
            Some(account_id) => {
                sqlx::query("INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(account_id)
                    .bind(user_id)
                    .bind(&role)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await
            }
            None => {
                sqlx::query("INSERT INTO staff_roles (user_id, role, granted_at) VALUES ($1, $2, $3)")
                    .bind(user_id)
                    .bind(&role)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await
            }
        };
        inserted.map_err(|error| {
            if is_unique_violation(&error) { StoreError::Conflict("you already hold a role there") } else { error.into() }
        })?;
        transaction.commit().await?;
        Ok(AcceptedInvitation { invitation_id, user_id, email, account_id, role })
    }
}
