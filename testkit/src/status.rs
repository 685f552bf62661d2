//! A server that answers every request with one status (and a Retry-After for
//! 429s), or stalls: for checking how connectors classify failures.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Clone, Copy)]
pub enum Behaviour {
    Status(u16),
    /// Holds every request this long before answering 200 `{}`.
    Stall(Duration),
}

pub struct StatusServer {
    address: SocketAddr,
}

impl StatusServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        let app = Router::new().fallback(move || async move {
            match behaviour {
                Behaviour::Status(code) => {
                    let status = StatusCode::from_u16(code).expect("a valid status");
                    let mut response: Response =
                        (status, [(header::CONTENT_TYPE, "application/json")], r#"{"error": {"message": "injected"}}"#)
                            .into_response();
                    if code == 429 {
                        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
                    }
                    response
                }
                Behaviour::Stall(duration) => {
                    tokio::time::sleep(duration).await;
                    (StatusCode::OK, "{}").into_response()
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("status server serves") });
        Self { address }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}
