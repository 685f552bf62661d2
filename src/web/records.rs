//! What the record pages share: a record as a line of a list, and a form's
//! problem (the API's validation answer) as messages tied to their fields.

use std::collections::BTreeMap;

use super::page::Page;
use crate::api::portal::records::PortalRecord;
use crate::server::problem::{ApiError, ErrorCode};

/// A record in a list, ready to print.
pub struct RecordRow {
    pub href: String,
    pub title: String,
    pub status: String,
    pub status_class: &'static str,
    pub date: String,
    pub due: String,
    pub freshness: String,
    pub pending: bool,
    pub id: String,
    pub open: bool,
}

/// Words carry a status; colour repeats it.
pub fn status_class(status: Option<&str>) -> &'static str {
    match status {
        Some("open" | "new" | "waiting") => "warning",
        Some("paid" | "completed" | "closed" | "solved" | "delivered" | "shipped" | "active") => "success",
        Some("overdue" | "failed" | "declined") => "danger",
        Some("pending" | "processing" | "in_progress") => "info",
        _ => "neutral",
    }
}

pub fn row(page: &Page, href: String, record: &PortalRecord) -> RecordRow {
    RecordRow {
        href,
        title: record.title.clone(),
        status: record.status.as_deref().map(|status| page.status_label(status)).unwrap_or_default(),
        status_class: status_class(record.status.as_deref()),
        date: record.occurred_at.map(|at| page.format.date(at)).unwrap_or_default(),
        due: record.due_at.map(|at| page.format.date(at)).unwrap_or_default(),
        freshness: page.freshness(record),
        pending: record.pending,
        id: record.id.to_string(),
        open: record.status.as_deref() == Some("open"),
    }
}

/// What a form shows after the API refused it: a summary and each field's message.
#[derive(Default)]
pub struct FormProblem {
    pub summary: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl FormProblem {
    /// The API's answer as the form's problem, for answers a person can act on
    /// (invalid input, a conflict, a file type not taken); anything else stays an error.
    pub fn from_error(error: ApiError) -> Result<Self, ApiError> {
        match error.code() {
            ErrorCode::ValidationFailed => Ok(Self {
                summary: Some(error.detail().to_owned()),
                fields: error.field_errors().iter().map(|field| (field.field.clone(), field.message.clone())).collect(),
            }),
            ErrorCode::Conflict | ErrorCode::UnsupportedMediaType | ErrorCode::PayloadTooLarge => {
                Ok(Self { summary: Some(error.detail().to_owned()), fields: BTreeMap::new() })
            }
            _ => Err(error),
        }
    }

    pub fn field(&self, name: &str) -> Option<&String> {
        self.fields.get(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}
