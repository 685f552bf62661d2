//! Page sizes shared by every list endpoint.

use crate::server::problem::{ApiError, FieldError};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

/// The requested page size, or 422 naming `limit`.
pub fn page_size(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested.unwrap_or(DEFAULT_PAGE_SIZE) {
        limit @ 1..=MAX_PAGE_SIZE => Ok(limit),
        _ => Err(ApiError::validation(vec![FieldError {
            field: "limit".into(),
            message: format!("must be between 1 and {MAX_PAGE_SIZE}"),
        }])),
    }
}
