//! A JSON body extractor whose rejections are problem+json with a useful detail
//! (axum's own answer is plain text), and which holds every body to the one
//! rule for text ([`crate::core::text`]): a control character other than tab
//! and newline, anywhere in it, is a 422 naming the field.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::core::text;
use crate::server::problem::{ApiError, ErrorCode, FieldError};

pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(json_rejection(JsonRejection::MissingJsonContentType(Default::default())));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| json_rejection(JsonRejection::BytesRejection(rejection)))?;
        refuse_control_characters(&bytes)?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `application/json` or any `+json` type, as axum's own extractor accepts.
fn is_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    kind == "application" && (subtype == "json" || subtype.ends_with("+json"))
}

/// 422 naming the first field whose text holds a refused control character.
/// A body that is not valid JSON is left to the deserializer to describe.
fn refuse_control_characters(body: &[u8]) -> Result<(), ApiError> {
    if !text::json_may_hold_control_characters(body) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return Ok(()) };
    match text::first_control_character(&value) {
        None => Ok(()),
        Some(pointer) => Err(ApiError::validation(vec![FieldError {
            field: pointer,
            message: "must not contain control characters (only tab and newline are allowed)".into(),
        }])),
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
