//! A forwarding proxy in front of any upstream (a fake, moto's S3), whose
//! misbehaviour can be switched while a sync runs: answers slowed down, or every
//! request to a path answered with the first answer that path ever gave (an
//! upstream that ignores its paging parameters and repeats itself forever).
//!
//! Requests are forwarded as they came, `Host` included, so signed requests (S3's
//! SigV4 signs the host) still verify at the upstream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// How the proxy answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards every request.
    Pass,
    /// Forwards every request after holding it this long.
    Delay(Duration),
    /// Forwards the first request to each method and path; every later one gets
    /// that first answer again, whatever its query or body asked for.
    ReplayFirstAnswer,
}

/// A stored answer: status, headers, body.
type Answer = (StatusCode, HeaderMap, Bytes);

struct ProxyState {
    target: String,
    mode: Mode,
    first_answers: HashMap<(Method, String), Answer>,
    requests: u64,
}

#[derive(Clone)]
pub struct Proxy {
    state: Arc<Mutex<ProxyState>>,
    address: SocketAddr,
}

impl Proxy {
    /// A proxy for `target` (a base URL such as `http://127.0.0.1:4010`).
    pub async fn start(target: &str, mode: Mode) -> Self {
        let state = Arc::new(Mutex::new(ProxyState {
            target: target.trim_end_matches('/').to_owned(),
            mode,
            first_answers: HashMap::new(),
            requests: 0,
        }));
        let app = Router::new().fallback(forward).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy serves") });
        Self { state, address }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn set_mode(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        state.first_answers.clear();
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.lock().unwrap().requests
    }
}

async fn forward(State(state): State<Arc<Mutex<ProxyState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let key = (parts.method.clone(), parts.uri.path().to_owned());
    let (target, mode, replay) = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        let replay = match state.mode {
            Mode::ReplayFirstAnswer => state.first_answers.get(&key).cloned(),
            _ => None,
        };
        (state.target.clone(), state.mode, replay)
    };
    if let Some(answer) = replay {
        return respond(answer);
    }
    if let Mode::Delay(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path_and_query = parts.uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let client = reqwest::Client::new();
    let mut upstream = client.request(parts.method.clone(), format!("{target}{path_and_query}")).body(body);
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let answer = match upstream.send().await {
        Ok(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            match response.bytes().await {
                Ok(bytes) => (status, headers, bytes),
                Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    if mode == Mode::ReplayFirstAnswer && answer.0.is_success() {
        state.lock().unwrap().first_answers.entry(key).or_insert_with(|| answer.clone());
    }
    respond(answer)
}

fn respond((status, mut headers, body): Answer) -> Response {
    // The body is whole here; hop-by-hop framing is the proxy's own.
    headers.remove("transfer-encoding");
    headers.remove("connection");
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
