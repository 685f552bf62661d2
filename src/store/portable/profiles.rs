//! A user's own profile: name, locale, time zone, notification preferences.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRow {
    pub email: String,
    pub display_name: String,
    pub locale: String,
    pub time_zone: String,
    pub notification_preferences: Json<serde_json::Value>,
}

/// Who a user is, in a few words (for logs that name people).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserLabel {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
}

portable_queries! {
    /// The users of `ids` that exist, named.
    pub async fn user_labels(&self, ids: &[Uuid]) -> Result<Vec<UserLabel>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new("SELECT id, email, display_name FROM users WHERE id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The user signing in with `email` (case aside).
    pub async fn user_id_by_email(&self, email: &str) -> Result<Option<Uuid>> {
        let row: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM users WHERE LOWER(email) = LOWER($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn user_profile(&self, user_id: Uuid) -> Result<Option<ProfileRow>> {
        Ok(sqlx::query_as(
            "SELECT email, display_name, locale, time_zone, notification_preferences FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Only the notification preferences (what a mail's unsubscribe link changes).
    pub async fn set_notification_preferences(&self, user_id: Uuid, preferences: &serde_json::Value) -> Result<()> {
        sqlx::query("UPDATE users SET notification_preferences = $2 WHERE id = $1")
            .bind(user_id)
            .bind(Json(preferences))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn update_profile(&self, user_id: Uuid, profile: &ProfileRow, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE users SET display_name = $2, locale = $3, time_zone = $4, notification_preferences = $5, updated_at = $6
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(&profile.display_name)
        .bind(&profile.locale)
        .bind(&profile.time_zone)
        .bind(&profile.notification_preferences)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

portable_queries! {
    /// When the person dismissed the first-visit greeting, if they have.
    pub async fn welcomed_at(&self, user_id: Uuid) -> Result<Option<DateTime<Utc>>> {
        let welcomed: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as("SELECT welcomed_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(welcomed.and_then(|(at,)| at))
    }

    pub async fn mark_welcomed(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET welcomed_at = COALESCE(welcomed_at, $1) WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
