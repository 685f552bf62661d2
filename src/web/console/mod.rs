//! The staff console: the business's admins, support and auditors operate
//! Portico from the browser. Each page calls the admin API's own handler with
//! the same staff caller (one permission check, one audit trail), and draws
//! its answer; a refusal is the API's refusal as a page.
//!
//! - `schema_form.rs`: forms generated from a connector kind's JSON Schemas;
//! - `connectors.rs`: connectors (list, add through the generated form, edit,
//!   test the connection, start a sync) and `runs.rs`: a run's progress, live
//!   while it lasts, cancelling it, and the deletions a run held back;
//! - `mapping.rs`: records no account claims yet, mapped to an account;
//! - `records.rs`: what a connector brought in, one record with its payload
//!   and history; `outbox.rs`: write-backs waiting, delivered or dead, retried;
//! - `accounts.rs`: customer accounts, found and created;
//! - `webhooks.rs`: webhook endpoints, their secrets (step-up first) and
//!   deliveries, replayed one by one or by time range;
//! - `health.rs`: queues, degraded connectors, the webhook gateway's figures
//!   and the last error of each part, from the figures `/metrics` serves;
//! - `reports.rs`: whether customers use the portal, per account and month;
//! - `staff.rs`: the business's staff, their roles and invitations;
//! - `audit.rs`: the whole audit log, filtered, with the chain's verification.
//!
//! Customers never learn the console exists: every console route answers them
//! 404, as for a path that is not there. Staff see the sections their role
//! opens; a section it does not open answers 403, as its API does.

pub mod accounts;
pub mod audit;
pub mod connectors;
pub mod endpoint_settings;
pub mod health;
pub mod mapping;
pub mod outbox;
pub mod records;
pub mod reports;
pub mod runs;
pub mod schema_form;
pub mod staff;
pub mod webhooks;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{Page, Section};
use crate::auth::permissions::StaffPermission;
use crate::auth::{Caller, StaffCaller};
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};

/// A staff member in the console. Anyone else signed in gets 404; no one signed
/// in is sent to sign in.
pub struct Console {
    pub staff: StaffCaller,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.staff_role.is_none() {
            return Err(ApiError::from_code(ErrorCode::NotFound));
        }
        Ok(Self { staff: StaffCaller::of(caller, state).await? })
    }
}

/// What `console/step_up.html` shows: see [`Console::step_up`].
pub struct StepUp {
    pub next: String,
    pub hint: String,
    /// Whether to ask for the authenticator's code as well.
    pub mfa_enabled: bool,
    /// The form's heading level where the page places it.
    pub heading_level: u8,
}

/// The console's sections, each behind the staff permission its API asks.
const SECTIONS: [(&str, StaffPermission); 7] = [
    ("connectors", StaffPermission::ConnectorsManage),
    ("outbox", StaffPermission::ConnectorsManage),
    ("health", StaffPermission::ConnectorsManage),
    ("accounts", StaffPermission::AccountsView),
    ("reports", StaffPermission::AccountsView),
    ("staff", StaffPermission::StaffManage),
    ("audit", StaffPermission::AuditViewAll),
];

impl Console {
    /// The layout for a console page in `section`, with the sections this role opens.
    pub async fn page(&self, state: &AppState, section: &'static str) -> Result<Page, ApiError> {
        let mut page = Page::for_caller(state, &self.staff.caller, section).await?;
        page.sections = SECTIONS
            .iter()
            .filter(|(_, permission)| self.staff.holds(*permission))
            .map(|(id, _)| Section { id, href: format!("/console/{id}"), label: page.t(&format!("console-nav-{id}")) })
            .collect();
        page.in_console = true;
        Ok(page)
    }

    /// The form asking for the password again, when the last proof is older than
    /// the ten minutes a secret or a role change needs; `None` while it is recent.
    /// `next` is where the proof leads back to; `hint` says what it opens.
    pub fn step_up(&self, page: &Page, next: String, hint_key: &str, heading_level: u8) -> Option<StepUp> {
        self.staff.caller.require_recent_sign_in().err().map(|_| StepUp {
            next,
            hint: page.t(hint_key),
            mfa_enabled: self.staff.caller.mfa_enabled,
            heading_level,
        })
    }

    /// The first section this role opens.
    fn first_section(&self) -> Option<&'static str> {
        SECTIONS.iter().find(|(_, permission)| self.staff.holds(*permission)).map(|(id, _)| *id)
    }
}

/// `/console`: the first section this role opens.
pub async fn home(State(_state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    match console.first_section() {
        Some(section) => Ok(Redirect::to(&format!("/console/{section}")).into_response()),
        None => Err(ApiError::from_code(ErrorCode::Forbidden)),
    }
}
