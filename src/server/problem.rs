//! RFC 9457 problem details: the one shape every error response takes.
//!
//! Handlers return [`ApiError`], built from an [`ErrorCode`]; the status follows
//! from the code, never chosen ad hoc. Client errors carry a safe `detail`;
//! internal errors are logged with their cause chain and answered with an opaque
//! 500. Errors produced outside our handlers (unknown routes, 405s, timeouts,
//! oversized bodies, panics) are rewritten into the same shape by
//! [`normalize_errors`], which also stamps `instance` and `request_id` on every one.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Stable, machine-readable error codes. Clients may match on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    MalformedJson,
    UnsupportedMediaType,
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    /// A step-up action needs a recent sign-in.
    ReauthenticationRequired,
    /// The credential reaches one account only (an account's SSO sign-in, an
    /// account-scoped token), and this would reach beyond it or change how the
    /// person signs in.
    ScopedCredential,
    /// The password was right; now the second factor.
    MfaRequired,
    /// This account (or staff policy) demands multi-factor sign-in, which is off.
    MfaEnrollmentRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RequestTimeout,
    RateLimited,
    NotReady,
    /// An upstream system (storage, a CRM) failed to answer.
    BadGateway,
    /// A webhook delivery whose signature (or its timestamp) does not verify.
    InvalidSignature,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthenticated | ErrorCode::MfaRequired => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden
            | ErrorCode::ReauthenticationRequired
            | ErrorCode::ScopedCredential
            | ErrorCode::MfaEnrollmentRequired => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorCode::InvalidSignature => StatusCode::UNAUTHORIZED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code for an error response some other layer produced with only a status.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::NotReady,
            StatusCode::BAD_GATEWAY => ErrorCode::BadGateway,
            status if status.is_client_error() => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ReauthenticationRequired => "reauthentication_required",
            ErrorCode::ScopedCredential => "scoped_credential",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::MfaEnrollmentRequired => "mfa_enrollment_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::BadGateway => "bad_gateway",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::Internal => "internal",
        }
    }

    fn default_detail(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "The request could not be understood.",
            ErrorCode::MalformedJson => "The request body is not valid JSON for this endpoint.",
            ErrorCode::UnsupportedMediaType => "The request body has an unsupported content type.",
            ErrorCode::ValidationFailed => "The request is well-formed but some values are invalid.",
            ErrorCode::Unauthenticated => "Sign in to continue.",
            ErrorCode::Forbidden => "You do not have permission to do this.",
            ErrorCode::ReauthenticationRequired => "Confirm your password to do this.",
            ErrorCode::ScopedCredential => {
                "This sign-in reaches one account only; sign in with your password to do this."
            }
            ErrorCode::MfaRequired => "Enter the code from your authenticator app, or a recovery code.",
            ErrorCode::MfaEnrollmentRequired => "Turn on multi-factor sign-in to continue.",
            ErrorCode::NotFound => "There is nothing at this address.",
            ErrorCode::MethodNotAllowed => "This address does not accept that method.",
            ErrorCode::Conflict => "The request conflicts with the current state.",
            ErrorCode::PayloadTooLarge => "The request body is larger than allowed.",
            ErrorCode::RequestTimeout => "The request took too long.",
            ErrorCode::RateLimited => "Too many requests; retry later.",
            ErrorCode::NotReady => "The service is not ready.",
            ErrorCode::BadGateway => "A connected system did not answer properly; try again shortly.",
            ErrorCode::InvalidSignature => "The delivery could not be verified.",
            ErrorCode::Internal => "Something went wrong on our side. It has been logged.",
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:portico:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path this problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: ErrorCode,
    /// The `x-request-id` of the request, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field messages for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer or dotted path of the field.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = code.status();
        Self {
            problem_type: format!("urn:portico:problem:{}", code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            code,
            request_id: None,
            errors: Vec::new(),
        }
    }

    fn into_response_with_status(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("problem serializes");
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        response.extensions_mut().insert(self);
        response
    }
}

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError {
    problem: Box<Problem>,
    /// Headers the answer needs (`Retry-After` on 429).
    headers: Vec<(axum::http::HeaderName, HeaderValue)>,
    /// The cause of an internal error: logged, never sent.
    internal_cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { problem: Box::new(Problem::new(code, detail)), headers: Vec::new(), internal_cause: None }
    }

    pub fn from_code(code: ErrorCode) -> Self {
        Self::new(code, code.default_detail())
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut error = Self::from_code(ErrorCode::ValidationFailed);
        error.set_field_errors(errors);
        error
    }

    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            problem: Box::new(Problem::new(ErrorCode::Internal, ErrorCode::Internal.default_detail())),
            headers: Vec::new(),
            internal_cause: Some(Box::new(cause)),
        }
    }

    /// 429 with the seconds to wait before trying again.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::from_code(ErrorCode::RateLimited);
        error.headers.push((header::RETRY_AFTER, HeaderValue::from(retry_after_secs)));
        error
    }

    /// Tells the client when to try again (a 503 the client should retry).
    pub fn set_retry_after(&mut self, seconds: u64) {
        self.headers.push((header::RETRY_AFTER, HeaderValue::from(seconds)));
    }

    /// Names the fields (or, for readiness, the checks) the problem is about.
    pub fn set_field_errors(&mut self, errors: Vec<FieldError>) {
        self.problem.errors = errors;
    }

    pub fn code(&self) -> ErrorCode {
        self.problem.code
    }

    /// What went wrong, in a sentence for the person who asked.
    pub fn detail(&self) -> &str {
        &self.problem.detail
    }

    /// The fields a `validation_failed` problem is about.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.problem.errors
    }

    /// The seconds a 429 asks the client to wait.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.headers
            .iter()
            .find(|(name, _)| *name == header::RETRY_AFTER)
            .and_then(|(_, value)| value.to_str().ok()?.parse().ok())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::NotFound => ApiError::from_code(ErrorCode::NotFound),
            StoreError::Conflict(sentence) => ApiError::new(ErrorCode::Conflict, format!("{sentence}.")),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.internal_cause {
            tracing::error!(error = %error_chain(cause.as_ref()), "internal error");
        }
        let mut response = self.problem.into_response_with_status();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

pub use crate::core::error_chain;

/// Middleware: every error response leaves as problem+json with `instance` and
/// `request_id` set, whoever produced it.
pub async fn normalize_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(crate::server::REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // A page's own answer (a form with its errors, an error page) is for a person.
    let is_page =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if is_page {
        return response;
    }
    let mut problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None => {
            let code = ErrorCode::for_status(status);
            let mut problem = Problem::new(code, code.default_detail());
            // Keep the real status (e.g. 418) even when the code is a generic one.
            problem.status = status.as_u16();
            problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
            problem
        }
    };
    problem.instance = Some(path);
    problem.request_id = request_id;
    let (mut parts, _old_body) = response.into_parts();
    let body = serde_json::to_vec(&problem).expect("problem serializes");
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(problem);
    Response::from_parts(parts, Body::from(body))
}

/// The answer for any path no route matches.
pub async fn route_not_found() -> ApiError {
    ApiError::from_code(ErrorCode::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_code_both_ways() {
        for code in
            [ErrorCode::NotFound, ErrorCode::PayloadTooLarge, ErrorCode::MethodNotAllowed, ErrorCode::RateLimited]
        {
            assert_eq!(ErrorCode::for_status(code.status()), code);
        }
        assert_eq!(ErrorCode::for_status(StatusCode::IM_A_TEAPOT), ErrorCode::BadRequest);
        assert_eq!(ErrorCode::for_status(StatusCode::BAD_GATEWAY), ErrorCode::BadGateway);
        assert_eq!(ErrorCode::for_status(StatusCode::GATEWAY_TIMEOUT), ErrorCode::Internal);
    }

    #[test]
    fn problem_has_rfc9457_members() {
        let value = serde_json::to_value(Problem::new(ErrorCode::Conflict, "taken")).unwrap();
        assert_eq!(value["type"], "urn:portico:problem:conflict");
        assert_eq!(value["status"], 409);
        assert_eq!(value["title"], "Conflict");
        assert_eq!(value["code"], "conflict");
        assert_eq!(value["detail"], "taken");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = ApiError::internal(std::io::Error::other("disk on fire")).into_response();
        let problem = response.extensions().get::<Problem>().unwrap();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("disk"));
    }
}
