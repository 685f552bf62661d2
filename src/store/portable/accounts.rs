use chrono::Utc;
use uuid::Uuid;

use crate::store::{Account, MemberRecord, Result, StoreError, is_unique_violation, new_id};

portable_queries! {
    pub async fn create_account(&self, name: &str, slug: &str) -> Result<Account> {
        let account = Account {
            id: new_id(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            status: "active".into(),
            require_mfa: false,
            email_codes: "allowed".into(),
            created_at: Utc::now(),
        };
        sqlx::query("INSERT INTO accounts (id, name, slug, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(account.id)
            .bind(&account.name)
            .bind(&account.slug)
            .bind(&account.status)
            .bind(account.created_at)
            .execute(&self.pool)
            .await
            .map_err(|error| if is_unique_violation(&error) { StoreError::Conflict("an account with this slug already exists") } else { error.into() })?;
        Ok(account)
    }

    /// Every account, for staff, in creation order after `after` (keyset); with
    /// `search`, those whose name or slug contains it (case aside).
    pub(in crate::store) async fn list_accounts(&self, after: Option<Uuid>, search: Option<&str>, limit: i64) -> Result<Vec<Account>> {
        let pattern = search.map(|text| {
            let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let accounts = sqlx::query_as(
            "SELECT id, name, slug, status, require_mfa, email_codes, created_at FROM accounts
             WHERE ($1 IS NULL OR id > $1)
               AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\' OR slug LIKE $3 ESCAPE '\\')
             ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        Ok(accounts)
    }

    pub async fn account(&self, account_id: Uuid) -> Result<Option<Account>> {
        let account = sqlx::query_as("SELECT id, name, slug, status, require_mfa, email_codes, created_at FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(account)
    }

    pub(in crate::store) async fn set_account_require_mfa(&self, account_id: Uuid, require_mfa: bool) -> Result<()> {
        sqlx::query("UPDATE accounts SET require_mfa = $1, updated_at = $2 WHERE id = $3")
            .bind(require_mfa)
            .bind(Utc::now())
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The caller's role in one account, if a member.
    pub async fn membership_role(&self, account_id: Uuid, user_id: Uuid) -> Result<Option<String>> {
        let role: Option<(String,)> = sqlx::query_as("SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(role.map(|(role,)| role))
    }

    /// The members of one account. Only reachable through an account scope.
    pub(in crate::store) async fn account_members(&self, account_id: Uuid) -> Result<Vec<MemberRecord>> {
        let members = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.display_name, m.role, m.created_at AS joined_at
             FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.account_id = $1 ORDER BY u.email",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(members)
    }

    /// Changes a member's role, refusing to leave the account without an owner.
    /// Runs under the account's write lock so two demotions cannot both pass.
    pub(in crate::store) async fn set_member_role(&self, account_id: Uuid, user_id: Uuid, role: &str, custom_role_id: Option<Uuid>, record_types: Option<&[String]>) -> Result<MemberChange> {
        let mut transaction = self.begin_account_write(account_id).await?;
        let Some(current) = role_in(&mut transaction, account_id, user_id).await? else {
            return Ok(MemberChange::NoSuchMember);
        };
        if current == "owner" && role != "owner" && owners_in(&mut transaction, account_id).await? <= 1 {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(
            "UPDATE memberships SET role = $1, custom_role_id = $2, record_types = $3 WHERE account_id = $4 AND user_id = $5",
        )
            .bind(role)
            .bind(custom_role_id)
            .bind(record_types.map(sqlx::types::Json))
            .bind(account_id)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(MemberChange::Done { previous_role: current })
    }

    /// Removes a member, refusing to remove the last owner.
    pub(in crate::store) async fn remove_member(&self, account_id: Uuid, user_id: Uuid) -> Result<MemberChange> {
        let mut transaction = self.begin_account_write(account_id).await?;
        let Some(current) = role_in(&mut transaction, account_id, user_id).await? else {
            return Ok(MemberChange::NoSuchMember);
        };
        if current == "owner" && owners_in(&mut transaction, account_id).await? <= 1 {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query("DELETE FROM memberships WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        // What they asked for while a member leaves with them.
        sqlx::query(
            "UPDATE data_exports SET status = 'failed', error = 'the person who asked left the account',
                 finished_at = $3, expires_at = $3
             WHERE account_id = $1 AND requested_by = $2 AND status IN ('queued', 'building', 'ready')",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(chrono::Utc::now())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(MemberChange::Done { previous_role: current })
    }
}

/// The member's stored role name, read inside the caller's transaction.
async fn role_in<DB>(
    transaction: &mut crate::store::WriteTransaction<DB>,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<Option<String>>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let role: Option<(String,)> = sqlx::query_as("SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&mut **transaction)
        .await?;
    Ok(role.map(|(role,)| role))
}

async fn owners_in<DB>(transaction: &mut crate::store::WriteTransaction<DB>, account_id: Uuid) -> Result<i64>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let (owners,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND role = 'owner'")
        .bind(account_id)
        .fetch_one(&mut **transaction)
        .await?;
    Ok(owners)
}

/// The outcome of changing or removing a membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Done {
        previous_role: String,
    },
    NoSuchMember,
    /// Refused: the account would be left without an owner.
    LastOwner,
}
