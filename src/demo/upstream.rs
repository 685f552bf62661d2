//! The demo's business system: a small REST API (billing, files, support, orders,
//! tasks for two customers) on a loopback port, which Portico syncs through its
//! declarative REST connector like any other source. Every few seconds something
//! happens in it (an order moves on, an invoice is paid, support answers a
//! ticket, a task is done, a document arrives), so the portal and its live
//! stream have something to show.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The customers, by the upstream's own key (mapped to Portico accounts).
pub const CUSTOMERS: [&str; 2] = ["acme", "globex"];

/// Every collection the API serves, as Portico's manifest names them.
pub const COLLECTIONS: [&str; 8] =
    ["invoices", "payments", "subscriptions", "documents", "tickets", "ticket-messages", "orders", "tasks"];

const ORDER_STEPS: [&str; 4] = ["received", "processing", "shipped", "delivered"];

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The business's data and the token its API wants.
#[derive(Debug)]
pub struct Business {
    token: String,
    /// Where this upstream answers (`http://127.0.0.1:PORT/v1`): invoices link their PDFs under it.
    base_url: String,
    collections: BTreeMap<&'static str, Vec<Value>>,
    next_id: u64,
    step: u64,
}

impl Business {
    pub fn new(token: String, base_url: &str) -> Self {
        let mut business =
            Business { token, base_url: base_url.to_owned(), collections: BTreeMap::new(), next_id: 1, step: 0 };
        let now = Utc::now();
        for (index, customer) in CUSTOMERS.into_iter().enumerate() {
            let invoices = if index == 0 { 6 } else { 4 };
            for n in 0..invoices {
                let issued = now - Duration::days(20 * (invoices - n) as i64);
                let status = match n % 3 {
                    0 | 1 if n + 2 < invoices => "paid",
                    _ => "open",
                };
                let invoice = business.invoice(customer, issued, 12_000 + 2_500 * n as i64, status);
                if status == "paid" {
                    business.payment(customer, &invoice, issued + Duration::days(9));
                }
            }
            business.subscription(customer, if index == 0 { "Pro plan" } else { "Starter plan" }, now);
            for (folder, name) in [
                ("contracts", "Master services agreement.pdf"),
                ("reports", "Quarterly report Q3.pdf"),
                ("statements", "Statement October.pdf"),
            ] {
                business.document(customer, folder, name, now - Duration::days(30));
            }
            for (subject, status) in [("Invoice address is wrong", "open"), ("Delivery arrived damaged", "closed")] {
                let ticket = business.ticket(customer, subject, status, now - Duration::days(3));
                business.message(
                    customer,
                    &ticket,
                    "customer",
                    "Could you have a look, please?",
                    now - Duration::days(3),
                );
                business.message(customer, &ticket, "staff", "Thanks, we are on it.", now - Duration::days(2));
            }
            for (n, status) in ["received", "processing", "shipped"].into_iter().enumerate() {
                business.order(
                    customer,
                    &format!("Order of {} units", 10 * (n + 1)),
                    status,
                    now - Duration::days(n as i64),
                );
            }
            business.approval(
                customer,
                "Approve the new price list",
                "From 1 January, list prices rise by 4 %. Volume discounts stay as they are.",
                now + Duration::days(5),
            );
            for (title, status) in
                [("Upload the signed contract", "open"), ("Confirm the delivery address", "completed")]
            {
                business.task(customer, title, status, now + Duration::days(5));
            }
        }
        business
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:05}", self.next_id)
    }

    fn push(&mut self, collection: &'static str, item: Value) -> Value {
        self.collections.entry(collection).or_default().push(item.clone());
        item
    }

    fn invoice(&mut self, customer: &str, issued: DateTime<Utc>, subtotal: i64, status: &str) -> Value {
        let id = self.id("in");
        let tax = subtotal / 5;
        let paid = status == "paid";
        self.push("invoices", json!({
            "id": id, "customer": customer, "number": format!("INV-{}", &id[3..]), "status": status,
            "currency": "eur", "subtotal": subtotal, "tax": tax, "total": subtotal + tax,
            "amount_paid": if paid { subtotal + tax } else { 0 }, "amount_due": if paid { 0 } else { subtotal + tax },
            "issued_at": stamp(issued), "due_at": stamp(issued + Duration::days(30)),
            "paid_at": paid.then(|| stamp(issued + Duration::days(9))),
            // A link that needs no key, as billing systems' invoice PDF links are.
            "pdf": format!("{}/invoices/{id}/pdf", self.base_url),
            "lines": [
                {"description": "Service subscription", "quantity": 1, "unit_amount_minor": subtotal - 2000, "amount_minor": subtotal - 2000},
                {"description": "Support hours", "quantity": 2, "unit_amount_minor": 1000, "amount_minor": 2000}
            ],
            "updated_at": stamp(Utc::now()),
        }))
    }

    fn payment(&mut self, customer: &str, invoice: &Value, paid_at: DateTime<Utc>) {
        let id = self.id("py");
        self.push("payments", json!({
            "id": id, "customer": customer, "invoice": invoice["id"], "status": "succeeded", "currency": "eur",
            "amount": invoice["total"], "method": "card", "paid_at": stamp(paid_at), "updated_at": stamp(Utc::now()),
        }));
    }

    fn document(&mut self, customer: &str, folder: &str, name: &str, at: DateTime<Utc>) {
        let id = self.id("doc");
        // Labels as the business system spells them; Portico keeps them lower-case.
        let tags = match folder {
            "contracts" => vec!["Contract", "Signed"],
            "reports" => vec!["Report", "Quarterly"],
            _ => vec!["Statement"],
        };
        self.push(
            "documents",
            json!({
                "id": id, "customer": customer, "name": name, "folder": folder, "tags": tags, "content_type": "application/pdf",
                "size": 48_213 + name.len() as i64 * 1000, "key": format!("{customer}/{folder}/{id}.pdf"),
                "updated_at": stamp(at.max(Utc::now())),
            }),
        );
    }

    fn ticket(&mut self, customer: &str, subject: &str, status: &str, opened: DateTime<Utc>) -> Value {
        let id = self.id("tkt");
        self.push("tickets", json!({
            "id": id, "customer": customer, "subject": subject, "status": status, "priority": "medium",
            "description": subject, "opened_at": stamp(opened),
            "closed_at": (status == "closed").then(|| stamp(opened + Duration::days(1))), "updated_at": stamp(Utc::now()),
        }))
    }

    fn message(&mut self, customer: &str, ticket: &Value, author_kind: &str, body: &str, _at: DateTime<Utc>) {
        let id = self.id("msg");
        let author = if author_kind == "staff" { "Support team" } else { "Customer" };
        self.push(
            "ticket-messages",
            json!({
                "id": id, "customer": customer, "ticket": ticket["id"], "author": author, "author_kind": author_kind,
                "body": body, "updated_at": stamp(Utc::now()),
            }),
        );
    }

    fn order(&mut self, customer: &str, title: &str, status: &str, _at: DateTime<Utc>) {
        let id = self.id("ord");
        self.push("orders", json!({
            "id": id, "customer": customer, "kind": "order", "reference": format!("PO-{}", &id[4..]), "title": title,
            "status": status, "amount": 45_000, "currency": "eur", "updated_at": stamp(Utc::now()),
        }));
    }

    fn subscription(&mut self, customer: &str, plan: &str, now: DateTime<Utc>) {
        let id = self.id("sub");
        self.push(
            "subscriptions",
            json!({
                "id": id, "customer": customer, "plan": plan, "status": "active", "amount": 4_900, "currency": "EUR",
                "interval": "month", "started_at": stamp(now - Duration::days(200)),
                "renews_at": stamp(now + Duration::days(12)), "updated_at": stamp(now),
            }),
        );
    }

    /// A customer completes a task, or decides on one that asks for a decision,
    /// from the portal (the manifest's `complete_task`, `approve_task` and
    /// `decline_task`): the status it now has, and the comment given with it.
    fn update_task(&mut self, id: &str, change: &Value) -> Result<Value, StatusCode> {
        let task = self
            .collections
            .get_mut("tasks")
            .and_then(|tasks| tasks.iter_mut().find(|task| task["id"] == id))
            .ok_or(StatusCode::NOT_FOUND)?;
        let status = change["status"].as_str().unwrap_or_default();
        let decision = matches!(status, "approved" | "declined");
        if !matches!(status, "completed" | "approved" | "declined") || decision != (task["kind"] == "approval") {
            return Err(StatusCode::UNPROCESSABLE_ENTITY);
        }
        // Asked again (a retried request): answered with the task as it is.
        if task["status"] == "open" {
            let now = stamp(Utc::now());
            task["status"] = json!(status);
            task["completed_at"] = json!(now);
            task["updated_at"] = json!(now);
            if let Some(comment) = change["decision_comment"].as_str() {
                task["decision_comment"] = json!(comment);
            }
        }
        Ok(task.clone())
    }

    fn task(&mut self, customer: &str, title: &str, status: &str, due: DateTime<Utc>) {
        let id = self.id("task");
        self.push(
            "tasks",
            json!({
                "id": id, "customer": customer, "title": title, "status": status, "assignee": "You",
                "due_at": stamp(due), "completed_at": (status == "completed").then(|| stamp(Utc::now())),
                "updated_at": stamp(Utc::now()),
            }),
        );
    }

    /// A task that asks the customer for a decision.
    fn approval(&mut self, customer: &str, title: &str, description: &str, due: DateTime<Utc>) {
        let id = self.id("task");
        self.push(
            "tasks",
            json!({
                "id": id, "customer": customer, "title": title, "status": "open", "kind": "approval",
                "description": description, "assignee": "You", "due_at": stamp(due), "updated_at": stamp(Utc::now()),
            }),
        );
    }

    /// One thing happens; the collections it changed.
    pub fn tick(&mut self) -> Vec<&'static str> {
        self.step += 1;
        let customer = CUSTOMERS[(self.step % 2) as usize];
        let now = Utc::now();
        let mine = |item: &Value| item["customer"] == customer;
        match self.step % 5 {
            0 => {
                let orders = self.collections.entry("orders").or_default();
                if let Some(order) = orders.iter_mut().find(|order| mine(order) && order["status"] != "delivered") {
                    let at = ORDER_STEPS.iter().position(|step| order["status"] == *step).unwrap_or(0);
                    order["status"] = json!(ORDER_STEPS[(at + 1).min(ORDER_STEPS.len() - 1)]);
                    order["updated_at"] = json!(stamp(now));
                } else {
                    self.order(customer, "Order of 25 units", "received", now);
                }
                vec!["orders"]
            }
            1 => {
                let invoices = self.collections.entry("invoices").or_default();
                if let Some(invoice) = invoices.iter_mut().find(|invoice| mine(invoice) && invoice["status"] == "open")
                {
                    invoice["status"] = json!("paid");
                    invoice["amount_paid"] = invoice["total"].clone();
                    invoice["amount_due"] = json!(0);
                    invoice["paid_at"] = json!(stamp(now));
                    invoice["updated_at"] = json!(stamp(now));
                    let paid = invoice.clone();
                    self.payment(customer, &paid, now);
                    vec!["invoices", "payments"]
                } else {
                    self.invoice(customer, now, 15_000, "open");
                    vec!["invoices"]
                }
            }
            2 => {
                let ticket =
                    self.collections.get("tickets").and_then(|tickets| tickets.iter().find(|t| mine(t)).cloned());
                match ticket {
                    Some(ticket) => {
                        self.message(customer, &ticket, "staff", "An update from support: this is being handled.", now)
                    }
                    None => return Vec::new(),
                }
                vec!["ticket-messages"]
            }
            3 => {
                let tasks = self.collections.entry("tasks").or_default();
                // The business closes tasks on its own; decisions are the customer's.
                let open = |task: &&mut Value| mine(task) && task["status"] == "open" && task["kind"] != "approval";
                if let Some(task) = tasks.iter_mut().find(open) {
                    task["status"] = json!("completed");
                    task["completed_at"] = json!(stamp(now));
                    task["updated_at"] = json!(stamp(now));
                } else {
                    self.task(customer, "Review the monthly report", "open", now + Duration::days(7));
                }
                vec!["tasks"]
            }
            _ => {
                self.document(customer, "statements", &format!("Statement {}.pdf", now.format("%H-%M-%S")), now);
                vec!["documents"]
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Since {
    updated_after: Option<String>,
}

async fn list(
    State(business): State<Arc<Mutex<Business>>>,
    Path(collection): Path<String>,
    Query(since): Query<Since>,
    headers: HeaderMap,
) -> Result<axum::Json<Vec<Value>>, StatusCode> {
    let business = business.lock().expect("the demo business is never poisoned");
    business.authorize(&headers)?;
    let items = business.collections.get(collection.as_str()).ok_or(StatusCode::NOT_FOUND)?;
    let mut changed: Vec<Value> = items
        .iter()
        .filter(|item| {
            since.updated_after.as_deref().is_none_or(|after| item["updated_at"].as_str().is_some_and(|at| at > after))
        })
        .cloned()
        .collect();
    changed.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
    Ok(axum::Json(changed))
}

async fn update_task(
    State(business): State<Arc<Mutex<Business>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Json(change): axum::Json<Value>,
) -> Result<axum::Json<Value>, StatusCode> {
    let mut business = business.lock().expect("the demo business is never poisoned");
    business.authorize(&headers)?;
    business.update_task(&id, &change).map(axum::Json)
}

impl Business {
    fn authorize(&self, headers: &HeaderMap) -> Result<(), StatusCode> {
        let expected = format!("Bearer {}", self.token);
        match headers.get("authorization").and_then(|value| value.to_str().ok()) == Some(expected.as_str()) {
            true => Ok(()),
            false => Err(StatusCode::UNAUTHORIZED),
        }
    }
}

/// `GET /v1/documents/{id}/content`: a one-page PDF naming the document.
async fn document_content(
    State(business): State<Arc<Mutex<Business>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<([(axum::http::HeaderName, &'static str); 1], Vec<u8>), StatusCode> {
    let business = business.lock().expect("the demo business is never poisoned");
    business.authorize(&headers)?;
    let documents = business.collections.get("documents").ok_or(StatusCode::NOT_FOUND)?;
    let document = documents.iter().find(|document| document["id"] == id.as_str()).ok_or(StatusCode::NOT_FOUND)?;
    let text = format!(
        "{} ({})",
        document["name"].as_str().unwrap_or("Document"),
        document["customer"].as_str().unwrap_or("")
    );
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], one_page_pdf(&text)))
}

/// `GET /v1/invoices/{id}/pdf`: the invoice as a one-page PDF.
async fn invoice_pdf(
    State(business): State<Arc<Mutex<Business>>>,
    Path(id): Path<String>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], Vec<u8>), StatusCode> {
    let business = business.lock().expect("the demo business is never poisoned");
    let invoices = business.collections.get("invoices").ok_or(StatusCode::NOT_FOUND)?;
    let invoice = invoices.iter().find(|invoice| invoice["id"] == id.as_str()).ok_or(StatusCode::NOT_FOUND)?;
    let text = format!("Invoice {} - total {} EUR cents", invoice["number"].as_str().unwrap_or(""), invoice["total"]);
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], one_page_pdf(&text)))
}

/// A minimal valid PDF: one A4 page with one line of Helvetica.
fn one_page_pdf(text: &str) -> Vec<u8> {
    let escaped: String = text
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .flat_map(|c| if matches!(c, '(' | ')' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect();
    let content = format!("BT /F1 18 Tf 72 760 Td ({escaped}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref_at = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    let trailer = format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n", objects.len() + 1);
    pdf.extend_from_slice(trailer.as_bytes());
    pdf
}

pub fn router(business: Arc<Mutex<Business>>) -> Router {
    Router::new()
        .route("/v1/{collection}", get(list))
        .route("/v1/documents/{id}/content", get(document_content))
        .route("/v1/invoices/{id}/pdf", get(invoice_pdf))
        .route("/v1/tasks/{id}", axum::routing::patch(update_task))
        .with_state(business)
}
