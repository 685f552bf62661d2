use chrono::Utc;
use uuid::Uuid;

use crate::store::{NewStaffUser, Result, StoreError, is_unique_violation, new_id};

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

    pub async fn count_staff_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff_roles").fetch_one(&self.pool).await?;
        Ok(count)
    }
}
