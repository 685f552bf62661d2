//! A form body extractor (`application/x-www-form-urlencoded`, what an HTML form
//! posts) held to the same rule for text as JSON bodies ([`crate::core::text`]):
//! a control character other than tab and newline is a 422 naming the field.
//! Browsers send a textarea's line breaks as CRLF; they become LF first.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::core::text;
use crate::server::problem::{ApiError, ErrorCode, FieldError};

pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the form as application/x-www-form-urlencoded.",
            ));
        }
        let bytes =
            Bytes::from_request(request, state).await.map_err(|_| ApiError::from_code(ErrorCode::PayloadTooLarge))?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&bytes)
            .map(|(name, value)| (name.into_owned(), value.replace("\r\n", "\n")))
            .collect();
        if let Some((name, _)) =
            pairs.iter().find(|(name, value)| text::has_control_characters(name) || text::has_control_characters(value))
        {
            return Err(ApiError::validation(vec![FieldError {
                field: name.chars().filter(|c| text::is_allowed(*c)).collect(),
                message: "must not contain control characters".into(),
            }]));
        }
        let normalized = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        serde_urlencoded::from_str(&normalized).map(Form).map_err(|error| {
            ApiError::validation(vec![FieldError { field: "form".into(), message: error.to_string() }])
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Comment {
        body: String,
    }

    async fn extract(body: &'static str) -> Result<Comment, ApiError> {
        let request = Request::post("/")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        Form::<Comment>::from_request(request, &()).await.map(|Form(comment)| comment)
    }

    #[tokio::test]
    async fn a_forms_text_keeps_its_lines_and_refuses_control_characters() {
        assert_eq!(extract("body=one%0D%0Atwo").await.unwrap().body, "one\ntwo");
        let refused = extract("body=a%00b").await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::ValidationFailed);
        assert_eq!(refused.field_errors()[0].field, "body");
        assert_eq!(extract("other=1").await.unwrap_err().code(), ErrorCode::ValidationFailed);
    }
}
