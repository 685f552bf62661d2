use chrono::Utc;
use uuid::Uuid;

use chrono::DateTime;

use crate::store::{NewStaffUser, Result, StoreError, is_unique_violation, new_id};

/// A member of the business's staff.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `admin`, `support` or `auditor`.
    pub role: String,
    pub granted_at: DateTime<Utc>,
}

/// What asking to change a staff role came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffRoleChange {
    Changed {
        previous: String,
    },
    NotStaff,
    /// Refused: no active staff admin would be left.
    LastAdmin,
}

portable_queries! {
    /// Creates a user with a staff role; the email is stored lower-cased.
    pub async fn create_staff_user(&self, new_user: &NewStaffUser) -> Result<Uuid> {
        let user_id = new_id();
        let now = Utc::now();
        let mut transaction = self.pool.begin().await?;
        sqlx::query("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(user_id)
            .bind(new_user.email.to_lowercase())
            .bind(&new_user.password_hash)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(|error| {
                if is_unique_violation(&error) { StoreError::Conflict("a user with this email already exists") } else { error.into() }
            })?;
        sqlx::query("INSERT INTO staff_roles (user_id, role, granted_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(new_user.role.as_str())
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(user_id)
    }

    /// The user's staff role, if they have one and are active.
    pub async fn staff_role_of(&self, user_id: Uuid) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT r.role FROM staff_roles r JOIN users u ON u.id = r.user_id WHERE r.user_id = $1 AND u.status = 'active'",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The business's staff, by address: (user, email, name, role, since).
    pub async fn staff_members(&self) -> Result<Vec<StaffMember>> {
        Ok(sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.display_name, r.role, r.granted_at
             FROM staff_roles r JOIN users u ON u.id = r.user_id WHERE u.status = 'active' ORDER BY u.email",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Gives a member of staff another role (`Some`) or takes their staff role
    /// away (`None`), unless that would leave no active staff admin; checked
    /// and written in one transaction.
    pub async fn change_staff_role(&self, user_id: Uuid, role: Option<&str>) -> Result<StaffRoleChange> {
        let mut transaction = self.begin_write().await?;
        let current: Option<String> = sqlx::query_scalar("SELECT role FROM staff_roles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(current) = current else { return Ok(StaffRoleChange::NotStaff) };
        if current == "admin" && role != Some("admin") {
            let (other_admins,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM staff_roles r JOIN users u ON u.id = r.user_id
                 WHERE r.role = 'admin' AND r.user_id <> $1 AND u.status = 'active'",
            )
            .bind(user_id)
            .fetch_one(&mut *transaction)
            .await?;
            if other_admins == 0 {
                return Ok(StaffRoleChange::LastAdmin);
            }
        }
        match role {
            Some(role) => {
                sqlx::query("UPDATE staff_roles SET role = $2, granted_at = $3 WHERE user_id = $1")
                    .bind(user_id)
                    .bind(role)
                    .bind(Utc::now())
                    .execute(&mut *transaction)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM staff_roles WHERE user_id = $1").bind(user_id).execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        Ok(StaffRoleChange::Changed { previous: current })
    }

    pub async fn count_staff_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff_roles").fetch_one(&self.pool).await?;
        Ok(count)
    }
}
