//! A generic REST source behind the shipped example manifests
//! (`connectors/manifests/`): a project tool (API key, page numbers and offsets)
//! and a helpdesk (OAuth 2.0 client credentials with expiring tokens, cursors,
//! rate-limit headers), plus a Link-header listing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub const API_KEY: &str = "projects-key";
pub const CLIENT_ID: &str = "helpdesk-client";
pub const CLIENT_SECRET: &str = "helpdesk-secret";

#[derive(Default)]
struct RestState {
    projects: Vec<Value>,
    tasks: Vec<Value>,
    /// `PATCH /v1/tasks/{id}` requests received: (task id, Idempotency-Key).
    task_writes: Vec<(String, Option<String>)>,
    /// Their bodies, in the same order: (task id, body).
    task_write_bodies: Vec<(String, Value)>,
    tickets: Vec<Value>,
    clients: Vec<Value>,
    tokens: HashMap<String, Instant>,
    token_lifetime_secs: u64,
    token_requests: u64,
    /// Requests left before the helpdesk answers with Remaining: 0 (then resets).
    window: u64,
    window_used: u64,
    requests_in_blocked_window: u64,
    window_blocked_until: Option<Instant>,
    /// Every ticket page names this as its next cursor (readable or not).
    ticket_cursor: Option<Value>,
}

#[derive(Clone)]
pub struct FakeRest {
    state: Arc<Mutex<RestState>>,
    address: SocketAddr,
}

impl FakeRest {
    pub async fn start() -> Self {
        let state =
            Arc::new(Mutex::new(RestState { token_lifetime_secs: 3600, window: u64::MAX, ..Default::default() }));
        let app = Router::new()
            .route("/v1/projects", get(projects))
            .route("/v1/tasks", get(tasks))
            .route("/v1/tasks/{id}", get(task).patch(update_task))
            .route("/v1/clients", get(clients))
            .route("/oauth/token", post(token))
            .route("/api/v2/tickets", get(tickets))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake REST source serves") });
        Self { state, address }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn add_project(&self, project: Value) {
        self.state.lock().unwrap().projects.push(project);
    }

    /// Keeps the first `count` projects: the rest are gone upstream.
    pub fn keep_projects(&self, count: usize) {
        self.state.lock().unwrap().projects.truncate(count);
    }

    /// Changes fields of a task (by its `id`); removes it when `changes` is null.
    pub fn update_task(&self, id: &str, changes: Value) {
        let mut state = self.state.lock().unwrap();
        let position = state.tasks.iter().position(|task| task["id"].as_str() == Some(id)).expect("known task");
        match changes {
            Value::Object(changes) => {
                for (key, value) in changes {
                    state.tasks[position][key] = value;
                }
            }
            _ => {
                state.tasks.remove(position);
            }
        }
    }

    /// The task writes received, in order: (task id, Idempotency-Key header).
    pub fn task_writes(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().task_writes.clone()
    }

    /// The bodies of the task writes received, in order: (task id, body).
    pub fn task_write_bodies(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().task_write_bodies.clone()
    }

    pub fn add_task(&self, task: Value) {
        self.state.lock().unwrap().tasks.push(task);
    }

    pub fn add_ticket(&self, ticket: Value) {
        self.state.lock().unwrap().tickets.push(ticket);
    }

    /// From now on every ticket page says its next cursor is `cursor`.
    pub fn answer_ticket_cursor(&self, cursor: Value) {
        self.state.lock().unwrap().ticket_cursor = Some(cursor);
    }

    pub fn add_client(&self, client: Value) {
        self.state.lock().unwrap().clients.push(client);
    }

    /// Replaces the fields of a ticket.
    pub fn update_ticket(&self, id: &str, changes: Value) {
        let mut state = self.state.lock().unwrap();
        let ticket = state.tickets.iter_mut().find(|ticket| ticket["id"] == id).expect("known ticket");
        for (key, value) in changes.as_object().unwrap() {
            ticket[key] = value.clone();
        }
    }

    /// Tokens stop working after this long (whatever `expires_in` said).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state.lock().unwrap().token_lifetime_secs = seconds;
    }

    /// Revokes every token issued so far, as a provider rotating keys would.
    pub fn revoke_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    pub fn token_requests(&self) -> u64 {
        self.state.lock().unwrap().token_requests
    }

    /// The helpdesk allows `requests` per window, then says 0 remain for a second.
    pub fn set_rate_window(&self, requests: u64) {
        self.state.lock().unwrap().window = requests;
    }

    /// Requests that ignored `X-RateLimit-Remaining: 0` before the reset.
    pub fn requests_in_blocked_window(&self) -> u64 {
        self.state.lock().unwrap().requests_in_blocked_window
    }
}

fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.get(name).map(String::as_str)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response()
}

fn api_key_ok(headers: &HeaderMap) -> bool {
    headers.get("x-api-key").and_then(|value| value.to_str().ok()) == Some(API_KEY)
}

async fn projects(
    State(state): State<Arc<Mutex<RestState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !api_key_ok(&headers) {
        return unauthorized();
    }
    let page: usize = param(&query, "page").and_then(|page| page.parse().ok()).unwrap_or(1);
    let size: usize = param(&query, "page_size").and_then(|size| size.parse().ok()).unwrap_or(20);
    let after: Option<i64> = param(&query, "modified_after").and_then(|after| after.parse().ok());
    let state = state.lock().unwrap();
    let matching: Vec<&Value> = state
        .projects
        .iter()
        .filter(|project| after.is_none_or(|after| project["updated"].as_i64().unwrap_or(0) > after))
        .collect();
    let items: Vec<&Value> = matching.iter().skip((page.max(1) - 1) * size).take(size).copied().collect();
    Json(json!({"items": items, "page": page, "total": matching.len()})).into_response()
}

async fn tasks(
    State(state): State<Arc<Mutex<RestState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !api_key_ok(&headers) {
        return unauthorized();
    }
    let offset: usize = param(&query, "offset").and_then(|offset| offset.parse().ok()).unwrap_or(0);
    let limit: usize = param(&query, "limit").and_then(|limit| limit.parse().ok()).unwrap_or(20);
    let state = state.lock().unwrap();
    let items: Vec<&Value> = state.tasks.iter().skip(offset).take(limit).collect();
    Json(json!(items)).into_response()
}

/// `GET /v1/tasks/{id}`: one task, or 404.
async fn task(
    State(state): State<Arc<Mutex<RestState>>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    if !api_key_ok(&headers) {
        return unauthorized();
    }
    let state = state.lock().unwrap();
    match state.tasks.iter().find(|task| {
        task["id"].as_str() == Some(id.as_str()) || task["id"].as_i64().is_some_and(|n| n.to_string() == id)
    }) {
        Some(task) => Json(task.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such task"}))).into_response(),
    }
}

/// `PATCH /v1/tasks/{id}`: sets the given fields (a completed task gets its
/// `done_at`) and answers with the task.
async fn update_task(
    State(state): State<Arc<Mutex<RestState>>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    Json(changes): Json<Value>,
) -> Response {
    if !api_key_ok(&headers) {
        return unauthorized();
    }
    let Value::Object(changes) = changes else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "expected an object"}))).into_response();
    };
    let mut state = state.lock().unwrap();
    let key = headers.get("idempotency-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    state.task_writes.push((id.clone(), key));
    state.task_write_bodies.push((id.clone(), Value::Object(changes.clone())));
    let Some(task) = state.tasks.iter_mut().find(|task| task["id"].as_str() == Some(id.as_str())) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such task"}))).into_response();
    };
    for (field, value) in changes {
        if field == "state" && value == "completed" && task["done_at"].is_null() {
            task["done_at"] = json!(chrono::Utc::now().to_rfc3339());
        }
        task[field] = value;
    }
    Json(task.clone()).into_response()
}

async fn clients(State(state): State<Arc<Mutex<RestState>>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let page: usize = param(&query, "page").and_then(|page| page.parse().ok()).unwrap_or(1);
    let state = state.lock().unwrap();
    let items: Vec<&Value> = state.clients.iter().skip((page - 1) * 2).take(2).collect();
    let mut response = Json(json!({"clients": items})).into_response();
    if page * 2 < state.clients.len() {
        let link = format!("</v1/clients?page={}>; rel=\"next\"", page + 1);
        response.headers_mut().insert("link", HeaderValue::from_str(&link).unwrap());
    }
    response
}

async fn token(State(state): State<Arc<Mutex<RestState>>>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine as _;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str())
        || !body.contains("grant_type=client_credentials")
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let mut state = state.lock().unwrap();
    state.token_requests += 1;
    let token = format!("token-{}", state.token_requests);
    let lifetime = state.token_lifetime_secs;
    state.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
    // Says an hour, like many providers, though it may be revoked sooner: clients
    // must cope with a 401 by fetching a new token.
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

async fn tickets(
    State(state): State<Arc<Mutex<RestState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().unwrap();
    let now = Instant::now();
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if token.and_then(|token| state.tokens.get(token)).is_none_or(|expires| *expires <= now) {
        return unauthorized();
    }
    if let Some(until) = state.window_blocked_until {
        if now < until {
            state.requests_in_blocked_window += 1;
        } else {
            state.window_blocked_until = None;
            state.window_used = 0;
        }
    }
    state.window_used += 1;
    let remaining = state.window.saturating_sub(state.window_used);
    if remaining == 0 && state.window_blocked_until.is_none() {
        state.window_blocked_until = Some(now + Duration::from_secs(1));
    }
    let per_page: usize = param(&query, "per_page").and_then(|size| size.parse().ok()).unwrap_or(25);
    let start: usize =
        param(&query, "cursor").and_then(|cursor| cursor.strip_prefix("c").and_then(|n| n.parse().ok())).unwrap_or(0);
    let since = param(&query, "updated_since").map(str::to_owned);
    let matching: Vec<&Value> = state
        .tickets
        .iter()
        .filter(|ticket| since.as_deref().is_none_or(|since| ticket["updated_at"].as_str().unwrap_or_default() > since))
        .collect();
    let page: Vec<&Value> = matching.iter().skip(start).take(per_page).copied().collect();
    let next = (start + per_page < matching.len()).then(|| json!(format!("c{}", start + per_page)));
    let next = state.ticket_cursor.clone().or(next);
    let mut response = Json(json!({"tickets": page, "meta": {"next_cursor": next}})).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(1));
    response
}
