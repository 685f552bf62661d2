//! A Stripe-like API: the list endpoints Portico reads (`/v1/customers`,
//! `/v1/invoices`, `/v1/charges`, `/v1/subscriptions`, `/v1/events`) with Stripe's
//! object shapes, newest-first list order, `limit` / `starting_after` / `has_more`
//! pagination, bearer-key authentication and Stripe's error objects.
//!
//! Customers can also be generated (`cus_<n>`, built on demand from their index) so
//! a benchmark can page through a million of them without holding them in memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::faults::{Fault, FaultReport, FaultState, Faults, cut_off_response, too_many_requests};

const OBJECT_KINDS: &[(&str, &str)] =
    &[("customers", "customer"), ("invoices", "invoice"), ("charges", "charge"), ("subscriptions", "subscription")];

struct StripeState {
    api_key: String,
    /// Per list path, objects newest first.
    objects: HashMap<&'static str, Vec<Value>>,
    /// Customers `cus_<n>` for n in 0..generated, listed after the stored ones.
    generated_customers: u64,
    /// Newest first.
    events: Vec<Value>,
    next_id: u64,
    faults: FaultState,
    /// Idempotency-Key → (the request it came with, the response given), as Stripe keeps them.
    idempotent: HashMap<String, (String, StatusCode, Value)>,
    /// Payments actually made (replays excluded).
    payments: u64,
    retrievals: u64,
    /// Where this server listens: invoices' PDF links point back at it, as
    /// Stripe's point at its own file host.
    base_url: String,
    /// Misbehaves as some real upstreams do: every list answers its first page
    /// with `has_more: true`, whatever `starting_after` says.
    repeats_first_page: bool,
    /// Lists answer `has_more: true` with no objects: no cursor to go on from.
    has_more_without_objects: bool,
}

/// A running fake Stripe; dropping it does not stop the server (tests end with it).
#[derive(Clone)]
pub struct FakeStripe {
    state: Arc<Mutex<StripeState>>,
    address: SocketAddr,
}

impl FakeStripe {
    pub async fn start(api_key: &str) -> Self {
        let state = Arc::new(Mutex::new(StripeState {
            api_key: api_key.to_owned(),
            objects: OBJECT_KINDS.iter().map(|(path, _)| (*path, Vec::new())).collect(),
            generated_customers: 0,
            events: Vec::new(),
            next_id: 1,
            faults: FaultState::new(7),
            repeats_first_page: false,
            has_more_without_objects: false,
            idempotent: HashMap::new(),
            payments: 0,
            retrievals: 0,
            base_url: String::new(),
        }));
        let app = Router::new()
            .route("/v1/{kind}", get(list))
            .route("/v1/{kind}/{id}", get(retrieve))
            .route("/v1/invoices/{id}/pay", axum::routing::post(pay))
            .route("/files/invoices/{id}/pdf", get(invoice_pdf))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        state.lock().unwrap().base_url = format!("http://{address}");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake Stripe serves") });
        Self { state, address }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.lock().unwrap().faults.set(faults);
    }

    /// From now on every list repeats its first page and says there is more.
    pub fn repeat_first_page_forever(&self) {
        self.state.lock().unwrap().repeats_first_page = true;
    }

    /// From now on every list says `has_more` on an empty page.
    pub fn answer_has_more_without_objects(&self) {
        self.state.lock().unwrap().has_more_without_objects = true;
    }

    pub fn fault_report(&self) -> FaultReport {
        self.state.lock().unwrap().faults.report.clone()
    }

    /// Serves `count` generated customers (`cus_0` … ), in addition to stored ones.
    pub fn generate_customers(&self, count: u64) {
        self.state.lock().unwrap().generated_customers = count;
    }

    fn next_id(state: &mut StripeState, prefix: &str) -> String {
        state.next_id += 1;
        format!("{prefix}_{:06}", state.next_id)
    }

    fn record_event(state: &mut StripeState, kind: &str, object: &Value) {
        let id = Self::next_id(state, "evt");
        let event = json!({
            "id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(),
            "api_version": "2024-06-20", "livemode": false, "data": {"object": object},
        });
        state.events.insert(0, event);
    }

    pub fn add_customer(&self, name: &str, email: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let id = Self::next_id(&mut state, "cus");
        let customer = json!({
            "id": id, "object": "customer", "name": name, "email": email, "phone": null, "description": null,
            "created": chrono::Utc::now().timestamp(), "livemode": false, "metadata": {},
        });
        Self::record_event(&mut state, "customer.created", &customer);
        state.objects.get_mut("customers").unwrap().insert(0, customer);
        id
    }

    /// An open invoice with one line per amount.
    pub fn add_invoice(&self, customer: &str, line_amounts: &[i64]) -> String {
        let mut state = self.state.lock().unwrap();
        let id = Self::next_id(&mut state, "in");
        let total: i64 = line_amounts.iter().sum();
        let now = chrono::Utc::now().timestamp();
        let lines: Vec<Value> = line_amounts
            .iter()
            .enumerate()
            .map(|(index, amount)| {
                json!({
                    "id": format!("il_{id}_{index}"), "object": "line_item", "amount": amount, "currency": "usd",
                    "description": format!("Item {}", index + 1), "quantity": 1, "price": {"unit_amount": amount},
                })
            })
            .collect();
        let number = format!("INV-{:04}", state.next_id);
        let invoice = json!({
            "id": id, "object": "invoice", "customer": customer, "number": number, "status": "open",
            "currency": "usd", "subtotal": total, "tax": 0, "total": total, "amount_paid": 0, "amount_due": total,
            "created": now, "due_date": now + 30 * 86400,
            "status_transitions": {"finalized_at": now, "paid_at": null},
            "hosted_invoice_url": format!("https://invoice.stripe.test/i/{id}"),
            "invoice_pdf": format!("{}/files/invoices/{id}/pdf", state.base_url),
            "lines": {"object": "list", "data": lines, "has_more": false, "url": format!("/v1/invoices/{id}/lines")},
            "livemode": false, "metadata": {},
        });
        Self::record_event(&mut state, "invoice.created", &invoice);
        state.objects.get_mut("invoices").unwrap().insert(0, invoice);
        id
    }

    /// An active monthly subscription to `plan` at `unit_amount` × `quantity`.
    pub fn add_subscription(&self, customer: &str, plan: &str, unit_amount: i64, quantity: i64) -> String {
        let mut state = self.state.lock().unwrap();
        let id = Self::next_id(&mut state, "sub");
        let now = chrono::Utc::now().timestamp();
        let subscription = json!({
            "id": id, "object": "subscription", "customer": customer, "status": "active", "currency": "usd",
            "cancel_at_period_end": false, "canceled_at": null, "created": now, "start_date": now,
            "description": null, "livemode": false, "metadata": {},
            "items": {"object": "list", "has_more": false, "data": [{
                "id": format!("si_{id}"), "object": "subscription_item", "quantity": quantity,
                "current_period_start": now, "current_period_end": now + 30 * 86400,
                "price": {"id": format!("price_{id}"), "object": "price", "nickname": plan, "unit_amount": unit_amount,
                          "currency": "usd", "product": format!("prod_{id}"),
                          "recurring": {"interval": "month", "interval_count": 1}},
            }]},
        });
        Self::record_event(&mut state, "customer.subscription.created", &subscription);
        state.objects.get_mut("subscriptions").unwrap().insert(0, subscription);
        id
    }

    /// Adds an object exactly as given (to serve malformed or unusual shapes).
    pub fn add_raw(&self, kind: &str, object: Value) {
        self.state.lock().unwrap().objects.get_mut(kind).expect("known kind").insert(0, object);
    }

    /// Payments made through `POST /v1/invoices/{id}/pay` (idempotent replays not counted).
    pub fn payments(&self) -> u64 {
        self.state.lock().unwrap().payments
    }

    /// Marks an invoice paid (an `invoice.paid` event records it).
    pub fn pay_invoice(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        Self::mark_paid(&mut state, id);
    }

    fn mark_paid(state: &mut StripeState, id: &str) -> Option<Value> {
        let now = chrono::Utc::now().timestamp();
        let invoice = state.objects.get_mut("invoices").unwrap().iter_mut().find(|invoice| invoice["id"] == id)?;
        let total = invoice["total"].clone();
        invoice["status"] = json!("paid");
        invoice["amount_paid"] = total;
        invoice["amount_due"] = json!(0);
        invoice["status_transitions"]["paid_at"] = json!(now);
        let snapshot = invoice.clone();
        Self::record_event(state, "invoice.updated", &snapshot);
        Some(snapshot)
    }

    /// Sets an invoice's status; returns the `invoice.updated` event recorded for it.
    pub fn set_invoice_status(&self, id: &str, status: &str) -> Value {
        let mut state = self.state.lock().unwrap();
        let invoice =
            state.objects.get_mut("invoices").unwrap().iter_mut().find(|invoice| invoice["id"] == id).expect("known");
        invoice["status"] = json!(status);
        let snapshot = invoice.clone();
        Self::record_event(&mut state, "invoice.updated", &snapshot);
        state.events[0].clone()
    }

    /// Moves an invoice's due date (Unix seconds), as an `invoice.updated` would.
    pub fn set_invoice_due_date(&self, id: &str, due_date: i64) {
        self.set_invoice_field(id, "due_date", json!(due_date));
    }

    /// Sets one field of an invoice, with an `invoice.updated` event.
    pub fn set_invoice_field(&self, id: &str, field: &str, value: Value) {
        let mut state = self.state.lock().unwrap();
        let invoice =
            state.objects.get_mut("invoices").unwrap().iter_mut().find(|invoice| invoice["id"] == id).expect("known");
        invoice[field] = value;
        let snapshot = invoice.clone();
        Self::record_event(&mut state, "invoice.updated", &snapshot);
    }

    /// Retrievals of single objects served (`GET /v1/{kind}/{id}`).
    pub fn retrievals(&self) -> u64 {
        self.state.lock().unwrap().retrievals
    }

    /// Deletes an object the way Stripe reports it: gone from lists, with a `*.deleted` event.
    pub fn delete(&self, kind: &str, id: &str) {
        let mut state = self.state.lock().unwrap();
        let object = Self::take(&mut state, kind, id);
        let object_name = OBJECT_KINDS.iter().find(|(path, _)| *path == kind).unwrap().1;
        Self::record_event(&mut state, &format!("{object_name}.deleted"), &object);
    }

    /// Removes an object from lists without any event (so only a full sync notices).
    pub fn remove_silently(&self, kind: &str, id: &str) {
        let mut state = self.state.lock().unwrap();
        Self::take(&mut state, kind, id);
    }

    fn take(state: &mut StripeState, kind: &str, id: &str) -> Value {
        let list = state.objects.get_mut(kind).expect("known kind");
        let index = list.iter().position(|object| object["id"] == id).expect("known object");
        list.remove(index)
    }

    /// Every object of a list, as the API would return them across all pages.
    pub fn all(&self, kind: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let mut objects = state.objects[kind].clone();
        if kind == "customers" {
            objects.extend((0..state.generated_customers).map(generated_customer));
        }
        objects
    }
}

fn generated_customer(index: u64) -> Value {
    json!({
        "id": format!("cus_g{index:09}"), "object": "customer", "name": format!("Customer {index}"),
        "email": format!("customer{index}@example.test"), "phone": null, "description": null,
        "created": 1_700_000_000 - index as i64, "livemode": false, "metadata": {"index": index.to_string()},
    })
}

/// The fault the deck deals for this request, as Stripe would show it (a stall
/// only delays the real answer).
async fn injected_fault(state: &Mutex<StripeState>) -> Option<Response> {
    let fault = state.lock().unwrap().faults.decide();
    match fault {
        Fault::None => None,
        Fault::ServerError => {
            Some(stripe_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "An unknown error occurred"))
        }
        Fault::RateLimited(secs) => Some(too_many_requests(
            secs,
            json!({"error": {"type": "rate_limit_error", "message": "Too many requests"}}),
        )),
        Fault::Stall(duration) => {
            tokio::time::sleep(duration).await;
            None
        }
        Fault::Reset => Some(cut_off_response()),
    }
}

/// Stripe's answer to a missing or wrong secret key, if that is what was sent.
fn refuse_bad_key(state: &StripeState, headers: &HeaderMap) -> Option<Response> {
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.strip_prefix("Bearer ") == Some(state.api_key.as_str()));
    (!authorized).then(|| stripe_error(StatusCode::UNAUTHORIZED, "invalid_request_error", "Invalid API Key provided"))
}

fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"type": kind, "message": message}}))).into_response()
}

async fn list(
    State(state): State<Arc<Mutex<StripeState>>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(failure) = injected_fault(&state).await {
        return failure;
    }
    let state = state.lock().unwrap();
    if let Some(refused) = refuse_bad_key(&state, &headers) {
        return refused;
    }
    let params = query.as_deref().map(url_pairs).unwrap_or_default();
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let limit = match param("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => {
            return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", "limit must be between 1 and 100");
        }
    };
    let starting_after = param("starting_after").filter(|_| !state.repeats_first_page);
    let (data, has_more) = if kind == "events" {
        let created_gt = param("created[gt]").and_then(|value| value.parse::<i64>().ok());
        let types: Vec<&str> =
            params.iter().filter(|(key, _)| key == "types[]").map(|(_, value)| value.as_str()).collect();
        let matching: Vec<&Value> = state
            .events
            .iter()
            .filter(|event| created_gt.is_none_or(|after| event["created"].as_i64().unwrap_or(0) > after))
            .filter(|event| types.is_empty() || types.contains(&event["type"].as_str().unwrap_or_default()))
            .collect();
        page_of(&matching, starting_after, limit)
    } else if let Some(stored) = state.objects.get(kind.as_str()) {
        if kind == "customers" && state.generated_customers > 0 {
            generated_page(stored, state.generated_customers, starting_after, limit)
        } else {
            page_of(&stored.iter().collect::<Vec<_>>(), starting_after, limit)
        }
    } else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("Unrecognized request URL (GET: /v1/{kind})"),
        );
    };
    let has_more = has_more || state.repeats_first_page || state.has_more_without_objects;
    let data = if state.has_more_without_objects { Vec::new() } else { data };
    Json(json!({"object": "list", "url": format!("/v1/{kind}"), "has_more": has_more, "data": data})).into_response()
}

/// `GET /v1/{kind}/{id}`: one object, or Stripe's `resource_missing` 404.
async fn retrieve(
    State(state): State<Arc<Mutex<StripeState>>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut state = state.lock().unwrap();
    if let Some(refused) = refuse_bad_key(&state, &headers) {
        return refused;
    }
    state.retrievals += 1;
    let found =
        state.objects.get(kind.as_str()).and_then(|list| list.iter().find(|object| object["id"] == id.as_str()));
    match found {
        Some(object) => Json(object.clone()).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", &format!("No such object: '{id}'")),
    }
}

/// `POST /v1/invoices/{id}/pay`, honouring `Idempotency-Key` as Stripe documents it:
/// the same key replays the first response; reused with another request, it is an
/// `idempotency_error`.
async fn pay(
    State(state): State<Arc<Mutex<StripeState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(failure) = injected_fault(&state).await {
        return failure;
    }
    let mut state = state.lock().unwrap();
    if let Some(refused) = refuse_bad_key(&state, &headers) {
        return refused;
    }
    let fingerprint = format!("POST /v1/invoices/{id}/pay {body}");
    let key = headers.get("idempotency-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    if let Some((seen, status, response)) = key.as_ref().and_then(|key| state.idempotent.get(key)) {
        if *seen != fingerprint {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            );
        }
        let mut replay = (*status, Json(response.clone())).into_response();
        replay.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
        return replay;
    }
    let current = state.objects["invoices"].iter().find(|invoice| invoice["id"] == id.as_str()).cloned();
    let (status, response) = match current {
        None => (
            StatusCode::NOT_FOUND,
            json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": format!("No such invoice: '{id}'")}}),
        ),
        Some(invoice) if invoice["status"] == "paid" => (
            StatusCode::BAD_REQUEST,
            json!({"error": {"type": "invalid_request_error", "code": "invoice_already_paid", "message": "Invoice is already paid"}}),
        ),
        Some(_) => {
            state.payments += 1;
            (StatusCode::OK, FakeStripe::mark_paid(&mut state, &id).expect("the invoice exists"))
        }
    };
    if let Some(key) = key {
        state.idempotent.insert(key, (fingerprint, status, response.clone()));
    }
    (status, Json(response)).into_response()
}

fn page_of(objects: &[&Value], starting_after: Option<&str>, limit: usize) -> (Vec<Value>, bool) {
    let start = match starting_after {
        Some(id) => match objects.iter().position(|object| object["id"] == id) {
            Some(index) => index + 1,
            None => return (Vec::new(), false),
        },
        None => 0,
    };
    let page: Vec<Value> = objects.iter().skip(start).take(limit).map(|object| (*object).clone()).collect();
    let has_more = start + page.len() < objects.len();
    (page, has_more)
}

/// Stored customers, then generated ones, without materializing the generated list.
fn generated_page(stored: &[Value], generated: u64, starting_after: Option<&str>, limit: usize) -> (Vec<Value>, bool) {
    let total = stored.len() as u64 + generated;
    let start = match starting_after {
        None => 0,
        Some(id) => match id.strip_prefix("cus_g").and_then(|index| index.parse::<u64>().ok()) {
            Some(index) => stored.len() as u64 + index + 1,
            None => match stored.iter().position(|object| object["id"] == id) {
                Some(index) => index as u64 + 1,
                None => return (Vec::new(), false),
            },
        },
    };
    let end = (start + limit as u64).min(total);
    let page = (start..end)
        .map(|position| match stored.get(position as usize) {
            Some(object) => object.clone(),
            None => generated_customer(position - stored.len() as u64),
        })
        .collect();
    (page, end < total)
}

/// Decodes `a=1&types%5B%5D=x` into pairs.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// An invoice's PDF, as Stripe's file host serves it (no API key: the link is the secret).
async fn invoice_pdf(State(state): State<Arc<Mutex<StripeState>>>, Path(id): Path<String>) -> Response {
    let state = state.lock().unwrap();
    let known = state.objects["invoices"].iter().any(|invoice| invoice["id"] == id.as_str());
    if !known {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(axum::http::header::CONTENT_TYPE, "application/pdf")], format!("%PDF-1.4\n% invoice {id}\n%%EOF\n"))
        .into_response()
}
