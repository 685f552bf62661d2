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
        Some("paid" | "completed" | "approved" | "closed" | "solved" | "delivered" | "shipped" | "active") => "success",
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

    /// As [`Self::from_error`], and a change refused for want of a recent
    /// password (step-up) becomes the form's summary too: the console's pages
    /// that change secrets and roles ask for it on the same page.
    pub fn from_refusal(error: ApiError) -> Result<Self, ApiError> {
        if error.code() == ErrorCode::ReauthenticationRequired {
            return Ok(Self { summary: Some(error.detail().to_owned()), fields: BTreeMap::new() });
        }
        Self::from_error(error)
    }

    pub fn field(&self, name: &str) -> Option<&String> {
        self.fields.get(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}

/// One step of a record's story, oldest first: when, the status it had, and what
/// else changed.
pub struct TimelineStep {
    pub when: String,
    pub status: String,
    pub status_class: &'static str,
    pub note: String,
}

/// A record's versions (newest first, as the API answers them) as a timeline,
/// oldest first: a step where the status changed, or where a field a person
/// cares about did.
pub fn timeline(page: &Page, history: &crate::api::portal::history::RecordHistory) -> Vec<TimelineStep> {
    let mut steps = Vec::new();
    let mut previous_status: Option<String> = None;
    for version in history.versions.iter().rev() {
        let status = version.data["status"].as_str().map(str::to_owned);
        let status_changed = status != previous_status;
        let worded: Vec<String> = version
            .changed_fields
            .iter()
            .filter(|field| field.as_str() != "status")
            .filter_map(|field| {
                let key = format!("changed-{field}");
                let label = page.t(&key);
                (label != key).then_some(label)
            })
            .collect();
        let first = previous_status.is_none() && steps.is_empty();
        if first || status_changed || !worded.is_empty() {
            let note = if first {
                page.t("timeline-first")
            } else if worded.is_empty() {
                String::new()
            } else {
                page.t_with("timeline-changed", "fields", &worded.join(", "))
            };
            steps.push(TimelineStep {
                when: page.format.date_time(version.valid_from),
                status: status.as_deref().map(|status| page.status_label(status)).unwrap_or_default(),
                status_class: status_class(status.as_deref()),
                note,
            });
        }
        previous_status = status;
    }
    if history.deleted_at.is_some() {
        steps.push(TimelineStep {
            when: history.deleted_at.map(|at| page.format.date_time(at)).unwrap_or_default(),
            status: page.t("timeline-removed"),
            status_class: "neutral",
            note: String::new(),
        });
    }
    steps
}
