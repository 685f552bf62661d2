//! A JSON body extractor whose rejections are problem+json with a useful detail
//! (axum's own answer is plain text).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

use super::problem::{ApiError, ErrorCode};

pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonRejection::JsonSyntaxError(error) => ApiError::new(ErrorCode::MalformedJson, error.body_text()),
        JsonRejection::JsonDataError(error) => ApiError::new(ErrorCode::ValidationFailed, error.body_text()),
        JsonRejection::BytesRejection(error) if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::from_code(ErrorCode::PayloadTooLarge)
        }
        other => ApiError::new(ErrorCode::for_status(other.status()), other.body_text()),
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// For PATCH fields that can be cleared: absent → `None` (unchanged), `null` →
/// `Some(None)` (cleared), a value → `Some(Some(value))`. Use with `#[serde(default)]`.
pub fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
