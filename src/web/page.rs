//! What every page's layout needs, and turning a template into a response.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use fluent_bundle::FluentValue;
use uuid::Uuid;

use super::assets;
use super::format::Formatter;
use super::i18n::{Lang, message};
use crate::api::portal::records::PortalRecord;
use crate::auth::permissions::Permission;
use crate::auth::view_as::ViewedRole;
use crate::auth::{AccountAccess, Caller, access};
use crate::server::AppState;
use crate::server::problem::ApiError;

/// A section of an account in the navigation.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: &'static str,
    pub href: String,
    pub label: String,
}

/// An account the person may open.
#[derive(Debug, Clone)]
pub struct AccountLink {
    pub id: Uuid,
    pub name: String,
}

/// The layout's context: the business, the reader's language, the person and
/// the account they are in.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    pub format: Formatter,
    pub business: String,
    pub logo_url: String,
    pub support_email: String,
    pub support_url: String,
    pub css: String,
    pub brand_css: String,
    pub scripts: [String; 2],
    pub person: Option<String>,
    pub accounts: Vec<AccountLink>,
    pub account: Option<AccountLink>,
    /// The account's sections this person may open (no link they may not follow).
    pub sections: Vec<Section>,
    /// The section the page belongs to (`dashboard`, `invoices`), marked in the navigation.
    pub section: &'static str,
    pub now: DateTime<Utc>,
    /// The bell's count: unread notifications in the accounts open to this credential.
    pub unread_notifications: i64,
    /// The person is on the business's staff: the top bar links the console.
    pub staff: bool,
    /// A page of the staff console (its sections in the navigation).
    pub in_console: bool,
    /// A staff member viewing the account as a customer: the banner's words.
    pub viewing_as: Option<String>,
}

impl Page {
    fn base(state: &AppState, lang: Lang, time_zone: &str, section: &'static str) -> Self {
        let portal = &state.settings.portal;
        Self {
            lang,
            format: Formatter::new(lang, time_zone),
            business: portal.name.clone(),
            logo_url: portal.logo_url.clone(),
            support_email: portal.support_email.clone(),
            support_url: portal.support_url.clone(),
            css: assets::path("app.css"),
            brand_css: assets::brand_path(portal),
            scripts: [assets::path("htmx.min.js"), assets::path("app.js")],
            person: None,
            accounts: Vec::new(),
            account: None,
            sections: Vec::new(),
            section,
            now: Utc::now(),
            unread_notifications: 0,
            staff: false,
            in_console: false,
            viewing_as: None,
        }
    }

    /// For someone not signed in: the language their browser asks for.
    pub fn anonymous(state: &AppState, headers: &HeaderMap, section: &'static str) -> Self {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or("en");
        Self::base(state, Lang::from_locale(accept), "UTC", section)
    }

    /// For the signed-in person: their profile's language and time zone, and the
    /// accounts they may open (under the same rules as `GET /api/v1/me`).
    pub async fn for_caller(state: &AppState, caller: &Caller, section: &'static str) -> Result<Self, ApiError> {
        let profile = state.store.user_profile(caller.user_id).await?;
        let (locale, time_zone) =
            profile.map(|profile| (profile.locale, profile.time_zone)).unwrap_or_else(|| ("en".into(), "UTC".into()));
        let mut page = Self::base(state, Lang::from_locale(&locale), &time_zone, section);
        page.person = Some(if caller.display_name.trim().is_empty() {
            caller.email.clone()
        } else {
            caller.display_name.clone()
        });
        page.staff = caller.staff_role.is_some();
        let accounts = access::member_accounts(&state.store, caller, &state.settings).await?;
        let open: Vec<Uuid> =
            accounts.iter().filter(|account| account.is_open()).map(|account| account.account_id()).collect();
        page.unread_notifications = state.store.unread_notification_count(caller.user_id, &open).await?;
        page.accounts = accounts
            .into_iter()
            .map(|account| AccountLink { id: account.membership.account_id, name: account.membership.account_name })
            .collect();
        Ok(page)
    }

    /// A role an account may be viewed as, in words (a custom role by its name).
    pub fn viewed_role_label(&self, role: &ViewedRole) -> String {
        match role {
            ViewedRole::Role { role } => self.t(&format!("role-{}", role.as_str())),
            ViewedRole::Custom { name, .. } => name.clone(),
            ViewedRole::Partner { record_type } => self.t(&format!("view-as-partner-{}", record_type.as_str())),
        }
    }

    /// The same page inside one of the person's accounts, with the sections their
    /// access there opens.
    pub fn in_account(mut self, access: &AccountAccess) -> Self {
        let account_id = access.any_access().account_id();
        self.account = self.accounts.iter().find(|account| account.id == account_id).cloned();
        if let (Some(role), Some(viewing)) = (access.viewing_as(), access.caller.viewing_as.as_ref()) {
            let role_label = self.viewed_role_label(role);
            self.viewing_as = Some(message(
                self.lang,
                "view-as-banner",
                &[
                    ("account", FluentValue::from(viewing.account_name.clone())),
                    ("role", FluentValue::from(role_label)),
                ],
            ));
            self.account = Some(AccountLink { id: account_id, name: viewing.account_name.clone() });
        }
        let base = format!("/accounts/{account_id}");
        self.sections = vec![Section { id: "dashboard", href: base.clone(), label: self.t("nav-dashboard") }];
        for (id, permission) in [
            ("invoices", Permission::InvoicesView),
            ("subscriptions", Permission::InvoicesView),
            ("orders", Permission::OrdersView),
            ("documents", Permission::DocumentsView),
            ("tickets", Permission::TicketsView),
            ("tasks", Permission::TasksView),
            ("team", Permission::TeamView),
            ("audit", Permission::AuditView),
            ("settings", Permission::AccountEditSettings),
        ] {
            if access.holds(permission) {
                let label = self.t(&format!("nav-{id}"));
                self.sections.push(Section { id, href: format!("{base}/{id}"), label });
            }
        }
        self
    }

    pub fn t(&self, key: &str) -> String {
        message(self.lang, key, &[])
    }

    pub fn t_with(&self, key: &str, name: &str, value: &str) -> String {
        message(self.lang, key, &[(name, FluentValue::from(value.to_owned()))])
    }

    /// The bell's words: how many notifications are unread (its plural chosen by
    /// the language's rules), or just "Notifications".
    pub fn bell_label(&self) -> String {
        match self.unread_notifications {
            0 => self.t("bell-none"),
            count => message(self.lang, "bell-unread", &[("count", FluentValue::from(count))]),
        }
    }

    /// The count on the bell's badge ("99+" beyond that).
    pub fn bell_count(&self) -> String {
        if self.unread_notifications > 99 { "99+".to_owned() } else { self.unread_notifications.to_string() }
    }

    pub fn title(&self, title: &str) -> String {
        format!("{title} · {}", self.business)
    }

    pub fn support_contact(&self) -> String {
        [self.support_email.as_str(), self.support_url.as_str()]
            .into_iter()
            .filter(|contact| !contact.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }

    pub fn current(&self, section: &str) -> bool {
        self.section == section
    }

    /// "Updated 2 minutes ago from Stripe" for a record.
    pub fn freshness(&self, record: &PortalRecord) -> String {
        let when = record.synced_at.unwrap_or(record.updated_at);
        let when = self.format.relative(when, self.now);
        message(
            self.lang,
            "freshness",
            &[("when", FluentValue::from(when)), ("source", FluentValue::from(record.source.name.clone()))],
        )
    }

    /// A status as words (a known one translated; an upstream's own label as it is).
    pub fn status_label(&self, status: &str) -> String {
        let key = format!("status-{status}");
        let label = self.t(&key);
        if label != key {
            return label;
        }
        // An upstream's own word: shown as it is, with a capital.
        let mut chars = status.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }
}

/// A rendered page, with the status given.
pub fn render(status: StatusCode, template: &impl Template) -> Result<Response, ApiError> {
    let html = template.render().map_err(ApiError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html).into_response())
}

/// A page answered with 200.
pub fn ok(template: &impl Template) -> Result<Response, ApiError> {
    render(StatusCode::OK, template)
}
