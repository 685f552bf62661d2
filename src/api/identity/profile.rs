//! `GET`/`PATCH /api/v1/me/profile`: the signed-in user's name, locale, time zone
//! and notification preferences. (The email address changes through its own
//! confirmed flow, the password with a recent sign-in: not here.)

use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::auth::Caller;
use crate::notifications::Preferences;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, FieldError};
use crate::store::{ProfileRow, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(profile, update_profile))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub email: String,
    pub display_name: String,
    /// A BCP 47 language tag (`en`, `de-CH`).
    pub locale: String,
    /// An IANA time zone name (`Europe/Zurich`) or `UTC`.
    pub time_zone: String,
    pub notification_preferences: Preferences,
}

/// Fields to change; those left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    /// 1 to 100 characters.
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub notification_preferences: Option<Preferences>,
}

pub fn profile_of(row: ProfileRow) -> Profile {
    Profile {
        email: row.email,
        display_name: row.display_name,
        locale: row.locale,
        time_zone: row.time_zone,
        // Stored preferences that no longer parse fall back to the defaults.
        notification_preferences: serde_json::from_value(row.notification_preferences.0).unwrap_or_default(),
    }
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/v1/me/profile", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn profile(State(state): State<AppState>, caller: Caller) -> Result<Json<Profile>, ApiError> {
    let row = state.store.user_profile(caller.user_id).await?.ok_or(StoreError::NotFound)?;
    Ok(Json(profile_of(row)))
}

/// Changes the signed-in user's name, locale, time zone or notification preferences.
#[utoipa::path(patch, path = "/api/v1/me/profile", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    request_body = ProfileChange,
    responses(
        (status = 200, description = "The profile as changed", body = Profile),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name, locale or time zone that is not one", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Json(change): Json<ProfileChange>,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(change_profile(&state, &caller, change).await?))
}

/// The profile change behind the API and the profile page.
pub async fn change_profile(state: &AppState, caller: &Caller, change: ProfileChange) -> Result<Profile, ApiError> {
    let mut row = state.store.user_profile(caller.user_id).await?.ok_or(StoreError::NotFound)?;
    let mut errors = Vec::new();
    let mut invalid = |field: &str, message: &str| {
        errors.push(FieldError { field: field.into(), message: message.into() });
    };
    if let Some(name) = change.display_name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            invalid("display_name", "must be 1 to 100 characters, without control characters");
        }
        row.display_name = name;
    }
    if let Some(locale) = change.locale {
        if !is_language_tag(&locale) {
            invalid("locale", "must be a language tag such as en or de-CH");
        }
        row.locale = locale;
    }
    if let Some(time_zone) = change.time_zone {
        if !is_time_zone_name(&time_zone) {
            invalid("time_zone", "must be a time zone name such as Europe/Zurich, or UTC");
        }
        row.time_zone = time_zone;
    }
    if let Some(preferences) = change.notification_preferences {
        row.notification_preferences =
            sqlx::types::Json(serde_json::to_value(preferences).map_err(ApiError::internal)?);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    state.store.update_profile(caller.user_id, &row, Utc::now()).await?;
    audit::record(&state.store, caller.audit_event("profile.updated").target("user", caller.user_id)).await?;
    Ok(profile_of(row))
}

/// A BCP 47 tag's shape: a 2–3 letter language, then 1–8 character subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|part| (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// An IANA zone name's shape (`Area/Location[/Sub]`), or `UTC`. The name is not
/// checked against the zone database: a client shows what it knows.
fn is_time_zone_name(name: &str) -> bool {
    if name == "UTC" {
        return true;
    }
    let parts: Vec<&str> = name.split('/').collect();
    name.len() <= 64
        && (2..=3).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
        && parts[0].chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_and_zone_names_are_checked_for_shape() {
        for good in ["en", "de-CH", "zh-Hant-TW", "gsw"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "e", "english", "en_US", "en--x", "de-<script>"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        for good in ["UTC", "Europe/Zurich", "America/Argentina/Buenos_Aires", "Etc/GMT+5"] {
            assert!(is_time_zone_name(good), "{good}");
        }
        for bad in ["", "utc", "Zurich", "Europe/", "Europe/Zur ich", "../../etc/passwd"] {
            assert!(!is_time_zone_name(bad), "{bad}");
        }
    }
}
