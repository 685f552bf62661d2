//! The common model: what every upstream's data is mapped into.
//!
//! A [`Record`] is one upstream object, mapped ([`CommonRecord`]) and kept with its
//! raw payload. Amounts are integers in the currency's minor unit (cents); times
//! are UTC. `account_ref` is the upstream's key for whose record it is (a Stripe
//! customer id, a CRM company id, a storage prefix): the engine maps it to a
//! customer account, and parks the record when no mapping exists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of records in the common model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Contact,
    Organisation,
    Invoice,
    Payment,
    Document,
    Ticket,
    TicketMessage,
    Order,
    Subscription,
    Task,
}

impl RecordType {
    pub const ALL: &'static [RecordType] = &[
        RecordType::Contact,
        RecordType::Organisation,
        RecordType::Invoice,
        RecordType::Payment,
        RecordType::Document,
        RecordType::Ticket,
        RecordType::TicketMessage,
        RecordType::Order,
        RecordType::Subscription,
        RecordType::Task,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Contact => "contact",
            RecordType::Organisation => "organisation",
            RecordType::Invoice => "invoice",
            RecordType::Payment => "payment",
            RecordType::Document => "document",
            RecordType::Ticket => "ticket",
            RecordType::TicketMessage => "ticket_message",
            RecordType::Order => "order",
            RecordType::Subscription => "subscription",
            RecordType::Task => "task",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|record_type| record_type.as_str() == text)
    }
}

/// One upstream object, mapped into the common model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The upstream's id, unique within the connector instance and record type.
    pub external_id: String,
    /// The upstream's key for the customer this record belongs to.
    pub account_ref: Option<String>,
    /// The upstream did not say whose record this is this time (an association
    /// read that left it out, or answered in part): the engine keeps the account
    /// the record already has, and `account_ref` is not used. Only an answer that
    /// says the association is gone (`account_ref: None` with this false) may
    /// take a record out of its account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub account_unknown: bool,
    /// The upstream id of the record this one belongs to (a message's ticket).
    pub parent_external_id: Option<String>,
    /// When the upstream last changed it, if it says. Older snapshots than the one
    /// stored are ignored, so out-of-order events cannot roll a record back.
    pub source_updated_at: Option<DateTime<Utc>>,
    pub body: CommonRecord,
    /// The upstream payload as received.
    pub raw: Value,
}

impl Record {
    pub fn record_type(&self) -> RecordType {
        self.body.record_type()
    }
}

/// An upstream report that a record is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    pub record_type: RecordType,
    pub external_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommonRecord {
    Contact(Contact),
    Organisation(Organisation),
    Invoice(Invoice),
    Payment(Payment),
    Document(Document),
    Ticket(Ticket),
    TicketMessage(TicketMessage),
    Order(Order),
    Subscription(Subscription),
    Task(Task),
}

/// The few fields every record type has an equivalent of; stored in columns so
/// lists can be filtered and sorted without reading the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    pub title: &'a str,
    pub status: Option<&'a str>,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'a str>,
    /// The date a customer cares about: issued, paid, opened, due, modified.
    pub occurred_at: Option<DateTime<Utc>>,
    /// When it is due (an invoice's payment, a task), if it is.
    pub due_at: Option<DateTime<Utc>>,
}

impl CommonRecord {
    pub fn record_type(&self) -> RecordType {
        match self {
            CommonRecord::Contact(_) => RecordType::Contact,
            CommonRecord::Organisation(_) => RecordType::Organisation,
            CommonRecord::Invoice(_) => RecordType::Invoice,
            CommonRecord::Payment(_) => RecordType::Payment,
            CommonRecord::Document(_) => RecordType::Document,
            CommonRecord::Ticket(_) => RecordType::Ticket,
            CommonRecord::TicketMessage(_) => RecordType::TicketMessage,
            CommonRecord::Order(_) => RecordType::Order,
            CommonRecord::Subscription(_) => RecordType::Subscription,
            CommonRecord::Task(_) => RecordType::Task,
        }
    }

    pub fn summary(&self) -> Summary<'_> {
        match self {
            CommonRecord::Contact(contact) => Summary {
                title: &contact.name,
                status: None,
                amount_minor: None,
                currency: None,
                occurred_at: None,
                due_at: None,
            },
            CommonRecord::Organisation(organisation) => Summary {
                title: &organisation.name,
                status: None,
                amount_minor: None,
                currency: None,
                occurred_at: None,
                due_at: None,
            },
            CommonRecord::Invoice(invoice) => Summary {
                title: &invoice.number,
                status: Some(&invoice.status),
                amount_minor: Some(invoice.total_minor),
                currency: Some(&invoice.currency),
                occurred_at: invoice.issued_at,
                due_at: invoice.due_at,
            },
            CommonRecord::Payment(payment) => Summary {
                title: payment.description.as_deref().unwrap_or("Payment"),
                status: Some(&payment.status),
                amount_minor: Some(payment.amount_minor),
                currency: Some(&payment.currency),
                occurred_at: payment.paid_at,
                due_at: None,
            },
            CommonRecord::Document(document) => Summary {
                title: &document.name,
                status: None,
                amount_minor: Some(document.size_bytes),
                currency: None,
                occurred_at: document.modified_at,
                due_at: None,
            },
            CommonRecord::Ticket(ticket) => Summary {
                title: &ticket.subject,
                status: Some(&ticket.status),
                amount_minor: None,
                currency: None,
                occurred_at: ticket.opened_at,
                due_at: None,
            },
            CommonRecord::TicketMessage(message) => Summary {
                title: &message.author_name,
                status: None,
                amount_minor: None,
                currency: None,
                occurred_at: Some(message.posted_at),
                due_at: None,
            },
            CommonRecord::Order(order) => Summary {
                title: &order.title,
                status: Some(&order.status),
                amount_minor: order.amount_minor,
                currency: order.currency.as_deref(),
                occurred_at: order.status_changed_at,
                due_at: None,
            },
            CommonRecord::Subscription(subscription) => Summary {
                title: &subscription.plan,
                status: Some(&subscription.status),
                amount_minor: subscription.amount_minor,
                currency: subscription.currency.as_deref(),
                occurred_at: subscription.started_at,
                // What a customer asks of a subscription: when it renews (or ends).
                due_at: subscription.current_period_end,
            },
            CommonRecord::Task(task) => Summary {
                title: &task.title,
                status: Some(task.status.as_str()),
                amount_minor: None,
                currency: None,
                occurred_at: task.due_at,
                due_at: task.due_at,
            },
        }
    }
}

/// A person or a customer's contact entry (a CRM contact, a billing customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    /// `person` or `company`.
    pub kind: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// An organisation as the upstream keeps it (a CRM company): its own record type,
/// never a contact, since upstreams number each object type on its own and a
/// company and a contact may share an id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    pub domain: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    /// draft, open, paid, void, uncollectible (Stripe's vocabulary, which most billing systems share).
    pub status: String,
    pub currency: String,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub amount_paid_minor: i64,
    pub amount_due_minor: i64,
    pub issued_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Where the customer can view and pay it upstream.
    pub hosted_url: Option<String>,
    pub pdf_url: Option<String>,
    pub line_items: Vec<InvoiceLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: i64,
    pub unit_amount_minor: Option<i64>,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub status: String,
    pub currency: String,
    pub amount_minor: i64,
    pub description: Option<String>,
    pub method: Option<String>,
    /// The upstream id of the invoice it pays, if any.
    pub invoice_external_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub name: String,
    pub folder: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// A checksum the storage reports (an ETag or SHA-256), for change detection and display.
    pub checksum: Option<String>,
    /// Where the bytes are in the store; downloads stream through Portico.
    pub storage_key: String,
    pub modified_at: Option<DateTime<Utc>>,
    /// Labels the source gives it ("tax", "signed"); lists filter on them. Left out
    /// of the stored JSON when empty, so documents synced before tags existed are
    /// not seen as changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub subject: String,
    pub status: String,
    pub priority: Option<String>,
    pub description: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketMessage {
    pub author_name: String,
    /// customer, staff or system.
    pub author_kind: String,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// order or project.
    pub kind: String,
    pub reference: Option<String>,
    pub title: String,
    pub status: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
}

/// A recurring charge: what the customer pays for, how much, and when it renews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The plan or product's name as the customer knows it.
    pub plan: String,
    /// active, trialing, past_due, canceled, unpaid, paused, incomplete (Stripe's vocabulary).
    pub status: String,
    /// What one period costs, all items together.
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// day, week, month or year.
    pub interval: Option<String>,
    pub interval_count: Option<i64>,
    pub started_at: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at `current_period_end` instead of renewing.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Completed,
    Cancelled,
    /// An approval the customer approved.
    Approved,
    /// An approval the customer declined.
    Declined,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Completed => "completed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Approved => "approved",
            TaskStatus::Declined => "declined",
        }
    }
}

/// What a task asks of the customer: to do something, or to decide (approve a
/// quote, sign off a deliverable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    #[default]
    Todo,
    Approval,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub title: String,
    pub status: TaskStatus,
    #[serde(default)]
    pub kind: TaskKind,
    /// What is asked, in the source's words (what an approval is about).
    #[serde(default)]
    pub description: Option<String>,
    pub assignee: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The comment given with a decision, as the source keeps it.
    #[serde(default)]
    pub decision_comment: Option<String>,
}
